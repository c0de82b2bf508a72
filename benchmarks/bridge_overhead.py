"""Bridge overhead: ``fit`` with kwb's bridge callback vs a bare ``fit(verbose=0)``, side by side.

Same model, same data, same process; runs are interleaved A B A B … and the
result is the median of the per-pair time ratios (these machines are noisy).
Also reports Keras' own ``verbose=1`` progress bar and a naive per-batch
``LambdaCallback`` that reads the loss, for comparison.

    python benchmarks/bridge_overhead.py                 # MNIST-shaped MLP, 3 pairs
    python benchmarks/bridge_overhead.py --model cnn --pairs 5
"""

from __future__ import annotations

import argparse
import io
import os
import statistics
import sys
import time
from contextlib import redirect_stdout

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))

import keras  # noqa: E402
import numpy as np  # noqa: E402

from engine.bridge import Bridge  # noqa: E402
from engine.control import CallbackSink, Control  # noqa: E402


def make_model(kind: str) -> keras.Model:
    if kind == "cnn":
        layers = [
            keras.Input((28, 28)),
            keras.layers.Reshape((28, 28, 1)),
            keras.layers.Conv2D(16, 3, activation="relu"),
            keras.layers.MaxPooling2D(2),
            keras.layers.Flatten(),
            keras.layers.Dense(10, activation="softmax"),
        ]
    else:
        layers = [
            keras.Input((28, 28)),
            keras.layers.Flatten(),
            keras.layers.Dense(128, activation="relu"),
            keras.layers.Dropout(0.2),
            keras.layers.Dense(10, activation="softmax"),
        ]
    model = keras.Sequential(layers)
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    return model


def timed_fit(model: keras.Model, x, y, batch_size: int, callbacks, verbose: int = 0) -> float:
    t0 = time.perf_counter()
    with redirect_stdout(io.StringIO()):
        model.fit(x, y, batch_size=batch_size, epochs=1, verbose=verbose, callbacks=callbacks, shuffle=False)
    return time.perf_counter() - t0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", choices=("mlp", "cnn"), default="mlp")
    parser.add_argument("--samples", type=int, default=60000)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--pairs", type=int, default=3)
    args = parser.parse_args()

    rng = np.random.default_rng(0)
    x = rng.random((args.samples, 28, 28), dtype=np.float32)
    y = rng.integers(0, 10, args.samples).astype("int32")
    model = make_model(args.model)
    events = []
    bridge = Bridge(CallbackSink(events.append), Control(), batch_size=args.batch_size)
    naive = keras.callbacks.LambdaCallback(on_train_batch_end=lambda b, logs: float(logs["loss"]))

    variants = {
        "bridge": lambda: timed_fit(model, x, y, args.batch_size, [bridge]),
        "keras verbose=1": lambda: timed_fit(model, x, y, args.batch_size, [], verbose=1),
        "naive LambdaCallback": lambda: timed_fit(model, x, y, args.batch_size, [naive]),
    }
    timed_fit(model, x, y, args.batch_size, [])  # warm-up: trace and compile once
    ratios: dict[str, list[float]] = {k: [] for k in variants}
    for _ in range(args.pairs):
        for name, run in variants.items():
            base = timed_fit(model, x, y, args.batch_size, [])
            ratios[name].append(run() / base)
    steps = -(-args.samples // args.batch_size)
    print(f"{args.model}: {args.samples} samples, batch {args.batch_size} ({steps} steps/epoch), {args.pairs} pairs")
    for name, values in ratios.items():
        print(f"  {name:<22} median ratio vs bare fit {statistics.median(values):.3f}  (all: "
              + ", ".join(f"{v:.3f}" for v in values) + ")")
    print(f"  bridge batch events per epoch: {sum(1 for e in events if e.type == 'batch') / (args.pairs):.0f}")


if __name__ == "__main__":
    main()
