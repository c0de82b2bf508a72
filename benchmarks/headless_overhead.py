"""Headless overhead: the whole ``kwb train CONFIG`` process vs a plain Keras script doing the same fit.

Compared, each as a fresh process timed from launch to exit:

* ``kwb train benchmarks/configs/mlp.yaml --set data.path=<npz> --set fit.epochs=N --runs-dir <tmp>``:
  the classic MNIST MLP (batch 32) on an MNIST-shaped npz file, everything else kwb's
  default — run directory, events.jsonl, heartbeat, control folder, best.keras,
  history.csv, BackupAndRestore, the final model and its score on the validation split;
* ``python benchmarks/configs/plain_mlp.py <npz> <out.keras> N``: what a user would write —
  import keras, load and scale the same file, the same shuffle and 10% validation split,
  the same model, ``fit(verbose=0)`` with validation data, ``model.save``.

The data file (random 28×28 uint8 images, labels 0-9; 60,000 samples by default, 47 MB)
is generated in a temp folder. One warm-up run of each, then interleaved pairs (the order
inside a pair alternates); the figure is the median of the per-pair ratios kwb / plain,
in wall time and in the processes' CPU time (user + system, steadier when other work
shares the machine). The breakdown splits each
process into start-up (interpreter, imports, data, model), fit (launch of fit to the last
epoch end), and what follows (saves, kwb's final score, interpreter exit).

    python benchmarks/headless_overhead.py                  # 60,000 samples, 2 epochs, 5 pairs (~3 min)
    python benchmarks/headless_overhead.py --pairs 9 --epochs 3
    python benchmarks/headless_overhead.py --quick          # smoke run, under a minute
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

from _common import ROOT, median, run_timed, write_result
from _training import Timing, paired, spread

CONFIG = ROOT / "benchmarks" / "configs" / "mlp.yaml"
PLAIN = ROOT / "benchmarks" / "configs" / "plain_mlp.py"
TARGET = 1.05


def make_data(path: Path, samples: int) -> None:
    import numpy as np

    rng = np.random.default_rng(0)
    x = rng.integers(0, 256, size=(samples, 28, 28), dtype=np.uint8)
    y = rng.integers(0, 10, size=samples, dtype=np.uint8)
    np.savez(path, x=x, y=y)


def kwb_command() -> list[str]:
    exe = shutil.which("kwb")
    return [exe] if exe else [sys.executable, "-m", "tui.cli"]


class Runner:
    def __init__(self, tmp: Path, data: Path, epochs: int) -> None:
        self.tmp, self.data, self.epochs = tmp, data, epochs
        self.env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"}
        self.kwb_phases: list[dict[str, float]] = []
        self.plain_phases: list[dict[str, float]] = []

    def _run(self, cmd: list[str]) -> tuple[float, float, str]:
        start = time.time()
        wall, self.last_cpu, out = run_timed(cmd, self.tmp, self.env)
        return wall, start, out

    def kwb(self) -> Timing:
        runs = self.tmp / "runs"
        shutil.rmtree(runs, ignore_errors=True)  # one run directory at a time, like a fresh user
        cmd = [*kwb_command(), "train", str(CONFIG), "--set", f"data.path={self.data}",
               "--set", f"fit.epochs={self.epochs}", "--runs-dir", str(runs)]  # fmt: skip
        wall, start, _ = self._run(cmd)
        (run,) = runs.iterdir()
        events = [json.loads(line) for line in (run / "events.jsonl").read_text().splitlines()]
        t_started = next(e["t"] for e in events if e["type"] == "run_started")
        t_fit_end = [e["t"] for e in events if e["type"] == "epoch_ended"][-1]
        self.kwb_phases.append(
            {"start-up": t_started - start, "fit": t_fit_end - t_started, "after": start + wall - t_fit_end}
        )
        return wall, self.last_cpu

    def plain(self) -> Timing:
        wall, start, out = self._run([sys.executable, str(PLAIN), str(self.data), str(self.tmp / "plain.keras"),
                                      str(self.epochs)])  # fmt: skip
        line = next(ln for ln in out.splitlines() if ln.startswith("stamps "))
        s = {k: float(v) for k, v in (item.split("=") for item in line.split()[1:])}
        self.plain_phases.append(
            {"start-up": s["ready"] - start, "fit": s["fitted"] - s["ready"], "after": start + wall - s["fitted"]}
        )
        return wall, self.last_cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=60000)
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--pairs", type=int, default=5)
    parser.add_argument("--quick", action="store_true", help="6,000 samples, 1 epoch, 2 pairs: a smoke run")
    args = parser.parse_args()
    if args.quick:
        args.samples, args.epochs, args.pairs = 6000, 1, 2

    tmp = Path(tempfile.mkdtemp(prefix="kwb-bench-headless-"))
    try:
        data = tmp / "mnist_like.npz"
        make_data(data, args.samples)
        runner = Runner(tmp, data, args.epochs)
        runner.plain(), runner.kwb()  # warm-up: page cache, .pyc files
        runner.kwb_phases.clear(), runner.plain_phases.clear()
        kwb_runs: list[Timing] = []

        def kwb() -> Timing:
            kwb_runs.append(runner.kwb())
            return kwb_runs[-1]

        wall, cpu, plain_runs = paired({"kwb": kwb}, runner.plain, args.pairs)
        ratios, cpu_ratios = wall["kwb"], cpu["kwb"]
    finally:
        shutil.rmtree(tmp, ignore_errors=True)

    m, mc = median(ratios), median(cpu_ratios)
    kwb_s, plain_s = median([t[0] for t in kwb_runs]), median([t[0] for t in plain_runs])
    print(f"{args.samples} samples (10% validation), {args.epochs} epochs, batch 32, {args.pairs} pairs")
    print(f"  kwb train   median {kwb_s:.2f} s   plain keras median {plain_s:.2f} s")
    print(f"  ratio kwb / plain: wall {m:.3f} (spread {spread(ratios)}; " + ", ".join(f"{r:.3f}" for r in ratios) + ")")
    print(f"                     CPU  {mc:.3f} (spread {spread(cpu_ratios)})")
    breakdown = {}
    for name, phases in (("kwb", runner.kwb_phases), ("plain", runner.plain_phases)):
        breakdown[name] = {k: round(statistics.median(p[k] for p in phases), 3) for k in phases[0]}
        print(f"  {name:<6} " + "  ".join(f"{k} {v:.2f} s" for k, v in breakdown[name].items()))
    rows = [{
        "what": f"kwb train (whole process) vs plain Keras script, MNIST MLP, {args.samples} samples, {args.epochs} epochs",
        "measured": f"{m:.3f}× wall, {mc:.3f}× CPU",
        "target": f"≤ {TARGET}×",
        "met": m <= TARGET,
        "note": f"median of {args.pairs} interleaved pairs, wall spread {spread(ratios)}, CPU spread {spread(cpu_ratios)}; "
        f"kwb {kwb_s:.1f} s, plain {plain_s:.1f} s; median phases kwb {breakdown['kwb']}, plain {breakdown['plain']}",
    }]  # fmt: skip
    path = write_result(
        "headless_overhead" + ("_quick" if args.quick else ""), rows, {"args": vars(args), "breakdown": breakdown}
    )
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
