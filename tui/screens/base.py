"""``KwbScreen``: the base of the app's four screens (Build, Data, Train, Runs)."""

from __future__ import annotations

from textual import events
from textual.screen import Screen

__all__ = ["KwbScreen"]


class KwbScreen(Screen[None]):
    """A screen that keeps its styles while hidden, so showing it again is cheap.

    Textual restyles every widget of a screen each time it is shown again
    (``ScreenResume.refresh_styles``), which was two thirds of the cost of switching
    screens (~20 of ~28 ms of CPU here, more with training on both cores). Nothing
    restyles these screens while they are hidden: classes and inline styles set on
    their widgets apply at once, and a CSS change (``App.refresh_css``) restyles every
    screen itself. So the resume skips it.
    """

    def on_screen_resume(self, event: events.ScreenResume) -> None:
        event.refresh_styles = False
