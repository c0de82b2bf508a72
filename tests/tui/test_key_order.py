"""``OrderedKeys`` on a two-field app: keys that arrive in one read are applied in order (issue 11, item 6).

Textual alone (8.x) gives ``'' 'relu'`` for both cases below: ``3 2 t a n h`` reach the
first field before the tab that precedes them has moved the focus, and the ctrl+u binding
runs after the digits typed behind it, deleting them.
"""

from __future__ import annotations

import pytest
from textual import events
from textual.app import App, ComposeResult
from textual.widgets import Input

from tui.key_order import OrderedKeys


class TwoFields(OrderedKeys, App[None]):
    def compose(self) -> ComposeResult:
        yield Input("16", id="a")
        yield Input("relu", id="b")


class TestOrderedKeys:
    """One read of several keys, as a paste or a laggy SSH link delivers them."""

    @pytest.mark.parametrize(
        ("keys", "a", "b"),
        [
            (["ctrl+u", "3", "2", "tab", "t", "a", "n", "h"], "32", "tanh"),
            (["ctrl+u", "4", "8"], "48", "relu"),
            # Back to the first field, which selects its text on focus: backspace clears it.
            (["ctrl+u", "4", "8", "shift+tab", "tab", "backspace", "1"], "1", "relu"),
        ],
    )
    async def test_keys_in_one_read(self, keys: list[str], a: str, b: str) -> None:
        app = TwoFields()
        async with app.run_test() as pilot:
            app.query_one("#a", Input).cursor_position = 2
            await pilot.pause()
            for key in keys:  # no wait between: all are queued before the first is handled
                app.post_message(events.Key(key, key if len(key) == 1 else None))
            for _ in range(200):
                await pilot.pause(0.01)
                if app.query_one("#a", Input).value == a and app.query_one("#b", Input).value == b:
                    break
            assert (app.query_one("#a", Input).value, app.query_one("#b", Input).value) == (a, b)
