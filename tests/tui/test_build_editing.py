"""Build screen editing (issue 11): keys that arrive together, enter and the input-shape
dialog, any Keras layer by name, loading a model file, one row numbering."""

from __future__ import annotations

from typing import Any

from textual import events
from textual.widgets import Input

from tui.factory import make_app

SIZE = (100, 30)


def layers(app: Any) -> list[dict[str, Any]]:
    return app.workspace.raw["model"]["layers"]


def send_together(app: Any, *keys: str) -> None:
    """Post ``keys`` at once, as the terminal driver does for one read of several keys (a
    paste, a laggy SSH link); ``pilot.press`` instead waits for the app between keys."""
    for key in keys:
        app.post_message(events.Key(key, key if len(key) == 1 else None))


class TestKeysInOneWrite:
    """Keys that arrive together are applied in the order they arrived (item 6)."""

    async def test_value_tab_value_in_one_write(self, tiny_config, wait_for) -> None:
        app = make_app(tiny_config(), warm_up=False, cursor_blink=False)
        async with app.run_test(size=SIZE) as pilot:
            await pilot.pause()
            send_together(app, "e", "ctrl+u", "3", "2", "tab", "t", "a", "n", "h", "enter")
            await wait_for(pilot, lambda: layers(app)[0] != {"Dense": {"units": 16, "activation": "relu"}},
                           timeout=10, what="the edit")
            assert layers(app)[0] == {"Dense": {"units": 32, "activation": "tanh"}}
            assert app.screen.__class__.__name__ == "BuildScreen"

    async def test_clear_then_type_in_one_write(self, tiny_config, wait_for) -> None:
        app = make_app(tiny_config(), warm_up=False, cursor_blink=False)
        async with app.run_test(size=SIZE) as pilot:
            await pilot.press("e")
            field = app.screen.query_one("#arg-units", Input)
            send_together(app, "end", "ctrl+u", "4", "8")
            await wait_for(pilot, lambda: field.value != "16", timeout=10, what="the typing")
            await pilot.pause(0.2)
            assert field.value == "48"

    async def test_pressed_without_pause(self, tiny_config) -> None:
        app = make_app(tiny_config(), warm_up=False, cursor_blink=False)
        async with app.run_test(size=SIZE) as pilot:
            await pilot.press("e", "3", "2", "tab", "t", "a", "n", "h", "enter")
            await pilot.pause()
            assert layers(app)[0] == {"Dense": {"units": 32, "activation": "tanh"}}
