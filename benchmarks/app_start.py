"""App start: launch to first frame of ``kwb ui`` in a real pty, and ``kwb --help`` wall time.

First frame: ``kwb ui spirals.yaml`` (and ``kwb`` alone, which opens the built-in
sample) is started on a 120×40 pseudo-terminal; the time is from just before the
exec to the arrival of the chunk that completes the first full screen (the
alternate-screen switch, then a paint holding both the top bar ``1 Build`` and the
footer's ``Quit``). At that moment the script also reads the app's CPU time and
whether TensorFlow's shared library is mapped into the process (``/proc/PID/maps``),
then waits for TensorFlow to load in the background, to show it is imported off
the UI thread after the first frame, not before it.

``kwb --help``: wall time of the console script writing its help to a pipe.

Runs alternate between the variants (A B C A B C …) so a busy machine hurts each
alike; medians are reported, with the spread.

    python benchmarks/app_start.py            # 15 runs of each
    python benchmarks/app_start.py --quick    # 3 runs of each
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from _common import ROOT, write_result
from _tty import (
    ALT_SCREEN,
    AppTerminal,
    app_env,
    cpu_seconds,
    kwb_argv,
    maps_mention,
    scratch_dir,
    strip_ansi,
)

FIRST_FRAME_TARGET_S = 0.5
HELP_TARGET_S = 0.3
TF_LIBRARY = "libtensorflow_framework"
"""Mapped into the process once ``import tensorflow`` has got going."""


def _full_first_frame(raw: bytes) -> bool:
    if ALT_SCREEN not in raw:
        return False
    text = strip_ansi(raw.split(ALT_SCREEN, 1)[1])
    return "1 Build" in text and "Quit" in text


def first_frame(args: list[str], wait_tf: bool) -> dict[str, float | bool | None]:
    """One launch: seconds to the first full frame, CPU seconds by then, TF state then and later."""
    scratch = scratch_dir("start")
    shutil.copy(ROOT / "sample_configs" / "spirals.yaml", scratch / "spirals.yaml")
    term = AppTerminal(kwb_argv(*args), scratch, cols=120, rows=40).start()
    try:
        hit = term.wait_for(_full_first_frame, 0, timeout=60)
        if hit is None:
            raise RuntimeError(
                f"no first frame from kwb {' '.join(args)}:\n{term.screen_text_since(0)[-2000:]}"
            )
        frame_s = hit[0] - term.t_exec
        cpu_s = cpu_seconds(term.pid)
        tf_at_frame = maps_mention(term.pid, TF_LIBRARY)
        tf_s = None
        if wait_tf:
            deadline = time.perf_counter() + 60
            while time.perf_counter() < deadline:
                if maps_mention(term.pid, TF_LIBRARY):
                    tf_s = time.perf_counter() - term.t_exec
                    break
                time.sleep(0.01)
        return {
            "frame_s": frame_s,
            "cpu_s": cpu_s,
            "tf_at_frame": tf_at_frame,
            "tf_loaded_s": tf_s,
        }
    finally:
        term.close(timeout=10)
        shutil.rmtree(scratch, ignore_errors=True)


def help_time() -> float:
    scratch = scratch_dir("help")
    try:
        t0 = time.perf_counter()
        proc = subprocess.run(
            kwb_argv("--help"),
            cwd=scratch,
            env=app_env(scratch),
            capture_output=True,
            check=False,
        )
        elapsed = time.perf_counter() - t0
        if proc.returncode != 0 or b"Usage" not in proc.stdout:
            raise RuntimeError(
                f"kwb --help failed ({proc.returncode}): {proc.stderr.decode()[-1000:]}"
            )
        return elapsed
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def spread(values: list[float]) -> str:
    return f"median {statistics.median(values):.3f} s (min {min(values):.3f}, max {max(values):.3f}, n={len(values)})"


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--runs", type=int, default=15, help="launches of each variant (default 15)"
    )
    parser.add_argument(
        "--quick", action="store_true", help="3 launches of each, for a smoke run"
    )
    opts = parser.parse_args()
    runs = 3 if opts.quick else opts.runs

    help_times: list[float] = []
    launches: dict[str, list[dict]] = {"kwb ui spirals.yaml": [], "kwb": []}
    help_time()  # warm the page cache and .pyc files once; not counted
    first_frame(["ui", "spirals.yaml"], wait_tf=False)
    for i in range(runs):
        help_times.append(help_time())
        # TensorFlow's load is followed on every other launch (it costs ~5 s a launch).
        launches["kwb ui spirals.yaml"].append(
            first_frame(["ui", "spirals.yaml"], wait_tf=i % 2 == 0)
        )
        launches["kwb"].append(first_frame([], wait_tf=False))
        print(
            f"run {i + 1}/{runs}: help {help_times[-1]:.3f} s, "
            f"first frame {launches['kwb ui spirals.yaml'][-1]['frame_s']:.3f} s (kwb ui), "
            f"{launches['kwb'][-1]['frame_s']:.3f} s (kwb)",
            flush=True,
        )

    rows = []
    for name, results in launches.items():
        frames = [r["frame_s"] for r in results]
        cpus = [r["cpu_s"] for r in results]
        tf_before = sum(1 for r in results if r["tf_at_frame"])
        tf_loads = [r["tf_loaded_s"] for r in results if r["tf_loaded_s"] is not None]
        med = statistics.median(frames)
        note = (
            f"120x40 pty, exec to first full frame; {spread(frames)}; "
            f"app CPU time by then median {statistics.median(cpus):.2f} s; "
            f"TensorFlow loaded before the first frame in {tf_before}/{len(results)} launches"
        )
        if tf_loads:
            note += f"; its import began in the background (library mapped) at median {statistics.median(tf_loads):.2f} s after exec"
        rows.append(
            {
                "what": f"launch to first frame ({name})",
                "measured": f"{med:.3f} s",
                "target": f"<= {FIRST_FRAME_TARGET_S} s",
                "met": med <= FIRST_FRAME_TARGET_S and tf_before == 0,
                "note": note,
            }
        )
    med_help = statistics.median(help_times)
    rows.append(
        {
            "what": "kwb --help",
            "measured": f"{med_help:.3f} s",
            "target": f"<= {HELP_TARGET_S} s",
            "met": med_help <= HELP_TARGET_S,
            "note": f"wall time, output to a pipe; {spread(help_times)}",
        }
    )
    path = write_result(
        "app_start" + ("_quick" if opts.quick else ""),
        rows,
        extra={"runs": runs, "raw": {"help_s": help_times, "launches": launches}},
    )
    print()
    for row in rows:
        print(
            f"{row['what']:<42} {row['measured']:>9}  target {row['target']:<9} {'met' if row['met'] else 'NOT met'}"
        )
        print(f"    {row['note']}")
    print(f"\nwritten to {path}")


if __name__ == "__main__":
    main()
