"""Terminal traffic: bytes per second the app writes while a real run trains, at 120×40.

What an SSH link must carry for a live dashboard. ``kwb ui CONFIG`` runs on a 120×40
pty (``TERM=xterm-256color``, ``COLORTERM=truecolor``: 24-bit colour escapes, the
largest); ``t`` starts the run, the Train screen shows the dashboard, and every byte
the app writes to the pty master is counted. The first paint and the start of the
run (``--warm-up`` seconds of training) are left out; the figure is bytes over the
next ``--seconds``, split by screen rows (header, loss/metric charts, lr chart and
event log) from the cursor moves in the stream.

Two runs, one after the other:

* ``ui_busy.yaml``: a CPU-heavy run, ~10 s epochs (steady training);
* ``ui_epochs.yaml``: a tiny model with epochs of a few tenths of a second: every
  chart, the event log and both bars change several times a second (the worst case).

    python benchmarks/terminal_traffic.py            # 20 s warm-up, 30 s measured, each run
    python benchmarks/terminal_traffic.py --quick    # 8 s warm-up, 10 s measured
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from _common import write_result
from _tty import cpu_seconds, launch, start_training

TARGET_BPS = 10_000
RUNS = {
    "ui_busy.yaml": "CPU-heavy run, ~10 s epochs",
    "ui_epochs.yaml": "epochs of a few tenths of a second (worst case)",
}
ROW_GROUPS = {
    "header (rows 2-4)": range(2, 5),
    "loss+metric charts (rows 5-21)": range(5, 22),
    "lr chart + event log (rows 22-39)": range(22, 40),
}
"""Where the dashboard's parts sit on a 120×40 screen (row 1: screen tabs, row 40: keys)."""
_MOVE = re.compile(rb"\x1b\[(\d+);\d+H")


def bytes_by_row(data: bytes) -> dict[int, int]:
    """Bytes of ``data`` by the screen row the cursor was moved to before them (0: before any move)."""
    moves = list(_MOVE.finditer(data))
    rows = {0: moves[0].start() if moves else len(data)}
    for move, after in zip(moves, [*moves[1:], None]):
        end = after.start() if after is not None else len(data)
        row = int(move.group(1))
        rows[row] = rows.get(row, 0) + end - move.start()
    return rows


def measure(config: str, warm_up: float, seconds: float) -> dict:
    term, scratch = launch(config, prefix="traffic")
    try:
        start_training(term)
        time.sleep(warm_up)
        index, cpu0, t0 = term.mark(), cpu_seconds(term.pid), time.perf_counter()
        time.sleep(seconds)
        t1 = time.perf_counter()
        cpu = (cpu_seconds(term.pid) - cpu0) / (t1 - t0)
        data = term.bytes_since(index)
        alive = term.proc is not None and term.proc.poll() is None
        screen = term.screen_text_since(0)
    finally:
        term.kill()
        shutil.rmtree(scratch, ignore_errors=True)
    if not alive:
        raise RuntimeError(f"the app exited during the measurement:\n{screen[-2000:]}")
    rows = bytes_by_row(data)
    groups = {
        name: sum(rows.get(r, 0) for r in span) / (t1 - t0)
        for name, span in ROW_GROUPS.items()
    }
    return {
        "bps": len(data) / (t1 - t0),
        "bytes": len(data),
        "seconds": t1 - t0,
        "cores": cpu,
        "groups": groups,
        "rows": rows,
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--seconds",
        type=float,
        default=30.0,
        help="measured seconds per run (default 30)",
    )
    parser.add_argument(
        "--warm-up",
        type=float,
        default=20.0,
        help="seconds of training left out first (default 20)",
    )
    parser.add_argument(
        "--quick", action="store_true", help="8 s warm-up, 10 s measured"
    )
    opts = parser.parse_args()
    warm_up, seconds = (8.0, 10.0) if opts.quick else (opts.warm_up, opts.seconds)

    results = {}
    for config in RUNS:
        results[config] = measure(config, warm_up, seconds)
        r = results[config]
        print(
            f"{config}: {r['bps'] / 1000:.1f} KB/s ({r['bytes']:,} bytes in {r['seconds']:.0f} s; app used {r['cores']:.2f} cores)",
            flush=True,
        )

    rows = []
    for config, r in results.items():
        split = ", ".join(
            f"{name} {bps / 1000:.1f}" for name, bps in r["groups"].items()
        )
        rows.append(
            {
                "what": f"terminal output while training, 120x40 ({config})",
                "measured": f"{r['bps'] / 1000:.1f} KB/s",
                "target": f"<= {TARGET_BPS // 1000} KB/s",
                "met": r["bps"] <= TARGET_BPS,
                "note": (
                    f"{RUNS[config]}; bytes read from the pty master over {r['seconds']:.0f} s after {warm_up:.0f} s of "
                    f"training, truecolor xterm; by part of the screen (KB/s): {split}"
                ),
            }
        )
    path = write_result(
        "terminal_traffic" + ("_quick" if opts.quick else ""),
        rows,
        extra={"warm_up_s": warm_up, "seconds": seconds, "raw": results},
    )
    print()
    for row in rows:
        print(
            f"{row['what']}: {row['measured']}  (target {row['target']}: {'met' if row['met'] else 'NOT met'})"
        )
        print(f"    {row['note']}")
    print(f"written to {path}")


if __name__ == "__main__":
    main()
