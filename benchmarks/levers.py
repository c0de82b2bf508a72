"""Throughput levers: what ``steps_per_execution``, ``jit_compile``, mixed precision and a tf.data pipeline do to ``fit``.

Every variant is compiled as kwb compiles it (``engine.model.compile_model`` from a
run config), on the same MNIST-shaped synthetic data, in one process. After one
warm-up epoch each, the variants run one epoch each in turn, round after round (the
order rotates), and each is reported as its median throughput ratio to the baseline
of the same round (> 1 is faster):

* ``steps_per_execution: 8`` — eight steps per call into TensorFlow;
* ``runtime.jit_compile: true`` — XLA;
* ``runtime.mixed_precision: mixed_bfloat16`` / ``mixed_float16``;
* ``tf.data cache + prefetch`` — the arrays wrapped in
  ``from_tensor_slices → cache → shuffle → batch → prefetch`` instead of handing
  NumPy arrays to ``fit`` (which Keras already turns into a prefetched tf.data
  pipeline of vectorised gathers): what ``data.cache``/``data.prefetch`` would do if
  kwb applied them to in-memory data.

    python benchmarks/levers.py                # MLP batch 32 and CNN batch 128, 3 rounds
    python benchmarks/levers.py --quick
"""

from __future__ import annotations

import argparse
import statistics
import time
from typing import Any

from _common import write_result
from _training import CNN_LAYERS, MLP_LAYERS, import_keras, mnist_like, spread

keras = import_keras()

from engine.config import RunConfig  # noqa: E402
from engine.model import build_model, compile_model  # noqa: E402

VARIANTS = {
    "baseline": {},
    "steps_per_execution: 8": {"fit": {"steps_per_execution": 8}},
    "jit_compile: true": {"runtime": {"jit_compile": True}},
    "mixed_precision: mixed_bfloat16": {"runtime": {"mixed_precision": "mixed_bfloat16"}},
    "mixed_precision: mixed_float16": {"runtime": {"mixed_precision": "mixed_float16"}},
    "tf.data cache + prefetch": {"pipeline": True},
}


def make(layers: list[dict[str, Any]], batch_size: int, extra: dict[str, Any]) -> Any:
    raw = {"model": {"input_shape": [28, 28], "layers": layers}, "fit": {"batch_size": batch_size},
           "compile": {"optimizer": "adam", "loss": "sparse_categorical_crossentropy", "metrics": ["accuracy"]}}  # fmt: skip
    for key in ("fit", "runtime"):
        raw.setdefault(key, {}).update(extra.get(key, {}))
    cfg = RunConfig.model_validate(raw)
    # The policy is global: set it only while this model is built (engine.session.configure_runtime sets it per run).
    keras.mixed_precision.set_global_policy(cfg.runtime.mixed_precision or "float32")
    try:
        model = build_model(cfg, (28, 28))
        compile_model(model, cfg)
    finally:
        keras.mixed_precision.set_global_policy("float32")
    return model


def pipeline(x: Any, y: Any, batch_size: int) -> Any:
    import tensorflow as tf

    ds = tf.data.Dataset.from_tensor_slices((x, y)).cache().shuffle(min(len(x), 10_000), seed=0)
    return ds.batch(batch_size).prefetch(tf.data.AUTOTUNE)


def epoch_rate(model: Any, x: Any, y: Any, batch_size: int, ds: Any = None) -> float:
    t0 = time.perf_counter()
    if ds is not None:
        model.fit(ds, epochs=1, verbose=0, shuffle=False)  # the pipeline shuffles
    else:
        model.fit(x, y, batch_size=batch_size, epochs=1, verbose=0, shuffle=True)
    return len(x) / (time.perf_counter() - t0)


def bench(name: str, layers: list[dict[str, Any]], batch_size: int, args: argparse.Namespace) -> list[dict[str, Any]]:
    x, y = mnist_like(args.samples)
    models = {k: make(layers, batch_size, v) for k, v in VARIANTS.items()}
    datasets = {k: pipeline(x, y, batch_size) if v.get("pipeline") else None for k, v in VARIANTS.items()}
    for k, m in models.items():  # warm-up: trace, compile, fill the cache
        epoch_rate(m, x, y, batch_size, datasets[k])
    names = list(models)
    rates: dict[str, list[float]] = {k: [] for k in names}
    ratios: dict[str, list[float]] = {k: [] for k in names if k != "baseline"}
    for r in range(args.rounds):
        order = names[r % len(names) :] + names[: r % len(names)]
        now = {k: epoch_rate(models[k], x, y, batch_size, datasets[k]) for k in order}
        for k, v in now.items():
            rates[k].append(v)
            if k != "baseline":
                ratios[k].append(v / now["baseline"])
    base = statistics.median(rates["baseline"])
    print(f"\n{name}, batch {batch_size}, {args.samples} samples, {args.rounds} rounds: baseline {base:,.0f} samples/s")
    rows = []
    for k, values in ratios.items():
        m = statistics.median(values)
        print(f"  {k:<34} {m:.2f}× ({statistics.median(rates[k]):,.0f} samples/s; spread {spread(values)})")
        rows.append({
            "what": f"{k}, {name} batch {batch_size} (throughput vs baseline)",
            "measured": f"{m:.2f}×", "target": "reported", "met": None,
            "note": f"median of {len(values)} rounds, spread {spread(values)}; baseline {base:,.0f} samples/s on CPU",
        })  # fmt: skip
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=60000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--quick", action="store_true", help="6,000 samples, MLP only, 1 round")
    args = parser.parse_args()
    if args.quick:
        args.samples, args.rounds = 6000, 1
    rows = bench("mlp", MLP_LAYERS, 32, args)
    if not args.quick:
        rows += bench("cnn", CNN_LAYERS, 128, args)
    path = write_result("levers" + ("_quick" if args.quick else ""), rows, {"args": vars(args)})
    print(f"\nwrote {path}")


if __name__ == "__main__":
    main()
