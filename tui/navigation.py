"""Getting around the app: screen history (Escape goes back), the help screen and the command palette.

``Navigation`` is an App mixin (``KwbApp``): it remembers the screens shown before the
current one, so that Escape on a screen with nothing of its own to go back from returns
to the previous screen (``tui.screens.base.KwbScreen.action_back``); ``?``/F1 open the
help screen on the current screen's keys; the command palette (``ctrl+p``) offers every
key's action by name (``tui.commands_palette``) next to Textual's own commands.
"""

from __future__ import annotations

from typing import Any, Iterable

from textual.app import App, SystemCommand
from textual.await_complete import AwaitComplete
from textual.screen import Screen

from tui.screens import MODES

__all__ = ["Navigation", "HISTORY_CAP"]

HISTORY_CAP = 20
"""Most screens remembered for Escape."""

_TEXTUAL_DUPLICATES = ("Keys", "Quit")
"""Textual's own commands that the app's keys already offer (its key panel: the help screen; quit: ``ctrl+q``, which asks first)."""


class Navigation(App[None]):
    """Screen history for Escape, the help screen and the palette's commands (mixed into ``KwbApp``)."""

    _mode_history: tuple[str, ...] = ()
    _going_back = False

    def switch_mode(self, mode: str) -> AwaitComplete:
        """Switch screens, remembering the one left (Escape goes back to it)."""
        current = self.current_mode
        if mode != current and current in MODES and not self._going_back:
            self._mode_history = (self._mode_history + (current,))[-HISTORY_CAP:]
        return super().switch_mode(mode)

    @property
    def can_go_back(self) -> bool:
        """True when there is a screen to go back to."""
        return any(mode != self.current_mode for mode in self._mode_history)

    def go_back(self) -> None:
        """Show the screen shown before this one (what Escape does once a screen has nothing of its own to go back from)."""
        history = list(self._mode_history)
        while history and history[-1] == self.current_mode:
            history.pop()
        if not history:
            return
        mode = history.pop()
        self._mode_history = tuple(history)
        self._going_back = True
        try:
            self.action_screen(mode)
        finally:
            self._going_back = False

    def action_screen(self, name: str) -> None:
        """Show the screen ``name`` (``KwbApp`` shows one seen before at once)."""
        self.switch_mode(name)

    def action_help(self) -> None:
        """Open the help screen on the current screen's keys."""
        from tui.screens.help import HelpScreen

        if isinstance(self.screen, HelpScreen):
            return
        self.push_screen(HelpScreen(self.screen, self.current_mode.capitalize() if self.current_mode in MODES else "This"))

    def get_system_commands(self, screen: Screen[Any]) -> Iterable[SystemCommand]:
        """The palette: every key of ``screen`` by its description, then Textual's own commands."""
        from tui.commands_palette import binding_commands

        yield from binding_commands(screen)
        for command in super().get_system_commands(screen):
            if command.title not in _TEXTUAL_DUPLICATES:
                yield command
