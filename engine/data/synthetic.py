"""Seeded pure-numpy toy datasets: spirals, moons, circles, xor, blobs, sine."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from engine.data.bundle import _need_name

if TYPE_CHECKING:
    from engine.config import DataConfig


SYNTHETIC = ("spirals", "moons", "circles", "xor", "blobs", "sine")


# ================================================================ synthetic
def _synthetic(cfg: "DataConfig", seed: int | None) -> tuple[np.ndarray, np.ndarray]:
    name = _need_name(cfg, SYNTHETIC)
    rng = np.random.default_rng(seed)
    n, noise = cfg.samples, cfg.noise
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
