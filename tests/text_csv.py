"""A tiny CSV with a text feature column (``city``) and a word label, for the tests of every verb that
reads one: the in-model ``StringLookup`` path, where the text reaches Keras as string tensors."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from engine.config_io import load_config


def homes_config(tmp_path: Path):
    """A tiny CSV config with a text feature column (city) and a word label: the in-model StringLookup path."""
    rng = np.random.default_rng(0)
    rows = [f"{a:.2f},{['lille', 'nantes', 'paris'][i % 3]},{'big' if a > 0 else 'small'}"
            for i, a in enumerate(rng.normal(size=240))]  # fmt: skip
    (tmp_path / "homes.csv").write_text("size,city,kind\n" + "\n".join(rows) + "\n")
    (tmp_path / "homes.yaml").write_text(
        "name: homes\nseed: 1\ndata: {source: csv, path: homes.csv, target: kind, scale: standard, test_split: 0.25}\n"
        "model: {layers: [{Dense: {units: 8, activation: relu}}, {Dense: {units: 2, activation: softmax}}]}\n"
        "compile: {optimizer: {name: adam, learning_rate: 0.01}, loss: sparse_categorical_crossentropy, metrics: [accuracy]}\n"
        "fit: {epochs: 1, batch_size: 16}\n"
    )
    return load_config(tmp_path / "homes.yaml")
