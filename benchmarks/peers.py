"""kwb next to what people use instead: the same ``fit`` bare, with kwb, and with the usual loggers and progress bars.

One model (the MNIST MLP, batch 32, MNIST-shaped synthetic data with a validation set),
one process, every variant timed right after a bare ``fit(verbose=0)``, pair after pair
(the order inside a pair alternates); the figure is the median of per-pair ratios to the
bare fit, in wall time and in the process's CPU time:

* ``kwb bridge``: the bridge alone with an in-process queue sink (how the app runs it);
* ``kwb headless wiring``: every callback ``kwb train`` attaches with a default config
  (events.jsonl, best checkpoint, history.csv, NaN stop, BackupAndRestore, LR watch) and
  its heartbeat and control-folder threads (``bridge_overhead.headless_wiring``);
* ``kwb headless wiring, steps_per_execution auto``: the same on a twin model compiled
  with the N ``auto`` picks (``engine.callbacks.steps``) — kwb's default, not a callback;
* Keras ``verbose=1`` (progress bar to a discarded stdout);
* ``keras.callbacks.TensorBoard(update_freq="batch")``;
* W&B's ``WandbMetricsLogger(log_freq="batch")`` in offline mode (``wandb.init(mode="offline")``
  per fit, ``finish()`` after it, both outside the timed fit);
* MLflow's ``mlflow.keras.autolog()`` to a local file store (``MLFLOW_ALLOW_FILE_STORE=true``;
  its end-of-fit model logging is part of what autolog does, so it is inside the timing).

The loggers live in the ``bench`` extra (``pip install -e ".[bench]"``); a missing one is
skipped and the result says so. The machine's load is recorded: on a shared machine the
CPU-time ratio is the steadier figure.

    python benchmarks/peers.py              # 60,000 samples, 5 pairs
    python benchmarks/peers.py --quick      # 6,000 samples, 2 pairs: a smoke run
"""

from __future__ import annotations

import argparse
import importlib.util
import io
import os
import shutil
import sys
import tempfile
from contextlib import redirect_stderr, redirect_stdout
from pathlib import Path
from typing import Any, Callable

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
os.environ.setdefault("WANDB_SILENT", "true")
os.environ.setdefault("MLFLOW_ALLOW_FILE_STORE", "true")

from _common import load_note, median, paired_fit_args, write_result  # noqa: E402
from _training import MLP_LAYERS, build, mnist_like, paired, spread  # noqa: E402
from bridge_overhead import Wiring, headless_wiring, keras, timed_fit  # noqa: E402

from engine.callbacks.bridge import Bridge  # noqa: E402
from engine.callbacks.steps import measure_step_s, steps_for  # noqa: E402
from engine.control import Control, QueueSink  # noqa: E402


def _device() -> str:
    """What trained: ``cpu``, or ``gpu×N`` (the label ``kwb train`` records)."""
    import tensorflow as tf

    gpus = tf.config.list_physical_devices("GPU")
    return f"gpu×{len(gpus)}" if gpus else "cpu"


def wandb_wiring(tmp: Path) -> Wiring:
    import wandb
    from wandb.integration.keras import WandbMetricsLogger

    with redirect_stdout(io.StringIO()), redirect_stderr(io.StringIO()):
        run = wandb.init(mode="offline", dir=str(tmp), project="kwb-peers", reinit="finish_previous")

    def close() -> None:
        with redirect_stdout(io.StringIO()), redirect_stderr(io.StringIO()):
            run.finish()

    return Wiring([WandbMetricsLogger(log_freq="batch")], close)


def mlflow_wiring(tmp: Path) -> Wiring:
    import mlflow

    mlflow.set_tracking_uri(f"file:{tmp / 'mlruns'}")
    mlflow.keras.autolog(silent=True)
    return Wiring([], lambda: mlflow.keras.autolog(disable=True))


def peers(tmp: Path, batch_size: int) -> tuple[dict[str, Callable[[], Wiring]], dict[str, str]]:
    """The variants that can run here, and why each missing one was skipped."""
    def tensorboard() -> Wiring:
        return Wiring([keras.callbacks.TensorBoard(tempfile.mkdtemp(dir=tmp), update_freq="batch")])

    out: dict[str, Callable[[], Wiring]] = {
        "kwb bridge": lambda: Wiring([Bridge(QueueSink(), Control(), batch_size=batch_size)]),
        "kwb headless wiring": lambda: headless_wiring(tmp, MLP_LAYERS, batch_size),
        "keras verbose=1": lambda: Wiring([], verbose=1),
        "TensorBoard(update_freq='batch')": tensorboard,
        "W&B WandbMetricsLogger(log_freq='batch'), offline": lambda: wandb_wiring(tmp),
        "MLflow keras autolog, local file store": lambda: mlflow_wiring(tmp),
    }
    skipped: dict[str, str] = {}
    for name, module in (("TensorBoard(update_freq='batch')", "tensorboard"),
                         ("W&B WandbMetricsLogger(log_freq='batch'), offline", "wandb"),
                         ("MLflow keras autolog, local file store", "mlflow")):  # fmt: skip
        if importlib.util.find_spec(module) is None:
            skipped[name] = f"{module} is not installed (pip install -e \".[bench]\")"
            del out[name]
    return out, skipped


def auto_twin(data: tuple[Any, ...], batch_size: int) -> tuple[Any, int]:
    """A second MLP compiled with the N that ``steps_per_execution: auto`` picks for it."""
    x, y = data[0], data[1]
    model = build(keras, MLP_LAYERS)
    step_s = measure_step_s(model, x[:batch_size] / 255.0 if x.dtype.kind == "u" else x[:batch_size], y[:batch_size])
    n = steps_for(step_s, 25.0, -(-len(x) // batch_size))
    model.steps_per_execution = n
    model.train_function = model.test_function = None
    return model, n


def main() -> None:
    args = paired_fit_args(__doc__.splitlines()[0])
    tmp = Path(tempfile.mkdtemp(prefix="kwb-bench-peers-"))
    try:
        rows, skipped = run(args, tmp)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    load = os.getloadavg()[0]
    path = write_result("peers" + ("_quick" if args.quick else ""), rows,
                        {"args": vars(args), "skipped": skipped, "load_average_1min": load})  # fmt: skip
    print(f"load average {load:.1f}; wrote {path}")


def run(args: argparse.Namespace, tmp: Path) -> tuple[list[dict[str, Any]], dict[str, str]]:
    x, y = mnist_like(args.samples, seed=0)
    xv, yv = mnist_like(args.val_samples, seed=1)
    data, b = (x, y, xv, yv), args.batch_size
    model = build(keras, MLP_LAYERS)
    make, skipped = peers(tmp, b)
    twin, n = auto_twin(data, b)
    warm = (x[: b * 50], y[: b * 50], xv[: b * 10], yv[: b * 10])
    timed_fit(model, data, b, Wiring([]))  # traces the train and eval functions
    for build_wiring in make.values():  # each variant imports what it needs once
        timed_fit(model, warm, b, build_wiring())
    timed_fit(twin, warm, b, headless_wiring(tmp, MLP_LAYERS, b))
    runs = {k: (lambda w=w: timed_fit(model, data, b, w())) for k, w in make.items()}
    auto_name = f"kwb headless wiring, steps_per_execution auto (N = {n})"
    runs[auto_name] = lambda: timed_fit(twin, data, b, headless_wiring(tmp, MLP_LAYERS, b))
    wall, cpu, bases = paired(runs, lambda: timed_fit(model, data, b, Wiring([])), args.pairs)
    base_s = median([t[0] for t in bases])
    print(f"MNIST MLP, {args.samples} samples + {args.val_samples} validation, batch {b}, {args.pairs} pairs; "
          f"bare fit median {base_s:.2f} s")  # fmt: skip
    rows = []
    for k in runs:
        m, mc = median(wall[k]), median(cpu[k])
        print(f"  {k:<58} wall {m:.3f}×  CPU {mc:.3f}×  (wall spread {spread(wall[k])})")
        rows.append({
            "what": f"{k} vs bare fit (MNIST MLP, batch {b})",
            "measured": f"{m:.3f}× wall, {mc:.3f}× CPU",
            "target": "reported",
            "met": None,
            "note": f"median of {len(wall[k])} interleaved pairs, wall spread {spread(wall[k])}, CPU spread "
                    f"{spread(cpu[k])}; bare fit {base_s:.2f} s; {load_note(_device())}",
        })  # fmt: skip
    for k, why in skipped.items():
        print(f"  {k:<58} skipped: {why}")
        rows.append({"what": f"{k} vs bare fit (MNIST MLP, batch {b})", "measured": "skipped", "target": "reported",
                     "met": None, "note": why})  # fmt: skip
    return rows, skipped


if __name__ == "__main__":
    main()
