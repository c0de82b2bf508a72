"""Getting around the app: Escape goes back, the footer and help list the keys, the palette and the top bar switch screens, run keys answer with no run."""

from __future__ import annotations

from pathlib import Path

import pytest
from textual.message import Message
from textual.notifications import Notify

from tui.factory import make_app

SAMPLE = Path(__file__).parents[2] / "sample_configs" / "spirals.yaml"
SMALL = (80, 24)


class Notes(list):
    """The notifications an app posted, as ``title: message``: pass ``run_test(message_hook=notes.hook)``."""

    def hook(self, message: Message) -> None:
        if isinstance(message, Notify):
            self.append(f"{message.notification.title}: {message.notification.message}")


def _app(runs_dir: Path | None = None, mode: str = "build"):
    return make_app(SAMPLE, warm_up=False, cursor_blink=False, start_mode=mode, runs_dir=runs_dir)


class TestRunKeysWithoutARun:
    """s, p, L, l and c with no run say so instead of doing nothing."""

    @pytest.mark.parametrize("mode", ["train", "build"])
    async def test_each_run_key_says_no_run_in_progress(self, mode: str) -> None:
        notes = Notes()
        app = _app(mode=mode)
        async with app.run_test(size=SMALL, message_hook=notes.hook) as pilot:
            for key in ("s", "p", "L", "l", "c"):
                notes.clear()
                await pilot.press(key)
                await pilot.pause()
                assert any("no run in progress" in n for n in notes), (key, notes)
            assert len(app.screen_stack) == 1  # L opened no dialog
