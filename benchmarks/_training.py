"""Helpers shared by the engine benchmarks: a quiet Keras import, the benchmark models and data, peak memory.

The models are the ones the README quotes: the classic MNIST MLP (Flatten, Dense 128
relu, Dropout 0.2, Dense 10) and a small CNN, on MNIST-shaped synthetic data (no
download), so every figure can be re-run offline.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from contextlib import contextmanager
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


@contextmanager
def quiet_fd2(log: str | os.PathLike[str] | None = None):
    """Point file descriptor 2 at ``log`` (default /dev/null) for the block: TensorFlow's C++ chatter."""
    sys.stderr.flush()
    saved = os.dup(2)
    fd = os.open(log or os.devnull, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    os.dup2(fd, 2)
    os.close(fd)
    try:
        yield
    finally:
        sys.stderr.flush()
        os.dup2(saved, 2)
        os.close(saved)


def import_keras() -> Any:
    """``import keras`` with TensorFlow's start-up lines kept off the terminal."""
    with quiet_fd2():
        import keras
        import tensorflow  # noqa: F401  (the start-up chatter comes from here)
    return keras


MLP_LAYERS = [
    {"Flatten": {}},
    {"Dense": {"units": 128, "activation": "relu"}},
    {"Dropout": {"rate": 0.2}},
    {"Dense": {"units": 10, "activation": "softmax"}},
]
"""The classic Keras MNIST MLP, as kwb config layers (sample_configs/mnist_mlp.yaml)."""

CNN_LAYERS = [
    {"Reshape": {"target_shape": [28, 28, 1]}},
    {"Conv2D": {"filters": 16, "kernel_size": 3, "activation": "relu"}},
    {"MaxPooling2D": {"pool_size": 2}},
    {"Flatten": {}},
    {"Dense": {"units": 10, "activation": "softmax"}},
]
"""A small CNN: one 16-filter convolution, pooling, a softmax."""


def build(keras: Any, layers: list[dict[str, dict[str, Any]]], input_shape: tuple[int, ...] = (28, 28)) -> Any:
    """A compiled Sequential model from ``{LayerName: kwargs}`` entries (adam, sparse CE, accuracy)."""
    stack = [keras.Input(input_shape)]
    for entry in layers:
        ((name, kwargs),) = entry.items()
        stack.append(getattr(keras.layers, name)(**kwargs))
    model = keras.Sequential(stack)
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    return model


def mnist_like(samples: int, seed: int = 0) -> tuple[Any, Any]:
    """``samples`` random 28×28 float32 images in [0, 1) and integer labels 0-9."""
    import numpy as np

    rng = np.random.default_rng(seed)
    x = rng.random((samples, 28, 28), dtype=np.float32)
    y = rng.integers(0, 10, samples).astype("int32")
    return x, y


def peak_rss_mib() -> float:
    """This process's peak resident memory (VmHWM), in MiB."""
    try:
        with open("/proc/self/status") as fh:
            for line in fh:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def spread(values: list[float]) -> str:
    return f"{min(values):.3f}-{max(values):.3f}"


Timing = tuple[float, float]
"""(wall seconds, CPU seconds) of one timed run."""


def paired(
    variants: dict[str, Callable[[], Timing]], base: Callable[[], Timing], pairs: int
) -> tuple[dict[str, list[float]], dict[str, list[float]], list[Timing]]:
    """Time ``base`` and each variant side by side, ``pairs`` times; the order inside a pair alternates.

    Returns each variant's wall-time ratios and CPU-time ratios to the base run of its
    pair, and every base timing. CPU time barely moves when other processes load the
    machine, so its ratio is the steadier figure on a shared machine; wall time is the
    one a user feels.
    """
    wall: dict[str, list[float]] = {k: [] for k in variants}
    cpu: dict[str, list[float]] = {k: [] for k in variants}
    bases: list[Timing] = []
    for i in range(pairs):
        for name, run in variants.items():
            if i % 2 == 0:
                b, v = base(), run()
            else:
                v, b = run(), base()
            bases.append(b)
            wall[name].append(v[0] / b[0])
            cpu[name].append(v[1] / b[1])
    return wall, cpu, bases
