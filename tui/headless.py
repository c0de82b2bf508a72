"""Headless progress for ``kwb train``: a live line on a terminal, plain lines when piped, JSON with ``--json``.

The printer is an event sink; it runs on the training thread, so the live line is
redrawn at most every ``interval`` seconds and writes nothing else per batch.

The live line always fits the terminal (one column to spare, so it never wraps and
``\r\x1b[2K`` clears all of it): the width is read again at every redraw, so a resized
terminal is followed, and fields are dropped least important first (samples/s, the bar,
metrics after the loss, the ETA) before the line is cut.
"""

from __future__ import annotations

import os
import shutil
import sys
import time
from typing import TextIO

from engine import events as ev
from engine.words import counted
from tui.families import bare, output_names
from tui.state import format_duration

__all__ = ["Printer", "failure_summary", "fit_fields", "format_logs", "split_by_output"]


def _num(v: float) -> str:
    if v != v:
        return "nan"
    if v == 0 or 1e-3 <= abs(v) < 1e5:
        return f"{v:.4f}"
    return f"{v:.3e}"


def failure_summary(error: str | None, run_dir: object) -> str:
    """What ``kwb train`` says of a failed run: the cause, what to change (when known), where the details are."""
    cause, _, hint = (error or "the run failed").partition("\n")
    lines = [f"training failed: {cause}"] + [f"  {line}" for line in hint.splitlines() if line.strip()]
    return "\n".join(lines + [f"  details: {run_dir}/error.txt, {run_dir}/train.log"])


def format_logs(logs: dict[str, float], skip: tuple[str, ...] = ("learning_rate",)) -> str:
    return "  ".join(f"{k} {_num(v)}" for k, v in logs.items() if k not in skip)


def split_by_output(logs: dict[str, float]) -> tuple[dict[str, float], dict[str, dict[str, float]]]:
    """Keras' logs of a model with several outputs: the totals, and each output's own keys (Keras' names kept).

    An output ``label`` is known by its ``label_loss`` (or ``val_label_loss``) key; its keys
    are ``label_*`` and ``val_label_*``, training ones first, each loss first. One output:
    everything is a total.
    """
    outputs = output_names(logs)
    if not outputs:
        return dict(logs), {}
    per: dict[str, dict[str, float]] = {o: {} for o in outputs}
    totals: dict[str, float] = {}
    for key, value in logs.items():
        owner = max((o for o in outputs if bare(key).startswith(o + "_")), key=len, default=None)
        if owner is None:
            totals[key] = value
        else:
            per[owner][key] = value
    for name, keys in per.items():
        per[name] = dict(sorted(keys.items(), key=lambda kv: (kv[0].startswith("val_"), not kv[0].endswith("_loss"))))
    return totals, per


def fit_fields(fields: list[tuple[str, int]], width: int) -> str:
    """Join ``(text, importance)`` fields with two spaces into at most ``width`` characters.

    The least important field goes first (the later one of equals); what is left is cut
    with "…" if even the most important ones do not fit.
    """
    kept = [(i, text, rank) for i, (text, rank) in enumerate(fields) if text]
    joined = lambda: "  ".join(text for _, text, _ in kept)  # noqa: E731
    while len(joined()) > width and len(kept) > 1:
        drop = min(kept, key=lambda f: (f[2], -f[0]))
        kept.remove(drop)
    text = joined()
    return text if len(text) <= width else text[: max(0, width - 1)] + "…"


def _log_lines(head: str, logs: dict[str, float], tail: str = "") -> list[str]:
    """``head`` and the totals on one line, then one indented line per output (several outputs)."""
    totals, per = split_by_output(logs)
    lines = [f"{head}{format_logs(totals)}{tail}"]
    lines += [f"    {format_logs(keys)}" for keys in per.values()]
    return lines


class Printer:
    """Event sink that writes progress for a person (``mode`` tty/plain) or a program (json)."""

    def __init__(self, stream: TextIO | None = None, mode: str | None = None, interval: float = 0.25) -> None:
        self.stream = stream if stream is not None else sys.stdout
        if mode is None:
            mode = "tty" if getattr(self.stream, "isatty", lambda: False)() else "plain"
        self.mode = mode
        self.interval = interval
        self._last = 0.0
        self._live = False
        self._epochs = 0
        self._steps: int | None = None
        self._t0 = time.monotonic()
        self._epoch_t0 = time.monotonic()
        self._epoch = 0
        self._n = 1
        """Steps per execution, as last announced (run_started, then each epoch_started)."""

    def _write(self, text: str) -> None:
        try:
            self.stream.write(text)
            self.stream.flush()
        except (BrokenPipeError, ValueError):
            pass  # reader went away; training goes on

    def line(self, text: str) -> None:
        """A whole line, clearing the live line first on a terminal."""
        if self._live:
            self._write("\r\x1b[2K")
            self._live = False
        self._write(text + "\n")

    def emit(self, event: ev.Event) -> None:
        if self.mode == "json":
            self._write(ev.encode(event) + "\n")
            return
        handler = getattr(self, f"_on_{event.type}", None)
        if handler is not None:
            handler(event)

    # ------------------------------------------------------------------ handlers
    def _on_run_started(self, e: ev.RunStarted) -> None:
        self._epochs = e.epochs
        self._steps = e.steps_per_epoch
        self._t0 = time.monotonic()
        self.line(
            f"run {e.run_id}  ({e.params:,} parameters, {e.train_samples or '?'} train / "
            f"{e.val_samples or 0} val samples, device {e.device}, strategy {e.strategy}"
            + (f" ×{e.replicas}" if e.replicas > 1 else "")
            + f", {counted(e.steps_per_execution, 'step per execution')})"
        )
        self._n = e.steps_per_execution
        if e.run_dir:
            self.line(f"  dir {e.run_dir}")
        elif e.workers > 1:
            self.line(f"  worker {e.worker} of {e.workers}: the chief (worker 0) keeps the run directory")

    def _on_epoch_started(self, e: ev.EpochStarted) -> None:
        self._epoch = e.epoch
        self._epoch_t0 = time.monotonic()
        if e.steps_per_execution and e.steps_per_execution != self._n:
            self.line(f"  from epoch {e.epoch + 1}: {counted(e.steps_per_execution, 'step per execution')} "
                      f"(auto re-tuned it; was {self._n})")  # fmt: skip
        self._n = e.steps_per_execution or self._n

    def _on_batch(self, e: ev.Batch) -> None:
        if self.mode != "tty":
            return
        now = time.monotonic()
        if now - self._last < self.interval:
            return
        self._last = now
        text = self._live_text(e, now, self._columns() - 1)
        self._write("\r\x1b[2K" + text)
        self._live = True

    def _columns(self) -> int:
        """The width of the terminal the stream writes to, asked now (it may have been resized)."""
        try:
            return os.get_terminal_size(self.stream.fileno()).columns or 80
        except (AttributeError, OSError, ValueError):
            return shutil.get_terminal_size().columns

    def _live_text(self, e: ev.Batch, now: float, width: int) -> str:
        """The live line for batch ``e`` in at most ``width`` characters, least important fields dropped first."""
        steps = e.steps or self._steps
        bar_width = 20
        if steps:
            done = int(bar_width * min(e.step, steps) / steps)
            bar = "█" * done + "·" * (bar_width - done)
            frac = f"{e.step}/{steps}"
            elapsed = now - self._epoch_t0
            eta = elapsed / e.step * (steps - e.step) if e.step else None
            eta_text = f"ETA {format_duration(eta, missing='-')}"
        else:
            bar, frac, eta_text = "", str(e.step), ""
        rate = f"{e.samples_per_s:,.0f} samples/s" if e.samples_per_s else ""
        totals, _ = split_by_output(e.logs)
        metrics = [(format_logs({k: v}), 7 if i == 0 else 4) for i, (k, v) in enumerate(totals.items())
                   if format_logs({k: v})]  # fmt: skip
        head = f"epoch {e.epoch + 1}/{self._epochs}"
        fields = [(head, 9), (bar, 2), (frac, 8), *metrics, (rate, 1), (eta_text, 5)]
        return fit_fields(fields, width)

    def _on_epoch_ended(self, e: ev.EpochEnded) -> None:
        lr = f"  lr {e.learning_rate:.3g}" if e.learning_rate is not None else ""
        for text in _log_lines(f"epoch {e.epoch + 1:>3}/{self._epochs}  ", e.logs, f"{lr}  ({e.duration_s:.1f}s)"):
            self.line(text)

    def _on_lr_changed(self, e: ev.LrChanged) -> None:
        self.line(f"  learning rate {e.old:.3g} -> {e.new:.3g} ({e.source})")

    def _on_checkpoint_saved(self, e: ev.CheckpointSaved) -> None:
        if e.kind == "manual":
            self.line(f"  checkpoint saved: {e.path}")

    def _on_paused(self, e: ev.Paused) -> None:
        self.line(f"  paused at epoch {e.epoch + 1}, batch {e.step}")

    def _on_resumed(self, e: ev.Resumed) -> None:
        self.line(f"  resumed after {e.paused_s:.1f}s")

    def _on_stopping(self, e: ev.Stopping) -> None:
        if e.reason in ("interrupt", "signal"):
            return  # the signal handler already said so, with the second-Ctrl-C hint
        words = {
            "user": "stop requested: stopping at the next batch boundary",
            "control": "stop requested (kwb control): stopping at the next batch boundary",
            "early_stopping": "early stopping: the monitored metric stopped improving",
            "nan": "the loss is NaN: stopping",
        }
        self.line(f"  {words.get(e.reason, e.reason)}")

    def _on_error(self, e: ev.Error) -> None:
        if e.fatal and not e.command:
            return  # the run's end says it once, with where the details are (``failure_summary``)
        prefix = f"refused {e.command}: " if e.command else "error: "
        self.line(f"  {prefix}{e.message}")

    def _on_log(self, e: ev.Log) -> None:
        if e.level in ("warning", "error"):
            self.line(f"  {e.level}: {e.message}")

    def _on_run_ended(self, e: ev.RunEnded) -> None:
        self.line(
            f"{e.status}{' (' + e.reason + ')' if e.reason else ''} after {counted(e.epochs_completed, 'epoch')} "
            f"in {format_duration(e.duration_s, missing='-')}"
        )
        val = {k: v for k, v in e.best.items() if k.startswith("val_")}
        for text in _log_lines("  best   ", val) if val else []:
            self.line(text)
        for text in _log_lines("  final  ", e.test) if e.test else []:
            self.line(text)
        if e.model_path:
            self.line(f"  model  {e.model_path}")
