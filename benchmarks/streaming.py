"""Streaming: training from an HDF5 file read batch by batch (kwb's ``stream: true``) vs the same data in memory.

The script writes an HDF5 file bigger than is comfortable to load (``x`` float32
(n, 784), ``y`` int32; about 1 GB by default) in a temp folder, then trains the MNIST
MLP (Dense 128 relu, Dropout 0.2, Dense 10, batch 32) for one epoch over all of it,
each run in its own process through kwb's own loader (``engine.data.load_data``):

* ``streamed``: ``{source: hdf5, stream: true}`` — ``HDF5Sequence`` reading contiguous
  batches, handed to ``fit`` as ``engine.session`` does (``engine.data.fit_input``);
* ``in memory``: ``{source: hdf5}`` — the file read whole, shuffled and split in memory.

Both start with the file evicted from the page cache (``posix_fadvise DONTNEED``), so
each reads it from disk once. Reported: training throughput in samples/s (from batch 50
to the end of the epoch; the ratio streamed / in memory is the figure, target ≥ 0.8),
the time to the first batch, and each process's peak resident memory (VmHWM), which
shows the streamed run never holds the file.

    python benchmarks/streaming.py                    # ~1 GB file, 2 pairs (about 5 min)
    python benchmarks/streaming.py --size-gb 2 --pairs 3
    python benchmarks/streaming.py --quick            # 64 MB file: a smoke run
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

FEATURES = 784
ROW_BYTES = FEATURES * 4 + 4
TARGET = 0.8
BASELINE_SAMPLES = 4096
"""The baseline run streams only this many samples: its peak memory is the process's own."""


# ---------------------------------------------------------------- the worker process
def worker(args: argparse.Namespace) -> None:
    from _training import import_keras, peak_rss_mib

    t_start = time.perf_counter()
    keras = import_keras()
    from engine.config import DataConfig
    from engine.data import fit_input, load_data

    cfg = DataConfig.model_validate({"source": "hdf5", "path": args.file, "x": "x", "y": "y",
                                     "stream": args.worker != "memory", "validation_split": 0.0, "seed": 0,
                                     "limit": BASELINE_SAMPLES if args.worker == "baseline" else None})  # fmt: skip
    t0 = time.perf_counter()
    data = load_data(cfg, seed=0, batch_size=args.batch_size)
    t_loaded = time.perf_counter()
    keras.utils.set_random_seed(0)
    model = keras.Sequential([
        keras.Input((FEATURES,)),
        keras.layers.Dense(128, activation="relu"),
        keras.layers.Dropout(0.2),
        keras.layers.Dense(10, activation="softmax"),
    ])  # fmt: skip
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])

    marks: dict[str, float] = {}

    class Clock(keras.callbacks.Callback):
        def on_train_batch_begin(self, batch: int, logs: Any = None) -> None:
            if batch == 0 and "first" not in marks:
                marks["first"] = time.perf_counter()
            if batch == 50:
                marks["b50"] = time.perf_counter()

        def on_epoch_end(self, epoch: int, logs: Any = None) -> None:
            marks["end"] = time.perf_counter()

    if data.train_ds is not None:
        # What engine.session hands fit for a streamed split.
        model.fit(fit_input(data.train_ds), epochs=1, verbose=0, callbacks=[Clock()], shuffle=False)
    else:
        model.fit(data.x_train, data.y_train, batch_size=args.batch_size, epochs=1, verbose=0, callbacks=[Clock()])
    steps = -(-data.train_samples // args.batch_size)
    measured = (data.train_samples - 50 * args.batch_size) / (marks["end"] - marks["b50"])
    print(json.dumps({
        "samples_per_s": measured,
        "load_s": t_loaded - t0,
        "first_batch_s": marks["first"] - t_start,
        "epoch_s": marks["end"] - marks["first"],
        "steps": steps,
        "peak_rss_mib": peak_rss_mib(),
        "description": data.description,
    }))  # fmt: skip


# ---------------------------------------------------------------- the driver
def make_file(path: Path, samples: int) -> None:
    import h5py
    import numpy as np

    rng = np.random.default_rng(0)
    block = 16384
    with h5py.File(path, "w") as f:
        x = f.create_dataset("x", (samples, FEATURES), dtype="float32")
        y = f.create_dataset("y", (samples,), dtype="int32")
        for a in range(0, samples, block):
            b = min(a + block, samples)
            x[a:b] = rng.random((b - a, FEATURES), dtype=np.float32)
            y[a:b] = rng.integers(0, 10, b - a)


def evict(path: Path) -> None:
    """Drop the file from the page cache so the next reader reads the disk."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
        os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
    finally:
        os.close(fd)


def mem_available_gib() -> float:
    with open("/proc/meminfo") as fh:
        for line in fh:
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) / 1024 / 1024
    return float("inf")


def run_worker(mode: str, file: Path, batch_size: int) -> dict[str, Any]:
    evict(file)
    cmd = [sys.executable, __file__, "--worker", mode, "--file", str(file), "--batch-size", str(batch_size)]
    proc = subprocess.run(
        cmd, capture_output=True, text=True, env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"}, check=False
    )
    if proc.returncode != 0:
        raise SystemExit(f"{mode} run failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr[-3000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size-gb", type=float, default=1.0, help="HDF5 file size. Defaults to 1.0")
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--pairs", type=int, default=2)
    parser.add_argument("--dir", default=None, help="where to write the file. Defaults to the temp folder")
    parser.add_argument("--quick", action="store_true", help="a 64 MB file, 1 pair: a smoke run")
    parser.add_argument("--worker", choices=("stream", "memory", "baseline"), help=argparse.SUPPRESS)
    parser.add_argument("--file", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        worker(args)
        return
    if args.quick:
        args.size_gb, args.pairs = 1 / 16, 1

    from _common import write_result

    tmp = Path(tempfile.mkdtemp(prefix="kwb-bench-stream-", dir=args.dir))
    try:
        want = args.size_gb
        free_gib = shutil.disk_usage(tmp).free / 2**30
        if want * 1.2 + 1 > free_gib:
            want = max(1 / 16, (free_gib - 1) / 1.2)
            print(f"only {free_gib:.1f} GiB free in {tmp.parent}: writing a {want:.2f} GB file instead")
        # The in-memory run holds the file about three times over (read, shuffled copy, TensorFlow's copy).
        if want * 3.5 > mem_available_gib():
            want = max(1 / 16, mem_available_gib() / 3.5)
            print(f"only {mem_available_gib():.1f} GiB of memory available: writing a {want:.2f} GB file instead")
        samples = int(want * 1e9 / ROW_BYTES)
        file = tmp / "big.h5"
        t0 = time.perf_counter()
        make_file(file, samples)
        size_mib = file.stat().st_size / 2**20
        print(
            f"{file}: {samples} samples × {FEATURES} float32, {size_mib:.0f} MiB (written in {time.perf_counter() - t0:.0f} s)"
        )
        base = run_worker("baseline", file, args.batch_size)
        print(f"  baseline (streams {BASELINE_SAMPLES} samples): peak RSS {base['peak_rss_mib']:,.0f} MiB")
        results: dict[str, list[dict[str, Any]]] = {"stream": [], "memory": []}
        for i in range(args.pairs):
            order = ("stream", "memory") if i % 2 == 0 else ("memory", "stream")
            for mode in order:
                r = run_worker(mode, file, args.batch_size)
                results[mode].append(r)
                print(f"  {mode:<7} {r['samples_per_s']:>9,.0f} samples/s  first batch after {r['first_batch_s']:.1f} s  "
                      f"load {r['load_s']:.1f} s  peak RSS {r['peak_rss_mib']:,.0f} MiB")  # fmt: skip
    finally:
        shutil.rmtree(tmp, ignore_errors=True)

    ratios = [s["samples_per_s"] / m["samples_per_s"] for s, m in zip(results["stream"], results["memory"])]
    ratio = statistics.median(ratios)
    med = {k: {f: statistics.median(r[f] for r in v) for f in ("samples_per_s", "first_batch_s", "peak_rss_mib")}
           for k, v in results.items()}  # fmt: skip
    print(f"throughput streamed / in memory: median {ratio:.2f} ({', '.join(f'{r:.2f}' for r in ratios)})")
    grow = {k: med[k]["peak_rss_mib"] - base["peak_rss_mib"] for k in med}
    print(f"peak RSS: streamed {med['stream']['peak_rss_mib']:,.0f} MiB, in memory {med['memory']['peak_rss_mib']:,.0f} MiB, "
          f"a process streaming {BASELINE_SAMPLES} samples {base['peak_rss_mib']:,.0f} MiB; file {size_mib:,.0f} MiB")  # fmt: skip
    print(f"  above that baseline: streamed +{grow['stream']:,.0f} MiB, in memory +{grow['memory']:,.0f} MiB")
    note = (f"{samples} samples, batch {args.batch_size}, one epoch each in its own process, file evicted from the "
            f"page cache first; {args.pairs} pairs")  # fmt: skip
    rows = [
        {
            "what": f"streamed HDF5 throughput vs in memory (MNIST MLP, batch {args.batch_size}, {size_mib:,.0f} MiB file)",
            "measured": f"{ratio:.2f}× ({med['stream']['samples_per_s']:,.0f} vs {med['memory']['samples_per_s']:,.0f} samples/s)",
            "target": f"≥ {TARGET}×",
            "met": ratio >= TARGET,
            "note": note + f"; per pair {', '.join(f'{r:.2f}' for r in ratios)}",
        },
        {
            "what": f"peak memory (VmHWM), streamed vs in memory, {size_mib:,.0f} MiB file",
            "measured": f"streamed {med['stream']['peak_rss_mib']:,.0f} MiB (+{grow['stream']:,.0f}), in memory "
            f"{med['memory']['peak_rss_mib']:,.0f} MiB (+{grow['memory']:,.0f})",
            "target": "streamed: file never held (growth < 10% of the file)",
            "met": grow["stream"] < 0.1 * size_mib,
            "note": f"growth is above a process that streams only {BASELINE_SAMPLES} samples "
            f"({base['peak_rss_mib']:,.0f} MiB); first batch after {med['stream']['first_batch_s']:.1f} s streamed, "
            f"{med['memory']['first_batch_s']:.1f} s in memory (process start to first batch)",
        },
    ]  # fmt: skip
    path = write_result("streaming" + ("_quick" if args.quick else ""), rows, {"args": vars(args), "runs": results})
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
