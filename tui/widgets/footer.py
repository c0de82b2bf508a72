"""The key footer: Textual's ``Footer``, rebuilt only when the keys it shows change."""

from __future__ import annotations

from typing import Any

from textual.screen import Screen
from textual.widgets import Footer

__all__ = ["KeyFooter"]


def _shown_keys(screen: Screen[Any]) -> tuple[tuple[object, ...], ...]:
    """What the footer draws from ``screen``'s active bindings (key, label, enabled …)."""
    return tuple(
        (
            binding.key,
            binding.action,
            binding.description,
            binding.show,
            id(binding.group),
            enabled,
            tooltip,
        )
        for _node, binding, enabled, tooltip in screen.active_bindings.values()
    )


class KeyFooter(Footer):
    """A ``Footer`` that skips the rebuild when the bindings it shows are unchanged.

    Textual re-announces a screen's bindings each time the screen is shown or focus
    moves, and ``Footer`` answers by recomposing every key, restyling each one: about a
    third of the cost of switching screens here. Only an actual change now rebuilds it.
    """

    _shown: tuple[tuple[object, ...], ...] | None = None

    def bindings_changed(self, screen: Screen[Any]) -> None:
        if screen.app.app_focus and self.is_attached and screen is self.screen:
            shown = _shown_keys(screen)
            if shown == self._shown:
                return
            self._shown = shown
        super().bindings_changed(screen)
