"""The key footer: the current screen's keys that fit on one line, most important first, help and quit always.

Textual's ``Footer`` lists every shown binding and lets the line run off the edge (at
80×24 the Build screen's keys ended in "l LR dr"). ``KeyFooter`` picks what fits:

1. Escape first when it does something here (leave a field, go back), so the way back
   is always on screen;
2. then the focused widget's and the screen's keys, in the order they are declared
   (``app_first``: the app's run keys before them, for the Train screen);
3. then the app's keys (run keys only while there is a run to steer);
4. ``? Help`` and ``^q Quit`` always, at the end: help lists every key, including the
   ones left out here.

Keys that are disabled right now (``check_action`` answered None) are left to the help
screen. It is rebuilt only when what it would show changes (bindings, run, width).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, NamedTuple, cast

from textual.binding import Binding
from textual.screen import Screen
from textual.widgets import Footer
from textual.widgets._footer import FooterKey

if TYPE_CHECKING:
    from textual.app import ComposeResult

    from tui.app import KwbApp

__all__ = ["KeyFooter", "FooterEntry", "footer_entries"]

PINNED = ("help", "quit")
"""Actions shown at the end of every footer, whatever else is left out."""


class FooterEntry(NamedTuple):
    """One key in the footer."""

    binding: Binding
    key_display: str
    tooltip: str

    @property
    def width(self) -> int:
        """Cells it takes in a compact footer: key, space, description, a space after."""
        return len(self.key_display) + 1 + len(self.binding.description) + 1


def footer_entries(screen: Screen[Any], width: int, app_first: bool = False) -> list[FooterEntry]:
    """The keys a footer ``width`` cells wide shows on ``screen``, in order."""
    app = cast("KwbApp", screen.app)
    first: list[FooterEntry] = []
    own: list[FooterEntry] = []
    app_keys: list[FooterEntry] = []
    pinned: dict[str, FooterEntry] = {}
    actions: set[str] = set()
    for namespace, binding, enabled, tooltip in screen.active_bindings.values():
        if not binding.show or not enabled or binding.action in actions:
            continue
        if not app.footer_shows(binding.action):
            continue
        actions.add(binding.action)
        entry = FooterEntry(binding, app.get_key_display(binding), tooltip or binding.description)
        if binding.action in PINNED:
            pinned[binding.action] = entry
        elif binding.key == "escape":
            first.append(entry)
        elif namespace is app:
            app_keys.append(entry)
        else:
            own.append(entry)
    middle = app_keys + own if app_first else own + app_keys
    end = [pinned[a] for a in PINNED if a in pinned]
    room = width - sum(e.width for e in first + end)
    chosen = []
    for entry in middle:
        if entry.width <= room:
            chosen.append(entry)
            room -= entry.width
    return first + chosen + end


class KeyFooter(Footer):
    """A compact ``Footer`` that shows what fits (see the module docstring), rebuilt only when that changes.

    Args:
        app_first: list the app's keys (the run controls) before the screen's own.
            Defaults to False.
    """

    def __init__(self, *, app_first: bool = False, id: str | None = None) -> None:
        super().__init__(id=id, compact=True, show_command_palette=False)
        self.app_first = app_first
        self._shown: tuple[object, ...] | None = None

    def _entries(self) -> list[FooterEntry]:
        return footer_entries(self.screen, self.size.width or self.app.size.width, self.app_first)

    def compose(self) -> ComposeResult:
        if not self._bindings_ready:
            return
        for entry in self._entries():
            binding = entry.binding
            yield FooterKey(binding.key, entry.key_display, binding.description, binding.action, tooltip=entry.tooltip).data_bind(
                compact=Footer.compact
            )

    def _key(self) -> tuple[object, ...]:
        return tuple((e.binding.key, e.binding.action, e.binding.description) for e in self._entries())

    def bindings_changed(self, screen: Screen[Any]) -> None:
        # Textual re-announces bindings on every focus move and screen switch, and
        # ``Footer`` answers by rebuilding every key: only an actual change rebuilds here.
        if screen.app.app_focus and self.is_attached and screen is self.screen:
            shown = self._key()
            if shown == self._shown:
                return
            self._shown = shown
        super().bindings_changed(screen)

    def on_resize(self) -> None:
        self.bindings_changed(self.screen)
