"""``kwb lr-find``: the learning-rate range test on a config, its curve and suggestion, and ``--apply``.

The test itself is ``engine.lr_find``; this module checks the options, shows progress on a
terminal, draws the curve (plotext, log x axis) and writes the suggestion into the config
file as a clean YAML edit (``engine.config_roundtrip``: comments and layout kept). Nothing
else is written: no run directory.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
import time
from pathlib import Path
from typing import Annotated, Any

import typer

from tui.commands.common import (
    EXIT_FAILED, ConfigArg, SetOpt, bad_input, err, load, quiet_tensorflow, start_native_log, with_source,
)  # fmt: skip


def lr_find(
    config: ConfigArg,
    min_lr: Annotated[float, typer.Option("--min-lr", help="The first learning rate tried.")] = 1e-7,
    max_lr: Annotated[float, typer.Option("--max-lr", help="The last learning rate tried.")] = 1.0,
    steps: Annotated[int, typer.Option("--steps", help="At most this many batches (the rate rises exponentially).")] = 100,
    apply: Annotated[
        bool, typer.Option("--apply", help="Write the suggestion into CONFIG's compile.optimizer.learning_rate (comments kept).")
    ] = False,
    set_: SetOpt = None,
    json_: Annotated[bool, typer.Option("--json", help="Print the result as one JSON object.")] = False,
) -> None:
    """Learning-rate range test: train a throwaway copy of CONFIG's model while the rate rises; suggest one.

    Stops early once the smoothed loss passes 4x its minimum; the suggestion is fastai's "valley" rule.
    Nothing is written unless --apply, which edits only the learning rate.
    """
    from engine.errors import USER_ERRORS, UserError
    from engine.lr_find import check_range

    try:
        check_range(min_lr, max_lr, steps)
    except UserError as exc:
        bad_input(f"error:\n  {exc.key}: {exc.message}")
    cfg = load(config, set_)
    if apply:
        _check_writable(config)
    quiet_tensorflow()
    start_native_log()
    from engine.lr_find import lr_range_test

    progress = _Progress(steps) if not json_ else None
    try:
        result = lr_range_test(cfg, min_lr=min_lr, max_lr=max_lr, steps=steps, on_step=progress)
    except USER_ERRORS as exc:
        bad_input(with_source(exc, config))
    finally:
        if progress is not None:
            progress.done()
    suggestion = float(f"{result.suggestion:.3g}") if result.suggestion is not None else None
    old = cfg.compile.optimizer.learning_rate
    if apply and suggestion is not None:
        _apply(config, suggestion)
    if json_:
        print(json.dumps({**result.to_json(), "suggestion": suggestion, "config": str(config),
                          "applied": bool(apply and suggestion is not None)}))  # fmt: skip
    else:
        _print_result(result, suggestion, config, old, apply)
    if suggestion is None:
        raise typer.Exit(EXIT_FAILED)


class _Progress:
    """A one-line progress report on a terminal (throttled to 10 a second); nothing when stderr is piped."""

    def __init__(self, steps: int) -> None:
        from engine.native_log import native_log

        self.steps, self.last = steps, 0.0
        self.stream = native_log.terminal if native_log.active else sys.stderr
        self.live = bool(getattr(self.stream, "isatty", lambda: False)())

    def __call__(self, step: int, lr: float, loss: float) -> None:
        now = time.monotonic()
        if not self.live or (now - self.last < 0.1 and step < self.steps):
            return
        self.last = now
        self.stream.write(f"\rlr-find: batch {step}/{self.steps}  lr {lr:.2e}  smoothed loss {loss:.4g}   ")
        self.stream.flush()

    def done(self) -> None:
        if self.live and self.last:
            self.stream.write("\r\033[K")
            self.stream.flush()


def _check_writable(config: Path) -> None:
    """``--apply`` will rewrite CONFIG: refuse before training when it cannot."""
    folder = config.resolve().parent
    if not os.access(config, os.W_OK) or not os.access(folder, os.W_OK | os.X_OK):
        bad_input(f"error in {config}:\n  --apply: cannot write the config file (or its folder {folder})")


def _apply(config: Path, lr: float) -> None:
    """Write ``lr`` into ``compile.optimizer.learning_rate``, changing nothing else in the file."""
    import copy

    from engine.config_io import yaml_load
    from engine.config_roundtrip import ConfigDocument

    text = config.read_text(encoding="utf-8")
    before = yaml_load(text)
    before = before if isinstance(before, dict) else {}
    after = copy.deepcopy(before)
    compile_ = after.setdefault("compile", {})
    if not isinstance(compile_, dict):
        bad_input(f"error in {config}:\n  compile: expected a mapping to write the learning rate into")
    optimizer = compile_.get("optimizer", "adam")
    optimizer = {"name": optimizer} if isinstance(optimizer, str) else dict(optimizer or {})
    optimizer["learning_rate"] = lr
    compile_["optimizer"] = optimizer
    doc = ConfigDocument.parse(text)
    doc.apply(before, after)
    doc.save(config)


def _print_result(result: Any, suggestion: float | None, config: Path, old: float, applied: bool) -> None:
    """The curve, then the suggestion (and how it compares), then what --apply did."""
    if len(result.lrs) >= 2:
        print(_plot(result, suggestion))
    ended = "the loss diverged" if result.stopped_early else "the last batch"
    print(f"{len(result.lrs)} batches, lr {result.lrs[0]:.2e} to {result.lrs[-1]:.2e} (stopped at {ended})"
          if result.lrs else "no batch was trained")  # fmt: skip
    if suggestion is None:
        err("no suggestion: too few finite losses were recorded (a loss that is NaN from the start: "
            "lower --min-lr, or check the data)")  # fmt: skip
        return
    print(f"suggested learning rate: {suggestion:.3g}")
    print(f"  rule: valley (fastai's default); steepest descent {result.steepest:.3g}, "
          f"minimum/10 {result.min_over_10:.3g}; the config has {old:g}")  # fmt: skip
    if applied:
        print(f"wrote compile.optimizer.learning_rate: {suggestion:.3g} to {config} (was {old:g})")


def _plot(result: Any, suggestion: float | None) -> str:
    """Smoothed loss against learning rate, log x axis, the suggestion as a vertical line (``tui.widgets.lr_find_view``)."""
    from tui.widgets.lr_find_view import lr_curve

    return lr_curve(result, suggestion, min(100, shutil.get_terminal_size().columns), color=sys.stdout.isatty())
