"""``KwbScreen``: the base of the app's four screens (Build, Data, Train, Runs), and the way back (Escape)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Callable, cast

from textual import events
from textual.binding import Binding
from textual.screen import Screen

if TYPE_CHECKING:
    from tui.navigation import Navigation  # the app's screen history (KwbApp mixes it in)

__all__ = ["KwbScreen", "FIELDS", "is_field"]

FIELDS = frozenset({"Input", "TextArea", "Select", "Checkbox", "Switch", "RadioSet", "RadioButton", "SelectionList"})
"""Textual widgets that take typing or a choice: Escape leaves them (focus goes back to the screen, whose keys then work).
Named, not imported: importing TextArea costs the first frame its document machinery."""


def is_field(widget: object) -> bool:
    """True for a widget that is (or subclasses) one of Textual's ``FIELDS``."""
    return any(c.__name__ in FIELDS and c.__module__.startswith("textual.widgets") for c in type(widget).__mro__)


class KwbScreen(Screen[None]):
    """A screen with a way back, that keeps its styles while hidden so showing it again is cheap.

    Escape goes back, one step at a time: out of a field being edited, then out of
    whatever the screen shows over its first state (``back_within``: the Runs overlay
    to the run table, the training settings to the dashboard), then to the screen shown
    before (``Navigation.go_back``). The footer shows Escape only when it does something.

    Textual restyles every widget of a screen each time it is shown again
    (``ScreenResume.refresh_styles``), which was two thirds of the cost of switching
    screens (~20 of ~28 ms of CPU here, more with training on both cores). Nothing
    restyles these screens while they are hidden: classes and inline styles set on
    their widgets apply at once, and a CSS change (``App.refresh_css``) restyles every
    screen itself. So the resume skips it.
    """

    BINDINGS = [
        Binding("escape", "leave_field", "Leave field"),
        Binding("escape", "back", "Back"),
    ]
    """Escape: out of a field, else back (within the screen, then to the previous screen)."""

    def on_screen_resume(self, event: events.ScreenResume) -> None:
        event.refresh_styles = False

    def back_within(self) -> Callable[[], None] | None:
        """What takes this screen back to its first state, or None when it is there. Screens with inner states override it."""
        return None

    def back_to_start(self) -> None:
        """Go back within this screen until it shows its first state (its key pressed again)."""
        for _ in range(10):  # a few steps at most, whatever a screen's back_within does
            step = self.back_within()
            if step is None:
                return
            step()

    def action_leave_field(self) -> None:
        self.set_focus(None)

    def action_back(self) -> None:
        step = self.back_within()
        if step is not None:
            step()
        else:
            cast("Navigation", self.app).go_back()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        # False hides the binding (footer and help) where it would do nothing.
        if action == "leave_field":
            return self.focused is not None and is_field(self.focused)
        if action == "back":
            return self.back_within() is not None or cast("Navigation", self.app).can_go_back
        return True
