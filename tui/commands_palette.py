"""The command palette's commands (``ctrl+p``): every key of the current screen, run by name.

Built from the bindings (``tui.keys.screen_keys``), so every action the keys reach is
in the palette under the key's description, with the key as its help text; the app
adds them to Textual's own (theme, screenshot …) in ``KwbApp.get_system_commands``.
"""

from __future__ import annotations

from functools import partial
from typing import Any, Iterable

from textual.app import SystemCommand
from textual.screen import Screen

from tui.keys import screen_keys

__all__ = ["binding_commands"]


def binding_commands(screen: Screen[Any]) -> Iterable[SystemCommand]:
    """One palette command per key ``screen`` answers now (keys that cannot act now are left out)."""
    app = screen.app
    for key in screen_keys(screen):
        if not key.enabled or key.action in ("command_palette", "help"):
            continue
        where = "" if key.app_wide else " (this screen)"
        yield SystemCommand(
            key.description,
            f"key: {key.keys}{where}",
            partial(app.run_action, key.action, key.namespace),
        )
