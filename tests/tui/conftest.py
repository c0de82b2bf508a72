"""Shared fixtures for the app's tests: a tiny config, a temporary runs folder and cache."""

from __future__ import annotations

from pathlib import Path

import pytest

FIXTURES = Path(__file__).parent / "fixtures"
RUNS = FIXTURES / "runs"

TINY = """\
name: tiny
seed: 1
data: {source: synthetic, name: spirals, samples: 6000, noise: 0.2, validation_split: 0.2}
model:
  input_shape: [2]
  layers:
    - Dense: {units: 16, activation: relu}
    - Dense: {units: 2, activation: softmax}
compile: {optimizer: {name: adam, learning_rate: 0.01}, loss: sparse_categorical_crossentropy, metrics: [accuracy]}
fit: {epochs: %(epochs)d, batch_size: 8}
callbacks: {model_checkpoint: null, backup_and_restore: false}
"""


@pytest.fixture(autouse=True)
def _cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # Never touch the real ~/.cache/kwb (the remembered config).
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))


@pytest.fixture
def tiny_config(tmp_path: Path):
    """``tiny_config(epochs=40, extra="")`` writes a tiny runnable config and returns its path."""

    def write(epochs: int = 40, extra: str = "") -> Path:
        path = tmp_path / "tiny.yaml"
        path.write_text(TINY % {"epochs": epochs} + extra, encoding="utf-8")
        return path

    return write


@pytest.fixture
def controls_events() -> Path:
    """A recorded run: lr drop, checkpoint, pause, resume, then stop."""
    return next(RUNS.glob("*-controls")) / "events.jsonl"


@pytest.fixture
def fixture_runs() -> Path:
    return RUNS
