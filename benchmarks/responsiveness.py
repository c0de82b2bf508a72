"""Key press to screen update while a real run trains in the app.

``kwb ui benchmarks/configs/ui_busy.yaml`` runs on a 120×40 pty; ``t`` starts the run
(three 1024-wide Dense layers, batch 512: TensorFlow's kernels keep both cores of a
2-core machine busy) and, once batches are flowing, keys that change what is shown
are typed through the pty:

* screen switches ``1`` ``4`` ``2`` ``3`` (Build, Runs, Data, Train): timed to the
  arrival of the chunk that completes a text only the new screen shows (its footer);
* ``down`` / ``up`` in the Build screen's layer table: typed once nothing has been
  drawn for 0.15 s, timed to the end of the burst of output that follows;
* on the Train screen, the chart keys: ``z`` twice (one chart zoomed, timed to its
  "z or escape" note; all charts back, timed to the event log's title) and ``S`` (the
  next smoothing weight, timed like ``down``).

The time is from just before the key's bytes are written to the pty to the arrival
of the output; p50 and p95 over every press (a first, uncounted round warms each
screen up). The app's CPU use over the same window is reported, to show the run
really kept the cores busy; ``--burn N`` adds N busy-looping processes for a
harsher test.

    python benchmarks/responsiveness.py              # 10 rounds of 9 keys = 90 presses
    python benchmarks/responsiveness.py --quick      # 3 rounds, 27 presses
    python benchmarks/responsiveness.py --burn 2     # plus two CPU burners
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import shutil
import statistics
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from _common import write_result
from _tty import AppTerminal, cpu_seconds, launch, start_training

TARGET_P95_MS = 100.0
DOWN, UP = "\x1b[B", "\x1b[A"

# (key, what it does, how its effect is recognised: a text only the new screen draws, or None for "the next burst")
ROUND = [
    ("1", "show Build", "x Remove"),
    (DOWN, "Build: next layer", None),
    (UP, "Build: previous layer", None),
    ("4", "show Runs", "v Overlay"),
    ("2", "show Data", "v Preview"),
    ("3", "show Train", "o Settings"),
    ("z", "Train: zoom the loss chart", "z or escape"),
    ("z", "Train: all charts back", "events"),
    ("S", "Train: next smoothing", None),
]


def _burn() -> None:
    while True:
        pass


def burst_end(
    term: AppTerminal, since: int, timeout: float = 10.0, gap: float = 0.01
) -> float | None:
    """Arrival time of the last chunk of the first burst of output after ``since``."""
    first = term.wait_for(lambda raw: len(raw) > 0, since, timeout)
    if first is None:
        return None
    t_last, index = first
    while True:
        nxt = term.wait_for(lambda raw: len(raw) > 0, index, timeout=gap)
        if nxt is None:
            return t_last
        t_last, index = nxt


def press(term: AppTerminal, key: str, marker: str | None) -> float:
    """Type ``key``; seconds until its effect reached the terminal."""
    if marker is None:
        term.wait_quiet(0.15, timeout=10)
    since = term.mark()
    t0 = term.send(key)
    if marker is None:
        t1 = burst_end(term, since)
    else:
        hit = term.wait_text(marker, since, timeout=10)
        t1 = hit[0] if hit else None
    if t1 is None:
        raise RuntimeError(f"no screen update after {key!r} (looked for {marker!r})")
    return t1 - t0


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--rounds",
        type=int,
        default=10,
        help="rounds of 9 keys (default 10: 90 presses)",
    )
    parser.add_argument(
        "--quick", action="store_true", help="3 rounds, for a smoke run"
    )
    parser.add_argument(
        "--burn", type=int, default=0, help="extra busy-looping processes (default 0)"
    )
    parser.add_argument(
        "--config",
        default="ui_busy.yaml",
        help="config under benchmarks/configs (default ui_busy.yaml)",
    )
    opts = parser.parse_args()
    rounds = 3 if opts.quick else opts.rounds

    burners = [
        multiprocessing.Process(target=_burn, daemon=True) for _ in range(opts.burn)
    ]
    term, scratch = launch(opts.config, prefix="resp")
    try:
        start_training(term)
        time.sleep(2.0)  # past the first epoch's tracing
        for (
            key,
            _what,
            marker,
        ) in ROUND:  # warm-up: first visit to each screen imports and composes it
            press(term, key, marker)
            time.sleep(0.3)
        for proc in burners:
            proc.start()
        samples: dict[str, list[float]] = {what: [] for _k, what, _m in ROUND}
        cpu0, t0 = cpu_seconds(term.pid), time.perf_counter()
        load0 = os.getloadavg()[0]
        for r in range(rounds):
            for i, (key, what, marker) in enumerate(ROUND):
                samples[what].append(press(term, key, marker))
                time.sleep(
                    0.25 + 0.05 * ((r + i) % 4)
                )  # irregular, so presses don't lock to the 4 Hz publish
            print(
                f"round {r + 1}/{rounds}: "
                + ", ".join(f"{samples[w][-1] * 1000:.0f}" for _k, w, _m in ROUND)
                + " ms",
                flush=True,
            )
        cores = (cpu_seconds(term.pid) - cpu0) / (time.perf_counter() - t0)
        load1 = os.getloadavg()[0]
        still_training = (
            term.proc is not None
            and term.proc.poll() is None
            and "RUNNING" in term.screen_text_since(0)
        )
    finally:
        for proc in burners:
            if proc.is_alive():
                proc.kill()
        term.kill()
        shutil.rmtree(scratch, ignore_errors=True)

    every = sorted(v * 1000 for vs in samples.values() for v in vs)
    p50 = statistics.median(every)
    p95 = every[max(0, round(0.95 * len(every)) - 1)]
    per_kind = "; ".join(
        f"{what} p50 {statistics.median(vs) * 1000:.0f} ms"
        for what, vs in samples.items()
    )
    note = (
        f"120x40 pty, {len(every)} presses while {opts.config} trained in the app "
        f"(app process used {cores:.2f} cores; load average {load0:.1f} -> {load1:.1f}"
        + (f"; plus {opts.burn} busy-loop processes" if opts.burn else "")
        + f"); max {every[-1]:.0f} ms; {per_kind}"
    )
    row = {
        "what": "key press to screen update, during training"
        + (f" plus {opts.burn} CPU burner(s)" if opts.burn else ""),
        "measured": f"p50 {p50:.0f} ms, p95 {p95:.0f} ms",
        "target": f"p95 <= {TARGET_P95_MS:.0f} ms",
        "met": p95 <= TARGET_P95_MS,
        "note": note,
    }
    path = write_result(
        ("responsiveness" if not opts.burn else f"responsiveness_burn{opts.burn}")
        + ("_quick" if opts.quick else ""),
        [row],
        extra={
            "raw_ms": {w: [v * 1000 for v in vs] for w, vs in samples.items()},
            "still_training": still_training,
        },
    )
    print(
        f"\n{row['what']}: {row['measured']}  (target {row['target']}: {'met' if row['met'] else 'NOT met'})"
    )
    print(f"    {note}\nwritten to {path}")


if __name__ == "__main__":
    main()
