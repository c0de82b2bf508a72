"""Shared helpers for the benchmark scripts: machine facts, interleaved timing, result files.

Every script writes ``benchmarks/results/<name>.json``; ``python benchmarks/report.py``
turns those files into the README's Performance table.
"""

from __future__ import annotations

import json
import os
import platform
import statistics
import sys
import time
from pathlib import Path
from typing import Any, Callable

RESULTS = Path(__file__).resolve().parent / "results"
ROOT = Path(__file__).resolve().parent.parent


def machine() -> dict[str, Any]:
    """CPU model, core count, memory and Python; TensorFlow/Keras versions only if already imported."""
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    mem_gib = None
    try:
        with open("/proc/meminfo") as f:
            kib = int(f.readline().split()[1])
            mem_gib = round(kib / 1024 / 1024, 1)
    except (OSError, ValueError, IndexError):
        pass
    info: dict[str, Any] = {
        "cpu": cpu,
        "cores": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count(),
        "memory_gib": mem_gib,
        "python": platform.python_version(),
        "os": platform.platform(terse=True),
    }
    for mod in ("tensorflow", "keras", "textual"):
        if mod in sys.modules:
            info[mod] = getattr(sys.modules[mod], "__version__", "?")
    return info


def interleaved(variants: dict[str, Callable[[], float]], base: Callable[[], float], pairs: int) -> dict[str, list[float]]:
    """Run ``base`` then each variant, ``pairs`` times (A B A B …); return each variant's list of time ratios."""
    ratios: dict[str, list[float]] = {name: [] for name in variants}
    for _ in range(pairs):
        for name, run in variants.items():
            b = base()
            ratios[name].append(run() / b)
    return ratios


def run_timed(cmd: list[str], cwd: Path, env: dict[str, str]) -> tuple[float, float, str]:
    """Run ``cmd`` to the end: its wall seconds, its CPU seconds (user + system, children) and its stdout.

    A failing command ends the benchmark with its output (a figure from a failed run means nothing).
    """
    import resource
    import subprocess

    t0 = time.perf_counter()
    r0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    proc = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, check=False)
    wall = time.perf_counter() - t0
    r1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} exited {proc.returncode}:\n{proc.stdout[-2000:]}\n{proc.stderr[-2000:]}")
    return wall, (r1.ru_utime - r0.ru_utime) + (r1.ru_stime - r0.ru_stime), proc.stdout


def paired_fit_args(description: str, extra: Callable[[Any], None] | None = None) -> Any:
    """The options of the benchmarks that time ``fit`` in pairs on MNIST-shaped data (samples, validation
    samples, batch size, pairs, ``--quick``), with ``extra`` adding a script's own; ``--quick`` applied."""
    import argparse

    parser = argparse.ArgumentParser(description=description)
    if extra is not None:
        extra(parser)
    parser.add_argument("--samples", type=int, default=60000)
    parser.add_argument("--val-samples", type=int, default=10000)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--pairs", type=int, default=5)
    parser.add_argument("--quick", action="store_true", help="6,000 samples, 2 pairs: a smoke run")
    args = parser.parse_args()
    if args.quick:
        args.samples, args.val_samples, args.pairs = 6000, 1000, 2
    return args


def load_note(device: str = "cpu") -> str:
    """The machine's load when the figures were taken (they are only as quiet as the machine was), and the device."""
    return f"1-min load average {os.getloadavg()[0]:.0f} on {os.cpu_count()} cores at the end; device {device}"


def median(values: list[float]) -> float:
    return statistics.median(values)


def timer() -> float:
    return time.perf_counter()


def write_result(name: str, rows: list[dict[str, Any]], extra: dict[str, Any] | None = None) -> Path:
    """Write ``results/<name>.json`` atomically.

    Each row: ``what`` (the README row), ``measured`` (text), ``target`` (text),
    ``met`` (bool or None for "reported"), ``note`` (how / cause of a gap).
    """
    RESULTS.mkdir(parents=True, exist_ok=True)
    doc = {"benchmark": name, "machine": machine(), "rows": rows, "when": time.strftime("%Y-%m-%d %H:%M")}
    if extra:
        doc.update(extra)
    path = RESULTS / f"{name}.json"
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(doc, indent=2) + "\n")
    os.replace(tmp, path)
    return path
