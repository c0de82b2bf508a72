"""Seeded pure-numpy toy datasets: spirals, moons, circles, xor, blobs, sine, and two_inputs (two inputs, two outputs)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from engine.data.bundle import _need_name

if TYPE_CHECKING:
    from engine.config import DataConfig


SYNTHETIC = ("spirals", "moons", "circles", "xor", "blobs", "sine", "two_inputs")

TWO_INPUTS_WEIGHTS = np.array([0.5, -1.0, 2.0])
"""two_inputs: ``score = meta @ TWO_INPUTS_WEIGHTS + 0.5 + noise``."""


# ================================================================ synthetic
def _synthetic(cfg: "DataConfig", seed: int | None) -> tuple[Any, Any]:
    """(x, y): arrays, or for ``two_inputs`` dicts keyed by input and output name."""
    name = _need_name(cfg, SYNTHETIC)
    rng = np.random.default_rng(seed)
    n, noise = cfg.samples, cfg.noise
    if name == "two_inputs":
        return _two_inputs(rng, n, cfg.classes, noise)
    if name == "sine":
        x = rng.uniform(-2 * np.pi, 2 * np.pi, size=(n, 1))
        y = np.sin(x[:, 0]) + noise * rng.standard_normal(n)
        return x.astype("float32"), y.astype("float32")
    k = cfg.classes if name in ("spirals", "blobs") else 2
    y = np.repeat(np.arange(k), [n // k + (i < n % k) for i in range(k)])
    m = len(y)
    if name == "spirals":
        # Arms wind 1.75 turns; radius grows with angle to 1. Noise is relative to the
        # radial gap between neighbouring arms, so 0.1-0.2 stays learnable for any count.
        turns = 1.75
        t = np.sqrt(rng.uniform(0.02, 1, m)) * turns * 2 * np.pi
        angle = t + 2 * np.pi * y / k
        r = t / (turns * 2 * np.pi)
        x = np.stack([r * np.cos(angle), r * np.sin(angle)], axis=1)
        gap = 1 / (k * turns)
        x += rng.standard_normal((m, 2)) * noise * gap
    elif name == "moons":
        t = rng.uniform(0, np.pi, m)
        x = np.where(
            (y == 0)[:, None],
            np.stack([np.cos(t), np.sin(t)], 1),
            np.stack([1 - np.cos(t), 0.5 - np.sin(t)], 1),
        )
        x += noise * rng.standard_normal((m, 2))
    elif name == "circles":
        t = rng.uniform(0, 2 * np.pi, m)
        r = np.where(y == 0, 1.0, 0.5)
        x = np.stack([r * np.cos(t), r * np.sin(t)], 1) + noise * rng.standard_normal((m, 2))
    elif name == "xor":
        # Quadrants kept 0.1 away from the axes (as in TensorFlow Playground), so the
        # labels are exact and a two-layer network can reach ~100% while one line cannot.
        u = rng.uniform(-1, 1, (m, 2))
        x = np.sign(u) * (0.1 + 0.9 * np.abs(u))
        y = ((x[:, 0] > 0) ^ (x[:, 1] > 0)).astype(int)
        x += noise * rng.standard_normal((m, 2))
    else:  # blobs: centres in a 10-unit box; noise 0.1 is a cluster std of 1 (sklearn's default)
        centres = rng.uniform(-10, 10, (k, cfg.features_count))
        x = centres[y] + 10 * noise * rng.standard_normal((m, cfg.features_count))
    order = rng.permutation(m)
    return x[order].astype("float32"), y[order].astype("int32")


def _two_inputs(rng: np.random.Generator, n: int, classes: int, noise: float):
    """Inputs ``image`` (n, 8, 8, 1) and ``meta`` (n, 3); outputs ``label`` and ``score``.

    ``label`` (0 … classes-1) is the orientation of the stripes drawn in the image
    (class k at k·180°/classes, random phase), so convolutions followed by global
    pooling can read it; ``score`` is a linear function of ``meta``
    (``TWO_INPUTS_WEIGHTS``) plus noise. ``noise`` is the pixel and score noise's std.
    """
    y = rng.integers(0, classes, n)
    angle = np.pi * y / classes
    phase = rng.uniform(0, 2 * np.pi, n)
    rows, cols = np.mgrid[0:8, 0:8]
    along = np.cos(angle)[:, None, None] * cols + np.sin(angle)[:, None, None] * rows
    image = 0.5 + 0.5 * np.sin(2 * np.pi * along / 4 + phase[:, None, None])
    image += noise * rng.standard_normal(image.shape)
    meta = rng.standard_normal((n, 3))
    score = meta @ TWO_INPUTS_WEIGHTS + 0.5 + noise * rng.standard_normal(n)
    x = {"image": image[..., None].astype("float32"), "meta": meta.astype("float32")}
    return x, {"label": y.astype("int32"), "score": score.astype("float32")}
