"""The app's four screens (one per module), and ``MODES``: the factories that import each on first use."""

from __future__ import annotations

import importlib
from typing import Callable

from textual.screen import Screen

__all__ = ["MODES"]


def _screen(module: str, name: str) -> Callable[[], Screen]:
    def make() -> Screen:
        return getattr(importlib.import_module(module), name)()

    return make


MODES: dict[str, Callable[[], Screen]] = {
    "build": _screen("tui.screens.build", "BuildScreen"),
    "data": _screen("tui.screens.data", "DataScreen"),
    "train": _screen("tui.screens.train", "TrainScreen"),
    "runs": _screen("tui.screens.runs", "RunsScreen"),
}
"""Mode name -> a factory that imports the screen's module on first use: only the first
screen's imports stand between launch and the first frame."""
