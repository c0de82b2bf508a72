"""Getting around the app: Escape goes back, the footer and help list the keys, the palette and the top bar switch screens, run keys answer with no run."""

from __future__ import annotations

from pathlib import Path

import pytest
from textual import events
from textual.message import Message
from textual.notifications import Notify
from textual.widgets import ContentSwitcher, Input
from textual.widgets._footer import FooterKey

from tui.factory import make_app
from tui.screens.base import is_field

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
            notes.clear()
            await at_once(pilot, "s", "p", "L", "l", "c")  # several keys in one write
            await pilot.pause()
            assert sum("no run in progress" in n for n in notes) == 5, notes


def footer(app) -> list[str]:
    """The keys the footer draws, as ``key description``."""
    return [f"{k.key_display} {k.description}" for k in app.screen.query(FooterKey)]


def footer_width(app) -> int:
    return sum(k.outer_size.width for k in app.screen.query(FooterKey))


async def at_once(pilot, *keys: str) -> None:
    """Send ``keys`` as one write from the terminal does (a paste, a laggy link): all queued before any is handled."""
    for key in keys:
        pilot.app.post_message(events.Key(key, key if len(key) == 1 else None))
    await pilot.pause()
    await pilot.pause()


class TestEscapeGoesBack:
    """Escape leaves a field, then the screen's inner view, then goes to the previous screen; the footer shows it."""

    async def test_runs_overlay_and_run_go_back_to_the_table(self, fixture_runs: Path) -> None:
        app = _app(runs_dir=fixture_runs, mode="runs")
        async with app.run_test(size=SMALL) as pilot:
            await app.workers.wait_for_complete()
            await pilot.pause()
            switcher = app.screen.query_one("#runs-switcher", ContentSwitcher)
            assert "esc Back" not in footer(app)  # nothing to go back to yet
            await pilot.press("space", "down", "space", "v")
            assert switcher.current == "overlay"
            await pilot.pause()
            assert footer(app)[0] == "esc Back"  # the way back, first
            await pilot.press("escape")
            assert switcher.current == "run-table"
            await pilot.press("v")
            assert switcher.current == "overlay"
            await pilot.press("v")  # v again: back to the table
            assert switcher.current == "run-table"
            await pilot.press("v", "4")  # the screen's key again: its first state
            assert switcher.current == "run-table"
            await pilot.press("enter")
            assert switcher.current == "run-dashboard"
            await at_once(pilot, "escape", "v", "escape")  # several keys in one write
            assert switcher.current == "run-table"

    async def test_escape_leaves_a_settings_field_then_the_settings_then_the_screen(self) -> None:
        app = _app(mode="build")
        async with app.run_test(size=SMALL) as pilot:
            await pilot.press("3", "o")
            await pilot.pause()
            assert is_field(app.focused)
            assert footer(app)[0] == "esc Leave field"  # not just "^q Quit"
            await pilot.press("escape")
            assert not is_field(app.focused)
            await pilot.pause()
            assert footer(app)[0] == "esc Back" and "o Settings" in footer(app)
            await pilot.press("escape")
            assert app.screen.query_one(ContentSwitcher).current == "dashboard"
            await pilot.press("escape")
            assert app.current_mode == "build"
            await pilot.press("4", "2")
            await at_once(pilot, "escape", "escape")  # data: leave its field, then back to runs
            assert app.current_mode == "runs"

    async def test_typed_escape_in_one_write_with_text_leaves_the_field_after_the_text(self) -> None:
        app = _app(mode="train")
        async with app.run_test(size=SMALL) as pilot:
            await pilot.press("o")
            await pilot.pause()
            field = app.screen.query_one("#f-fit-epochs", Input)
            while app.focused is not field:
                await pilot.press("tab")
            await at_once(pilot, "5", "escape", "o")
            assert field.value.endswith("5") and "o" not in field.value
            assert app.screen.query_one(ContentSwitcher).current == "dashboard"  # o after leaving the field is a key again


class TestFooter:
    """The footer fits at 80 columns, most important keys first, help and quit always."""

    @pytest.mark.parametrize("key", ["1", "2", "3", "4"])
    async def test_footer_fits_at_80_columns(self, key: str, fixture_runs: Path) -> None:
        app = _app(runs_dir=fixture_runs)
        async with app.run_test(size=SMALL) as pilot:
            await pilot.press(key)
            await pilot.pause()
            keys = footer(app)
            assert footer_width(app) <= SMALL[0], keys
            assert keys[-2:] == ["? Help", "^q Quit"]
            assert len(keys) >= 4

    async def test_run_keys_show_while_a_run_is_live(self, tiny_config, wait_for) -> None:
        import sys

        sys.path.insert(0, str(Path(__file__).parent))
        from test_dashboard_timing import PacedEngine, started

        engine = PacedEngine()
        app = make_app(tiny_config(), engine=engine, warm_up=False, start_mode="train")
        async with app.run_test(size=SMALL) as pilot:
            assert "s Stop" not in footer(app) and "t Start" in footer(app)
            await pilot.press("t")
            try:
                engine.send(started())
                await wait_for(pilot, lambda: app.dash.status == "running", timeout=10)
                await wait_for(pilot, lambda: "s Stop" in footer(app), timeout=5, what="the run keys in the footer")
                keys = footer(app)
                assert keys[:3] == ["s Stop", "l LR drop", "L Set LR"] and "t Start" not in keys
                assert footer_width(app) <= SMALL[0]
            finally:
                engine.finish()


class TestHelpAndPalette:
    """? and F1 list every key of the screen from its bindings; ctrl+p runs any action by name; the top bar is clickable."""

    @pytest.mark.parametrize("key", ["question_mark", "f1"])
    async def test_help_lists_every_key_of_the_screen(self, key: str) -> None:
        from tui.app import KwbApp
        from tui.screens.build import BuildScreen
        from tui.screens.help import HelpScreen

        app = _app(mode="build")
        async with app.run_test(size=(120, 60)) as pilot:
            await pilot.press(key)
            await pilot.pause()
            help_screen = app.screen
            assert isinstance(help_screen, HelpScreen)
            listed = {k.description for k in help_screen.keys}
            for binding in [*BuildScreen.BINDINGS, *KwbApp.BINDINGS]:
                if binding.action not in ("leave_field", "back"):  # only where they act
                    assert binding.description in listed, binding
            text = app.export_screenshot()
            assert "Open&#160;model&#160;file" in text and "Train&#160;detached" in text  # shown, not only known
            await pilot.press("escape")
            assert not isinstance(app.screen, HelpScreen)

    async def test_palette_runs_an_action_by_name(self) -> None:
        app = _app(mode="build")
        async with app.run_test(size=SMALL) as pilot:
            await pilot.press("ctrl+p")
            await pilot.pause()
            await pilot.press(*"runs")
            await pilot.pause(0.5)
            await pilot.press("enter")
            await pilot.pause()
            assert app.current_mode == "runs"

    async def test_clicking_a_screen_name_in_the_top_bar_switches(self) -> None:
        from tui.widgets.nav import NavBar

        app = _app(mode="build")
        async with app.run_test(size=SMALL) as pilot:
            await pilot.click(NavBar, offset=(len(" 1 Build  2 Data  3 Train ") + 2, 0))
            await pilot.pause()
            assert app.current_mode == "runs"
            await pilot.click(NavBar, offset=(len(" 1 Build ") + 2, 0))
            await pilot.pause()
            assert app.current_mode == "data"
