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
