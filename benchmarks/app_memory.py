"""App memory: RSS growth of the app over a 200,000-batch run (chart history must stay bounded).

Two measurements, each on a 120×40 pty with the Train screen showing the dashboard:

1. **real run** — ``kwb ui benchmarks/configs/ui_tiny.yaml``, ``t``: a tiny model on
   batches of 8, 2,000 batches an epoch, 100 epochs = 200,000 real training batches
   (a few minutes on a CPU). The bridge sends the UI a batch event at most every
   ~100 ms, so the UI sees a few thousand of them.
2. **replayed stream** — the same app (``make_app``, ``guard_terminal``, the real
   training worker, ``CallbackSink`` and message path) with an engine that replays
   the event stream run 1 recorded, stretched to 200,000 batch events and posted at
   ``--rate`` events a second: the UI's side at a far higher event rate than any live
   run, without TensorFlow in the process.

RSS (``/proc/PID/status``) is sampled twice a second. Growth = RSS when the run ends
minus RSS after the warm-up (the first ``--warm-up`` fraction of the batches, when
TensorFlow's graphs are traced and the charts are full); the peak is reported too.

    python benchmarks/app_memory.py            # 200,000 batches, real then replayed
    python benchmarks/app_memory.py --quick    # 20,000 batches each
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import re
import shutil
import statistics
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from _common import ROOT, write_result
from _tty import AppTerminal, launch, maps_mention, rss_mib, start_training, strip_ansi

TARGET_MIB = 50.0
STEPS = 2000
"""Batches an epoch in ``ui_tiny.yaml``."""
_EPOCH = re.compile(r"epoch (\d+)/(\d+)")


def _epoch_shown(term: AppTerminal, since: int) -> int:
    """The highest ``epoch N/M`` drawn since ``since`` (0 if none)."""
    found = _EPOCH.findall(strip_ansi(term.bytes_since(since)))
    return max((int(n) for n, _m in found), default=0)


def follow(
    term: AppTerminal, epochs: int, warm_up_epochs: int, timeout: float
) -> dict[str, Any]:
    """Sample RSS until the dashboard says FINISHED; the baseline is taken once ``warm_up_epochs`` are done."""
    samples: list[tuple[float, float]] = []
    base: float | None = None
    t0 = time.perf_counter()
    index = 0
    shown = 0
    while time.perf_counter() - t0 < timeout:
        rss = rss_mib(term.pid)
        now = time.perf_counter() - t0
        samples.append((now, rss))
        shown = max(shown, _epoch_shown(term, index))
        text = strip_ansi(term.bytes_since(index))
        index = max(0, term.mark() - 2)
        if base is None and shown > warm_up_epochs:
            recent = [r for t, r in samples if t >= now - 2.0]
            base = statistics.median(recent)
            base_at = now
        if "FINISHED" in text or "STOPPED" in text or "FAILED" in text:
            time.sleep(1.0)  # the final repaint and the worker's wind-down
            end = rss_mib(term.pid)
            if "FAILED" in text:
                raise RuntimeError(
                    f"the run failed:\n{term.screen_text_since(0)[-3000:]}"
                )
            if base is None:
                raise RuntimeError(
                    "the run ended before the warm-up did; use more epochs"
                )
            after = [r for t, r in samples if t >= base_at]
            return {
                "base_mib": base,
                "end_mib": end,
                "peak_mib": max(after),
                "growth_mib": end - base,
                "peak_growth_mib": max(after) - base,
                "seconds": now,
                "samples": samples,
                "epochs_shown": shown,
            }
        time.sleep(0.5)
    raise RuntimeError(
        f"the run did not finish in {timeout:.0f} s (epoch {shown}/{epochs} shown)"
    )


def real_run(
    epochs: int, warm_up_epochs: int, timeout: float
) -> tuple[dict[str, Any], list[Any]]:
    term, scratch = launch("ui_tiny.yaml", prefix="memory", fit={"epochs": epochs})
    try:
        start_training(term)
        result = follow(term, epochs, warm_up_epochs, timeout)
        from engine.runs import read_events

        events = read_events(next((scratch / "runs").glob("*")) / "events.jsonl")
    finally:
        term.kill()
        shutil.rmtree(scratch, ignore_errors=True)
    return result, events


# ---------------------------------------------------------------- the replayed stream
class ReplayEngine:
    """Replays a recorded run through the app's sink, stretched to ``epochs`` × ``steps`` batch events."""

    def __init__(self, events: list[Any], epochs: int, steps: int, rate: float) -> None:
        from engine import events as ev

        self.ev = ev
        self.started = next(e for e in events if isinstance(e, ev.RunStarted))
        self.batch_logs = [e.logs for e in events if isinstance(e, ev.Batch)] or [
            {"loss": 1.0}
        ]
        self.epoch_logs = [e for e in events if isinstance(e, ev.EpochEnded)]
        self.epochs, self.steps, self.rate = epochs, steps, rate

    def train(
        self, cfg: Any, *, sink: Any, control: Any = None, runs_dir: Any = None
    ) -> None:
        ev = self.ev
        begin = time.time()
        sink.emit(
            dataclasses.replace(
                self.started, epochs=self.epochs, steps_per_epoch=self.steps, t=begin
            )
        )
        sent = 0
        for epoch in range(self.epochs):
            sink.emit(ev.EpochStarted(epoch=epoch, epochs=self.epochs))
            t_epoch = time.time()
            for step in range(1, self.steps + 1):
                logs = self.batch_logs[sent % len(self.batch_logs)]
                sink.emit(
                    ev.Batch(
                        epoch=epoch,
                        step=step,
                        steps=self.steps,
                        logs=logs,
                        samples_per_s=8 * self.rate,
                    )
                )
                sent += 1
                if sent % 200 == 0:  # hold the rate
                    ahead = begin + sent / self.rate - time.time()
                    if ahead > 0:
                        time.sleep(ahead)
            ended = (
                self.epoch_logs[epoch % len(self.epoch_logs)]
                if self.epoch_logs
                else None
            )
            logs = ended.logs if ended is not None else self.batch_logs[-1]
            sink.emit(ev.EpochEnded(epoch=epoch, logs=logs, learning_rate=getattr(ended, "learning_rate", None),
                                    duration_s=time.time() - t_epoch))  # fmt: skip
        sink.emit(
            ev.RunEnded(
                status="finished",
                epochs_completed=self.epochs,
                duration_s=time.time() - begin,
            )
        )


def child(config: str, events_path: str, epochs: int, steps: int, rate: float) -> None:
    """The replayed-stream app (run on the pty by the parent)."""
    from engine.runs import read_events
    from tui.factory import make_app
    from tui.terminal import guard_terminal

    engine = ReplayEngine(read_events(Path(events_path)), epochs, steps, rate)
    # On the Train screen from the start: the Build screen would summarise the model with Keras.
    app = make_app(config, engine=engine, warm_up=False, start_mode="train")
    with guard_terminal():
        app.run()


def replayed(
    events: list[Any], epochs: int, warm_up_epochs: int, rate: float, timeout: float
) -> dict[str, Any]:
    from engine.events import encode

    scratch_events = (
        Path(os.environ.get("TMPDIR", "/tmp")) / f"kwb-bench-replay-{os.getpid()}.jsonl"
    )
    scratch_events.write_text(
        "".join(encode(e) + "\n" for e in events), encoding="utf-8"
    )
    argv = [
        sys.executable,
        os.path.abspath(__file__),
        "--child",
        str(scratch_events),
        str(epochs),
        str(STEPS),
        str(rate),
    ]
    term, scratch = launch(
        "ui_tiny.yaml", prefix="replay", fit={"epochs": epochs}, argv=argv
    )
    try:
        start_training(term)
        result = follow(term, epochs, warm_up_epochs, timeout)
        result["tensorflow_loaded"] = maps_mention(term.pid, "libtensorflow_framework")
        return result
    finally:
        term.kill()
        shutil.rmtree(scratch, ignore_errors=True)
        scratch_events.unlink(missing_ok=True)


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        _flag, events_path, epochs, steps, rate, config = sys.argv[1:7]
        child(config, events_path, int(epochs), int(steps), float(rate))
        return
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--batches",
        type=int,
        default=200_000,
        help="training batches (default 200,000)",
    )
    parser.add_argument(
        "--quick", action="store_true", help="20,000 batches, for a smoke run"
    )
    parser.add_argument(
        "--rate",
        type=float,
        default=4000.0,
        help="replayed batch events a second (default 4,000)",
    )
    parser.add_argument(
        "--warm-up",
        type=float,
        default=0.1,
        help="fraction of the run before the baseline (default 0.1)",
    )
    opts = parser.parse_args()
    batches = 20_000 if opts.quick else opts.batches
    epochs = max(2, batches // STEPS)
    warm_up_epochs = max(1, round(epochs * opts.warm_up))

    print(
        f"real run: {epochs * STEPS:,} batches ({epochs} epochs of {STEPS})…",
        flush=True,
    )
    real, events = real_run(epochs, warm_up_epochs, timeout=3600)
    print(
        f"  RSS {real['base_mib']:.0f} -> {real['end_mib']:.0f} MiB (growth {real['growth_mib']:+.1f}, peak {real['peak_growth_mib']:+.1f}) in {real['seconds']:.0f} s",
        flush=True,
    )
    print(
        f"replayed stream: {epochs * STEPS:,} batch events at {opts.rate:,.0f}/s…",
        flush=True,
    )
    replay = replayed(events, epochs, warm_up_epochs, opts.rate, timeout=3600)
    print(
        f"  RSS {replay['base_mib']:.0f} -> {replay['end_mib']:.0f} MiB (growth {replay['growth_mib']:+.1f}, peak {replay['peak_growth_mib']:+.1f}) in {replay['seconds']:.0f} s",
        flush=True,
    )

    rows = []
    for what, r, how in (
        ("real run", real, f"kwb ui on ui_tiny.yaml, {epochs * STEPS:,} real training batches (batch 8) in {r_s(real)}"),
        ("replayed stream", replay, f"the app fed {epochs * STEPS:,} batch events of run 1's recorded stream at {opts.rate:,.0f}/s through its real event path (TensorFlow {'loaded' if replay.get('tensorflow_loaded') else 'not loaded'})"),
    ):  # fmt: skip
        rows.append(
            {
                "what": f"app RSS growth over a {epochs * STEPS:,}-batch run ({what})",
                "measured": f"{r['growth_mib']:+.1f} MiB",
                "target": f"<= {TARGET_MIB:.0f} MB",
                "met": r["growth_mib"] <= TARGET_MIB,
                "note": (
                    f"{how}; RSS {r['base_mib']:.0f} MiB after the first {warm_up_epochs} epochs, {r['end_mib']:.0f} MiB "
                    f"at the end, peak {r['peak_growth_mib']:+.1f} MiB above the baseline"
                ),
            }
        )
    path = write_result(
        "app_memory" + ("_quick" if opts.quick else ""),
        rows,
        extra={"batches": epochs * STEPS, "real": real, "replayed": replay},
    )
    print()
    for row in rows:
        print(
            f"{row['what']}: {row['measured']}  (target {row['target']}: {'met' if row['met'] else 'NOT met'})"
        )
        print(f"    {row['note']}")
    print(f"written to {path}")


def r_s(result: dict[str, Any]) -> str:
    return f"{result['seconds']:.0f} s"


if __name__ == "__main__":
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    main()
