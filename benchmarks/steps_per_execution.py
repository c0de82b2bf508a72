"""``fit.steps_per_execution: auto``: the whole ``kwb train`` process against the plain Keras script a user would write.

For three model shapes, each timed as a fresh process from launch to exit:

* ``plain``: ``benchmarks/configs/plain_fit.py KIND`` — Keras' own default (one step
  per execution), ``fit(verbose=0)`` with validation data, ``model.save``;
* ``kwb auto``: ``kwb train`` on the same model and data with kwb's defaults (run
  directory, events, checkpoints, BackupAndRestore, final score) and ``auto``;
* ``kwb 1``: the same with ``--set fit.steps_per_execution=1``, to separate what auto
  gains from what the rest of kwb costs.

Shapes: ``mlp`` (the MNIST MLP 784-128-10, 60,000 samples, batch 32, 3 epochs: the
issue's target is kwb auto ≤ 0.8× the plain script's wall time, validation accuracy
within 0.02), ``cnn`` (one 3x3 conv of 16 filters, 20,000 samples, batch 32, 2 epochs)
and ``tiny`` (8 features, 16 hidden units, 60,000 samples, batch 32, 3 epochs). The data
is generated: noisy copies of ten random 28x28 prototypes (the label is the prototype), or
8 features whose label is the argmax of a fixed random projection, so there is something
to learn and the accuracies can be compared. Runs are
interleaved (plain, auto, 1, then the next round in another order); the figures are
medians of per-round ratios, wall and CPU (user + system of the process).

    python benchmarks/steps_per_execution.py              # 3 rounds for mlp, 2 for cnn and tiny
    python benchmarks/steps_per_execution.py --quick      # 6,000 samples, 1 epoch, 1 round: a smoke run
    python benchmarks/steps_per_execution.py --only mlp --rounds 1
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
from pathlib import Path

import yaml

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from _common import ROOT, load_note, median, run_timed, write_result  # noqa: E402
from _training import spread  # noqa: E402

PLAIN = ROOT / "benchmarks" / "configs" / "plain_fit.py"
TARGET = 0.8

SHAPES = {
    # kind: (samples, epochs, batch, rounds, input shape, kwb layers, scale)
    "mlp": (60_000, 3, 32, 3, [28, 28], [{"Flatten": {}}, {"Dense": {"units": 128, "activation": "relu"}},
                                        {"Dropout": {"rate": 0.2}}, {"Dense": {"units": 10, "activation": "softmax"}}], "pixels"),
    "cnn": (20_000, 2, 32, 2, [28, 28, 1], [{"Conv2D": {"filters": 16, "kernel_size": 3, "activation": "relu"}},
                                            {"MaxPooling2D": {}}, {"Flatten": {}},
                                            {"Dense": {"units": 10, "activation": "softmax"}}], "pixels"),
    "tiny": (60_000, 3, 32, 2, [8], [{"Dense": {"units": 16, "activation": "relu"}},
                                     {"Dense": {"units": 4, "activation": "softmax"}}], None),
}  # fmt: skip


def make_data(path: Path, kind: str, samples: int) -> None:
    """Learnable synthetic data (see the module docstring)."""
    import numpy as np

    rng = np.random.default_rng(0)
    if kind == "tiny":
        x = rng.normal(size=(samples, 8)).astype("float32")
        w = rng.normal(size=(8, 4))
        y = np.argmax(x @ w, axis=1)
    else:  # ten random 28x28 "digits", each sample one of them under heavy noise: learnable like MNIST
        protos = rng.integers(0, 256, size=(10, 28, 28))
        y = rng.integers(0, 10, size=samples)
        noise = rng.integers(0, 256, size=(samples, 28, 28))
        x = ((protos[y] * 0.35 + noise * 0.65)).astype(np.uint8)
        if kind == "cnn":
            x = x[..., None]
    np.savez(path, x=x, y=y.astype(np.uint8))


def write_config(path: Path, kind: str, data: Path, epochs: int, batch: int) -> None:
    _, _, _, _, shape, layers, scale = SHAPES[kind]
    cfg = {
        "name": f"spe-{kind}", "seed": 42,
        "data": {"source": "npz", "path": str(data), "x": "x", "y": "y", "validation_split": 0.1,
                 **({"scale": scale} if scale else {})},
        "model": {"input_shape": shape, "layers": layers},
        "compile": {"optimizer": {"name": "adam", "learning_rate": 0.001},
                    "loss": "sparse_categorical_crossentropy", "metrics": ["accuracy"]},
        "fit": {"epochs": epochs, "batch_size": batch},
    }  # fmt: skip
    path.write_text(yaml.safe_dump(cfg, sort_keys=False))


def kwb_command() -> list[str]:
    exe = shutil.which("kwb")
    return [exe] if exe else [sys.executable, "-m", "tui.cli"]


class Runner:
    """Runs one shape's three variants as fresh processes; records wall, CPU, accuracy and the chosen N."""

    def __init__(self, tmp: Path, kind: str, data: Path, epochs: int, batch: int) -> None:
        self.tmp, self.kind, self.data, self.epochs, self.batch = tmp, kind, data, epochs, batch
        self.config = tmp / f"{kind}.yaml"
        write_config(self.config, kind, data, epochs, batch)
        self.env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"}

    def _run(self, cmd: list[str]) -> tuple[float, float, str]:
        return run_timed(cmd, self.tmp, self.env)

    def plain(self) -> dict:
        wall, cpu, out = self._run([sys.executable, str(PLAIN), self.kind, str(self.data), str(self.tmp / "plain.keras"),
                                    str(self.epochs), str(self.batch)])  # fmt: skip
        acc = float(next(ln for ln in out.splitlines() if ln.startswith("val_accuracy")).split()[1])
        line = next(ln for ln in out.splitlines() if ln.startswith("stamps "))
        st = {k: float(v) for k, v in (item.split("=") for item in line.split()[1:])}
        return {"wall": wall, "cpu": cpu, "val_accuracy": acc, "n": 1, "fit": st["fitted"] - st["ready"]}

    def kwb(self, steps: str) -> dict:
        runs = self.tmp / "runs"
        shutil.rmtree(runs, ignore_errors=True)
        wall, cpu, _ = self._run([*kwb_command(), "train", str(self.config), "--runs-dir", str(runs),
                                  "--set", f"fit.steps_per_execution={steps}"])  # fmt: skip
        (run,) = runs.iterdir()
        events = [json.loads(line) for line in (run / "events.jsonl").read_text().splitlines()]
        started = next(e for e in events if e["type"] == "run_started")
        last = [e for e in events if e["type"] == "epoch_ended"][-1]
        tuned = [e["message"] for e in events if e["type"] == "log" and "re-tuned" in e.get("message", "")]
        # the fit phase: run_started (after the calibration) to the last epoch's end
        return {"wall": wall, "cpu": cpu, "val_accuracy": last["logs"]["val_accuracy"], "fit": last["t"] - started["t"],
                "n": started.get("steps_per_execution", 1), "retuned": tuned, "device": started.get("device", "cpu")}  # fmt: skip


def measure(kind: str, tmp: Path, quick: bool, rounds_override: int | None = None) -> dict:
    samples, epochs, batch, rounds, *_ = SHAPES[kind]
    if quick:
        samples, epochs, rounds = 6000, 1, 1
    rounds = rounds_override or rounds
    data = tmp / f"{kind}.npz"
    make_data(data, kind, samples)
    r = Runner(tmp, kind, data, epochs, batch)
    r.plain()  # warm-up: page cache, .pyc files
    variants = {"plain": r.plain, "auto": lambda: r.kwb("auto"), "one": lambda: r.kwb("1")}
    found: dict[str, list[dict]] = {k: [] for k in variants}
    for i in range(rounds):
        order = list(variants) if i % 2 == 0 else list(reversed(variants))
        for name in order:
            found[name].append(variants[name]())
            print(f"  {kind} round {i + 1} {name}: {found[name][-1]['wall']:.1f} s", flush=True)
    return {"kind": kind, "samples": samples, "epochs": epochs, "batch": batch, "rounds": rounds, "runs": found}


def rows_for(m: dict) -> list[dict]:
    runs, kind = m["runs"], m["kind"]
    ratio = {v: [a["wall"] / p["wall"] for a, p in zip(runs[v], runs["plain"])] for v in ("auto", "one")}
    cpu = {v: [a["cpu"] / p["cpu"] for a, p in zip(runs[v], runs["plain"])] for v in ("auto", "one")}
    acc = {v: median([r["val_accuracy"] for r in runs[v]]) for v in runs}
    fit = {v: median([a["fit"] / p["fit"] for a, p in zip(runs[v], runs["plain"])]) for v in ("auto", "one")}
    n = sorted({r["n"] for r in runs["auto"]})
    retuned = sorted({t for r in runs["auto"] for t in r["retuned"]})
    shape = f"{m['samples']:,} samples, batch {m['batch']}, {m['epochs']} epochs"
    gap = abs(acc["auto"] - acc["plain"])
    target = TARGET if kind == "mlp" else None
    return [{
        "what": f"kwb train, steps_per_execution auto vs plain Keras script ({kind}, whole process)",
        "measured": f"{median(ratio['auto']):.2f}× wall, {median(cpu['auto']):.2f}× CPU (N = {', '.join(map(str, n))}); "
                    f"at N = 1: {median(ratio['one']):.2f}× wall",
        "target": f"≤ {TARGET}× wall, val accuracy within 0.02" if target else "reported",
        "met": (median(ratio["auto"]) <= TARGET and gap <= 0.02) if target else None,
        "note": f"{shape}; median of {m['rounds']} interleaved rounds, wall spread {spread(ratio['auto'])}; "
                f"val accuracy plain {acc['plain']:.3f}, auto {acc['auto']:.3f}, N=1 {acc['one']:.3f}; "
                f"plain {median([r['wall'] for r in runs['plain']]):.1f} s; fit phase alone (kwb: run_started, after "
                f"the calibration, to the last epoch end; plain: fit()): auto {fit['auto']:.2f}×, N=1 {fit['one']:.2f}× "
                f"the plain fit ({median([r['fit'] for r in runs['plain']]):.1f} s)"
                + (f"; re-tuned: {retuned[0]}" if retuned else "") + f"; {load_note(runs['auto'][0].get('device', 'cpu'))}",
    }]  # fmt: skip


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="6,000 samples, 1 epoch, 1 round per shape")
    ap.add_argument("--only", choices=list(SHAPES), action="append", help="only these shapes (repeatable)")
    ap.add_argument("--rounds", type=int, default=None, help="rounds per shape (default: 3 for mlp, 2 for the others)")
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="kwb-bench-spe-"))
    try:
        measured = [measure(kind, tmp, args.quick, args.rounds) for kind in (args.only or list(SHAPES))]
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    rows = [row for m in measured for row in rows_for(m)]
    for row in rows:
        print(f"{row['what']}: {row['measured']}\n    {row['note']}")
    load = os.getloadavg()[0]
    path = write_result("steps_per_execution" + ("_quick" if args.quick else ""), rows,
                        {"runs": measured, "load_average_1min": load})  # fmt: skip
    print(f"load average {load:.1f}; wrote {path}")


if __name__ == "__main__":
    main()
