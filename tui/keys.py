"""The keys of a screen, read from its bindings: what the help screen lists and the command palette offers."""

from __future__ import annotations

from typing import Any, NamedTuple

from textual.binding import Binding
from textual.dom import DOMNode
from textual.screen import Screen

__all__ = ["ScreenKey", "screen_keys"]


class ScreenKey(NamedTuple):
    """One key of a screen: where its action runs, and whether it can run now."""

    keys: str
    """The key as shown (``?``, ``^s``), several joined by ``/`` (``e/enter``)."""
    description: str
    action: str
    namespace: DOMNode
    """The node the action runs on (a widget, the screen or the app)."""
    enabled: bool
    """False while ``check_action`` says it cannot run (the help screen dims it)."""
    app_wide: bool
    """Bound on the app: works on every screen."""
    general: bool
    """Declared by Textual itself (cursor keys, focus, copy), not by this app."""


def _from_textual(namespace: DOMNode, key: str, action: str) -> bool:
    """True when the class that declares this binding on ``namespace`` is one of Textual's own."""
    for cls in type(namespace).__mro__:
        for binding in cls.__dict__.get("BINDINGS", ()):
            if isinstance(binding, Binding) and binding.action == action and key in binding.key.split(","):
                return cls.__module__.startswith("textual.")
            if isinstance(binding, tuple) and len(binding) > 1 and binding[1] == action:
                return cls.__module__.startswith("textual.")
    return False


def screen_keys(screen: Screen[Any]) -> list[ScreenKey]:
    """Every key ``screen`` answers now: its focused widget's, its own, then the app's, one entry per action.

    From the bindings themselves (``Screen.active_bindings``), so nothing is listed by
    hand: a key added to a ``BINDINGS`` list shows up here.
    """
    app = screen.app
    by_action: dict[tuple[int, str], ScreenKey] = {}
    for namespace, binding, enabled, _tooltip in screen.active_bindings.values():
        display = app.get_key_display(binding)
        slot = (id(namespace), binding.action)
        if slot in by_action:
            known = by_action[slot]
            if display not in known.keys.split("/"):
                by_action[slot] = known._replace(keys=f"{known.keys}/{display}")
            continue
        description = binding.description or binding.action.replace("_", " ")
        general = _from_textual(namespace, binding.key, binding.action)
        by_action[slot] = ScreenKey(display, description, binding.action, namespace, enabled, namespace is app, general)
    return list(by_action.values())
