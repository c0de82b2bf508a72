"""Training settings form (placeholder)."""

from __future__ import annotations

from textual.widgets import Static


class TrainSettings(Static):
    def focus_first(self) -> None:
        pass
