"""Data screen (placeholder)."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.screen import Screen
from textual.widgets import Footer, Static

from tui.widgets.nav import NavBar

__all__ = ["DataScreen"]


class DataScreen(Screen[None]):
    def compose(self) -> ComposeResult:
        yield NavBar()
        yield Static("data")
        yield Footer()

    def on_mount(self) -> None:
        self.query_one(NavBar).current = "data"
