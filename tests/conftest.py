"""Shared fixtures: where the sample configs live, tiny run configs, and a quiet TensorFlow.

Engine and CLI tests train real Keras models on tiny synthetic data; these fixtures
keep every run small (a few hundred samples, two epochs) and every file under
``tmp_path``, so nothing is written into the repository.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Callable

import pytest

# Before anything imports TensorFlow: keep its C++ start-up chatter out of the test output.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

ROOT = Path(__file__).resolve().parents[1]

TINY = (
    "data.samples=200",
    "fit.epochs=2",
    "fit.batch_size=32",
    "callbacks.early_stopping=null",
    "callbacks.reduce_lr_on_plateau=null",
)
"""Overrides that make the spirals sample train in about a second."""


@pytest.fixture(scope="session")
def repo_root() -> Path:
    return ROOT


@pytest.fixture(scope="session")
def samples_dir() -> Path:
    return ROOT / "sample_configs"


@pytest.fixture(scope="session")
def tiny_overrides() -> tuple[str, ...]:
    return TINY


@pytest.fixture
def write_config(tmp_path: Path) -> Callable[..., Path]:
    """Write a config (a mapping or YAML text) to ``tmp_path/<name>`` and return its path."""
    import yaml

    def write(content: dict[str, Any] | str, name: str = "config.yaml") -> Path:
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        text = content if isinstance(content, str) else yaml.safe_dump(content, sort_keys=False)
        path.write_text(text)
        return path

    return write


@pytest.fixture
def tiny_config(samples_dir: Path) -> Callable[..., Any]:
    """``tiny_config(*overrides)``: the spirals sample, shrunk by ``TINY``, plus ``overrides``."""
    from engine.config_io import load_config

    def load(*overrides: str, name: str = "spirals.yaml") -> Any:
        return load_config(samples_dir / name, [*TINY, *overrides])

    return load
