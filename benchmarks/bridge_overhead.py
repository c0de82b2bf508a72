"""Bridge overhead: ``fit`` with kwb's callbacks vs a bare ``fit(verbose=0)``, same model, data and process.

For each model (the MNIST MLP and a small CNN, on MNIST-shaped synthetic data with a
10,000-sample validation set) every variant is timed right after a bare fit, pair
after pair (A B A B …), and the figure is the median of the per-pair time ratios:

* ``kwb bridge``: the bridge alone, with an in-process queue sink (how the app runs it);
* ``kwb headless wiring``: everything ``kwb train`` attaches with the default config —
  the bridge writing events.jsonl, BestCheckpoint, CSVLogger, QuietTerminateOnNaN,
  BackupAndRestore, LrWatch, plus the heartbeat and control-folder threads;
* for comparison: Keras' ``verbose=1`` progress bar, ``TensorBoard(update_freq="batch")``
  and a naive per-batch ``LambdaCallback`` that reads the loss.

Each ratio is given for wall time and for the process's CPU time (steadier when other
processes share the machine). The callbacks' own cost is also timed without training:
microseconds per batch in the batch hooks, milliseconds per epoch end (checkpoint,
backup, history row) — figures that barely depend on how busy the machine is.

    python benchmarks/bridge_overhead.py              # both models, 5 pairs (about 12 min on 2 cores)
    python benchmarks/bridge_overhead.py --model cnn --pairs 9
    python benchmarks/bridge_overhead.py --quick      # smoke run, under a minute
"""

from __future__ import annotations

import argparse
import importlib.util
import io
import shutil
import tempfile
import time
from collections.abc import Callable
from contextlib import redirect_stdout
from pathlib import Path
from typing import Any

from _common import median, paired_fit_args, write_result
from _training import CNN_LAYERS, MLP_LAYERS, Timing, build, import_keras, mnist_like, paired, spread

keras = import_keras()

from engine.callbacks.bridge import Bridge  # noqa: E402
from engine.callbacks.factory import make_callbacks  # noqa: E402
from engine.config import RunConfig  # noqa: E402
from engine.control import Control, JsonlSink, QueueSink  # noqa: E402
from engine.control_dir import ControlWatcher  # noqa: E402
from engine.runs import Heartbeat, create_run_dir  # noqa: E402
from engine.session import expected_metric_names  # noqa: E402

MODELS = {"mlp": MLP_LAYERS, "cnn": CNN_LAYERS}
TARGET = 1.02


class Wiring:
    """One fit's worth of callbacks (fresh each time, as each kwb run gets fresh ones) and their clean-up."""

    def __init__(self, callbacks: list[Any], close: Callable[[], None] = lambda: None, verbose: int = 0) -> None:
        self.callbacks, self.close, self.verbose = callbacks, close, verbose


def headless_wiring(tmp: Path, layers: list[dict[str, Any]], batch_size: int) -> Wiring:
    """The callbacks ``engine.session.train`` attaches for a default config, with its two helper threads."""
    cfg = RunConfig.model_validate({"name": "bench", "model": {"layers": layers}, "fit": {"batch_size": batch_size}})
    run = create_run_dir(cfg, tmp / "runs")
    sink = JsonlSink(run.events)
    control = Control()
    heartbeat = Heartbeat(run)
    bridge = Bridge(
        sink, control, checkpoint_dir=run.checkpoints, batch_size=batch_size,
        on_progress=lambda done, total: heartbeat.update(epochs_done=done), on_state=lambda s: heartbeat.update(state=s),
    )  # fmt: skip
    callbacks = make_callbacks(cfg, run, bridge, sink, expected_metric_names(cfg, has_validation=True))
    watcher = ControlWatcher(run, control, sink)
    heartbeat.start()
    watcher.start()

    def close() -> None:
        watcher.stop()
        heartbeat.stop()
        sink.close()

    return Wiring(callbacks, close)


def variants(tmp: Path, layers: list[dict[str, Any]], batch_size: int) -> dict[str, Callable[[], Wiring]]:
    def tensorboard() -> Wiring:
        folder = Path(tempfile.mkdtemp(dir=tmp))
        return Wiring([keras.callbacks.TensorBoard(str(folder), update_freq="batch")])

    out = {
        "kwb bridge": lambda: Wiring([Bridge(QueueSink(), Control(), batch_size=batch_size)]),
        "kwb headless wiring": lambda: headless_wiring(tmp, layers, batch_size),
        "keras verbose=1": lambda: Wiring([], verbose=1),
        "TensorBoard(update_freq='batch')": tensorboard,
        "naive LambdaCallback": lambda: Wiring(
            [keras.callbacks.LambdaCallback(on_train_batch_end=lambda b, logs: float(logs["loss"]))]
        ),
    }
    if importlib.util.find_spec("tensorboard") is None:
        # TensorFlow 2.21 no longer installs it; Keras' TensorBoard callback then fails in fit().
        print("tensorboard is not installed (pip install tensorboard): skipping the TensorBoard variant")
        del out["TensorBoard(update_freq='batch')"]
    return out


def timed_fit(model: Any, data: tuple[Any, ...], batch_size: int, wiring: Wiring) -> Timing:
    """(wall, CPU) seconds of one epoch with these callbacks."""
    x, y, xv, yv = data
    try:
        t0, c0 = time.perf_counter(), time.process_time()
        with redirect_stdout(io.StringIO()):
            model.fit(x, y, batch_size=batch_size, epochs=1, verbose=wiring.verbose, callbacks=wiring.callbacks,
                      validation_data=(xv, yv), shuffle=False)  # fmt: skip
        return time.perf_counter() - t0, time.process_time() - c0
    finally:
        wiring.close()


def hook_costs(model: Any, wiring: Wiring, steps: int) -> tuple[float, float]:
    """(µs per batch, ms per epoch) that Keras' CallbackList spends in these callbacks, without training.

    Batch hooks get the logs ``train_function`` returns (tensors, which Keras converts
    on every batch); the epoch end gets float logs with validation metrics, so
    checkpoint and backup callbacks write their files as in a real epoch.
    """
    import tensorflow as tf

    cbl = keras.callbacks.CallbackList(wiring.callbacks, add_history=True, add_progbar=False, model=model,
                                       verbose=0, epochs=1, steps=steps)  # fmt: skip
    logs = {"loss": tf.constant(0.5), "accuracy": tf.constant(0.25)}
    epoch_logs = {"loss": 0.5, "accuracy": 0.25, "val_loss": 0.5, "val_accuracy": 0.25}
    try:
        cbl.on_train_begin()
        cbl.on_epoch_begin(0)
        t0 = time.perf_counter()
        for i in range(steps):
            cbl.on_train_batch_begin(i)
            cbl.on_train_batch_end(i, logs)
        per_batch = (time.perf_counter() - t0) / steps * 1e6
        t0 = time.perf_counter()
        cbl.on_epoch_end(0, epoch_logs)
        per_epoch = (time.perf_counter() - t0) * 1e3
        cbl.on_train_end(epoch_logs)
        return per_batch, per_epoch
    finally:
        wiring.close()


def bench_model(name: str, args: argparse.Namespace, tmp: Path) -> list[dict[str, Any]]:
    layers = MODELS[name]
    x, y = mnist_like(args.samples, seed=0)
    xv, yv = mnist_like(args.val_samples, seed=1)
    data = (x, y, xv, yv)
    model = build(keras, layers)
    make = variants(tmp, layers, args.batch_size)

    def bare() -> Wiring:
        return Wiring([])

    # Warm-up: trace the train and eval functions, and let each variant import what it needs once.
    warm = (
        x[: args.batch_size * 50],
        y[: args.batch_size * 50],
        xv[: args.batch_size * 10],
        yv[: args.batch_size * 10],
    )
    timed_fit(model, data, args.batch_size, bare())
    for build_wiring in make.values():
        timed_fit(model, warm, args.batch_size, build_wiring())

    steps = -(-args.samples // args.batch_size)
    runs = {k: (lambda b=b: timed_fit(model, data, args.batch_size, b())) for k, b in make.items()}
    wall, cpu, bases = paired(runs, lambda: timed_fit(model, data, args.batch_size, bare()), args.pairs)
    base_s = median([b[0] for b in bases])
    step_ms = base_s / steps * 1e3
    # Hook costs: the minimum of a few repeats, as timeit does (the noise only ever adds).
    costs = {
        k: [hook_costs(model, w(), 2000) for _ in range(5)]
        for k, w in (
            ("bare", bare),
            ("kwb bridge", make["kwb bridge"]),
            ("kwb headless wiring", make["kwb headless wiring"]),
        )
    }
    batch_us = {k: min(c[0] for c in v) for k, v in costs.items()}
    epoch_ms = {k: min(c[1] for c in v) for k, v in costs.items()}

    print(f"\n{name}: {args.samples} samples + {args.val_samples} validation, batch {args.batch_size} "
          f"({steps} steps), {args.pairs} pairs; bare fit median {base_s:.2f} s ({step_ms:.2f} ms/step)")  # fmt: skip
    rows = []
    for k in runs:
        m, mc = median(wall[k]), median(cpu[k])
        print(f"  {k:<34} wall {m:.3f}× (spread {spread(wall[k])})   CPU {mc:.3f}× (spread {spread(cpu[k])})")
        ours = k.startswith("kwb")
        note = (f"median of {len(wall[k])} interleaved pairs; wall spread {spread(wall[k])}; CPU-time ratio {mc:.3f} "
                f"(spread {spread(cpu[k])}); bare fit {base_s:.2f} s")  # fmt: skip
        if ours:
            extra = (batch_us[k] - batch_us["bare"]) / (step_ms * 1e3)
            note += (f"; callbacks' own cost: {batch_us[k]:.1f} µs per batch vs {batch_us['bare']:.1f} bare "
                     f"(+{extra:.2%} of a step), {epoch_ms[k]:.0f} ms per epoch end vs {epoch_ms['bare']:.1f} bare")  # fmt: skip
        rows.append({
            "what": f"{k} vs bare fit, {name} (batch {args.batch_size}, {step_ms:.2f} ms/step)",
            "measured": f"{m:.3f}× wall, {mc:.3f}× CPU",
            "target": f"≤ {TARGET}×" if ours else "reported",
            "met": (m <= TARGET) if ours else None,
            "note": note,
        })  # fmt: skip
    print("  callbacks' own cost (no training): " + ", ".join(
        f"{k} {batch_us[k]:.1f} µs/batch + {epoch_ms[k]:.1f} ms/epoch" for k in batch_us) + f"; a step is {step_ms * 1e3:.0f} µs")  # fmt: skip
    return rows


def main() -> None:
    args = paired_fit_args(__doc__.splitlines()[0],
                           lambda parser: parser.add_argument("--model", choices=("mlp", "cnn", "both"), default="both"))  # fmt: skip

    tmp = Path(tempfile.mkdtemp(prefix="kwb-bench-bridge-"))
    try:
        rows: list[dict[str, Any]] = []
        for name in ("mlp", "cnn") if args.model == "both" else (args.model,):
            rows += bench_model(name, args, tmp)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    extra = {"args": vars(args)}
    path = write_result("bridge_overhead" + ("_quick" if args.quick else ""), rows, extra)
    print(f"\nwrote {path}")


if __name__ == "__main__":
    main()
