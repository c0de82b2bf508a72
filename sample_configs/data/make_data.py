"""Generate the tiny data files the sample configs and tests use (seeded; rerun to reproduce).

    python sample_configs/data/make_data.py

* ``flowers.csv``: 300 rows, a header, four numeric measurements and a ``species``
  target 0..2 in well-separated clusters (iris-like, but made up).
* ``signals.h5``: 16-step signals in 3 classes (slow sine, fast sine, square wave, each
  with random phase, amplitude and noise): ``train/x`` float32 (600, 16), ``train/y``
  int32, ``test/x`` (120, 16), ``test/y``.
"""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
SEED = 20240601


def make_flowers(rng: np.random.Generator, n_per_class: int = 100) -> None:
    # Means per species: sepal length, sepal width, petal length, petal width (cm).
    means = np.array([[5.0, 3.4, 1.5, 0.25], [5.9, 2.8, 4.3, 1.3], [6.6, 3.0, 5.6, 2.0]])
    spread = np.array([0.30, 0.30, 0.25, 0.15])
    rows = []
    for species, mean in enumerate(means):
        values = mean + spread * rng.standard_normal((n_per_class, 4))
        rows += [[*np.round(np.clip(v, 0.1, None), 1), species] for v in values]
    order = rng.permutation(len(rows))
    with open(HERE / "flowers.csv", "w", newline="") as fh:
        out = csv.writer(fh, lineterminator="\n")
        out.writerow(["sepal_length", "sepal_width", "petal_length", "petal_width", "species"])
        for i in order:
            out.writerow([f"{v:.1f}" for v in rows[i][:4]] + [rows[i][4]])


def _signals(rng: np.random.Generator, n: int) -> tuple[np.ndarray, np.ndarray]:
    t = np.arange(16) / 16.0
    y = rng.integers(0, 3, n).astype("int32")
    phase = rng.uniform(0, 2 * np.pi, (n, 1))
    amp = rng.uniform(0.7, 1.3, (n, 1))
    slow = np.sin(2 * np.pi * 1 * t + phase)
    fast = np.sin(2 * np.pi * 3 * t + phase)
    square = np.sign(np.sin(2 * np.pi * 1 * t + phase))
    x = np.choose(y[:, None], [slow, fast, square]) * amp
    x += 0.15 * rng.standard_normal(x.shape)
    return x.astype("float32"), y


def make_signals(rng: np.random.Generator) -> None:
    import h5py

    x, y = _signals(rng, 600)
    xt, yt = _signals(rng, 120)
    with h5py.File(HERE / "signals.h5", "w", track_order=False) as f:
        for group, (a, b) in (("train", (x, y)), ("test", (xt, yt))):
            g = f.create_group(group)
            g.create_dataset("x", data=a)
            g.create_dataset("y", data=b)
        f.attrs["description"] = "3 classes of 16-step signals: slow sine, fast sine, square wave"


if __name__ == "__main__":
    rng = np.random.default_rng(SEED)
    make_flowers(rng)
    make_signals(rng)
    for name in ("flowers.csv", "signals.h5"):
        print(f"{name}: {(HERE / name).stat().st_size} bytes")
