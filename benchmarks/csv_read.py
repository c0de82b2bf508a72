"""Reading a large CSV: kwb's pyarrow reader against the old per-cell Python loop and numpy.loadtxt.

    python benchmarks/csv_read.py            # 200,000 rows x 20 columns (~34 MB), 3 interleaved rounds
    python benchmarks/csv_read.py --quick    # 40,000 rows, 1 round

The file is generated (seeded floats, an integer label last), written once to a temporary
folder. Each reader runs in a fresh Python process so its peak memory (``ru_maxrss``,
minus the same process's resident size just before reading) is its own; pyarrow
allocates outside Python's heap, so tracemalloc would not see it. Targets (issue 17):
at least 10x faster than the old loop, peak memory under 3x the file size.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from _common import ROOT, median, write_result  # noqa: E402

CHILD = r"""
import json, resource, sys, time
sys.path.insert(0, {root!r})
import numpy as np
kind, path = sys.argv[1], sys.argv[2]
from engine.config import DataConfig
from engine.data.files import _read_file
import pyarrow.csv, csv, io

def old_loop(path):
    # the reader kwb had before: csv.reader over the decoded text, float() per cell
    text = open(path, "rb").read().decode("utf-8-sig")
    rows = [r for r in csv.reader(io.StringIO(text))]
    numbered = [(i + 1, r) for i, r in enumerate(rows) if any(c.strip() for c in r)][1:]
    for line, r in numbered:
        if len(r) != len(rows[0]):
            raise ValueError(line)
    cells = [r for _, r in numbered]
    x = np.empty((len(cells), len(cells[0]) - 1), dtype="float32")
    for j in range(x.shape[1]):
        for i, r in enumerate(cells):
            x[i, j] = float(r[j].strip())
    y = np.array([int(r[-1].strip()) for r in cells], dtype="int32")
    return x, y

r0 = resource.getrusage(resource.RUSAGE_SELF)
before = r0.ru_maxrss
t0 = time.perf_counter()
if kind == "kwb":
    x, y, _ = _read_file("csv", path, None, None, None, DataConfig(source="csv", path=path), "data")
elif kind == "old":
    x, y = old_loop(path)
else:
    a = np.loadtxt(path, delimiter=",", skiprows=1, dtype="float32")
    x, y = a[:, :-1], a[:, -1].astype("int32")
seconds = time.perf_counter() - t0
r1 = resource.getrusage(resource.RUSAGE_SELF)
cpu = r1.ru_utime + r1.ru_stime - r0.ru_utime - r0.ru_stime
print(json.dumps({{"seconds": seconds, "cpu": cpu, "peak_mib": (r1.ru_maxrss - before) / 1024, "rows": int(x.shape[0]),
                  "sum": float(x.sum(dtype="float64"))}}))
"""


def make_file(path: Path, rows: int, cols: int = 20) -> None:
    """A seeded CSV: ``cols`` float features with 6 decimals, an integer label last, a header."""
    import numpy as np

    rng = np.random.default_rng(0)
    with open(path, "w") as f:
        f.write(",".join([f"f{i}" for i in range(cols)] + ["label"]) + "\n")
        for start in range(0, rows, 20_000):
            n = min(20_000, rows - start)
            x = rng.normal(size=(n, cols)) * 100
            y = rng.integers(0, 10, size=n)
            body = np.column_stack([x, y])
            np.savetxt(f, body, delimiter=",", fmt=["%.6f"] * cols + ["%d"])


def run_reader(kind: str, path: Path) -> dict:
    out = subprocess.run(
        [sys.executable, "-c", CHILD.format(root=str(ROOT)), kind, str(path)],
        capture_output=True, text=True, check=True, cwd=str(ROOT),
    )  # fmt: skip
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="40,000 rows, one round")
    ap.add_argument("--rows", type=int, default=None)
    args = ap.parse_args()
    rows = args.rows or (40_000 if args.quick else 200_000)
    rounds = 1 if args.quick else 3
    with tempfile.TemporaryDirectory(prefix="kwb-csv-") as tmp:
        path = Path(tmp) / "big.csv"
        make_file(path, rows)
        size_mib = path.stat().st_size / 2**20
        found: dict[str, list[dict]] = {"kwb": [], "old": [], "loadtxt": []}
        for _ in range(rounds):  # interleaved: one of each per round
            for kind in found:
                found[kind].append(run_reader(kind, path))
    sums = {k: round(v[0]["sum"], 0) for k, v in found.items()}
    t = {k: median([r["seconds"] for r in v]) for k, v in found.items()}
    cpu = {k: median([r["cpu"] for r in v]) for k, v in found.items()}
    mem = {k: max(r["peak_mib"] for r in v) for k, v in found.items()}
    speedup, cpu_speedup = t["old"] / t["kwb"], cpu["old"] / cpu["kwb"]
    shape = f"{rows:,} rows x 21 columns, {size_mib:.1f} MiB"
    rows_out = [
        {"what": "CSV read (pyarrow) vs the old per-cell loop", "measured": f"{speedup:.1f}x faster wall, "
         f"{cpu_speedup:.1f}x CPU ({t['kwb']:.2f} s vs {t['old']:.2f} s; numpy.loadtxt {t['loadtxt']:.2f} s)",
         "target": ">= 10x", "met": speedup >= 10,
         "note": f"{shape}; median of {rounds} interleaved fresh processes; CPU = user+sys of the read; "
                 f"1-min load average {os.getloadavg()[0]:.0f} on {os.cpu_count()} cores at the end"},
        {"what": "CSV read peak memory", "measured": f"{mem['kwb']:.0f} MiB = {mem['kwb'] / size_mib:.1f}x the file "
         f"(old loop {mem['old'] / size_mib:.1f}x)", "target": "< 3x the file", "met": mem["kwb"] < 3 * size_mib,
         "note": f"ru_maxrss growth during the read, in a fresh process; 1-min load average {os.getloadavg()[0]:.0f} "
                 f"on {os.cpu_count()} cores at the end"},
    ]  # fmt: skip
    extra = {"seconds": t, "cpu_seconds": cpu, "peak_mib": mem, "file_mib": size_mib, "row_count": rows, "checksums": sums}
    path_out = write_result("csv_read_quick" if args.quick else "csv_read", rows_out, extra)
    for r in rows_out:
        print(f"{r['what']}: {r['measured']} (target {r['target']}: {'met' if r['met'] else 'NOT met'})")
    print(f"checksums {sums}; wrote {path_out}")


if __name__ == "__main__":
    main()
