"""The help screen (``?`` or F1): every key of the screen it was opened on, read from the bindings."""

from __future__ import annotations

from typing import Any

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen, Screen
from textual.widgets import Static

from tui.keys import ScreenKey, screen_keys

__all__ = ["HelpScreen", "keys_table"]


def keys_table(keys: list[ScreenKey], title: str) -> Table:
    """The keys as two columns (key, what it does); dim where the key cannot act right now."""
    table = Table(title=title, title_justify="left", title_style="bold", show_header=False, box=None, padding=(0, 1))
    table.add_column(style="bold", no_wrap=True)
    table.add_column()
    for key in keys:
        style = "" if key.enabled else "dim"
        table.add_row(Text(key.keys, style=style), Text(key.description + ("" if key.enabled else " (not now)"), style=style))
    return table


class HelpScreen(ModalScreen[None]):
    """Every key of ``screen``: its own first, then those that work everywhere, then Textual's own (cursor, focus); Escape closes it.

    Args:
        screen: the screen whose keys are listed (the one under this dialog).
        name: what that screen is called, for the title.
    """

    DEFAULT_CSS = """
    HelpScreen { align: center middle; }
    HelpScreen > #help-box {
        width: auto; max-width: 96%; height: auto; max-height: 96%;
        border: round $accent; background: $surface; padding: 0 1;
    }
    HelpScreen Static { width: auto; margin-bottom: 1; }
    """

    BINDINGS = [Binding("escape,question_mark,f1,q", "dismiss", "Close")]
    """Escape, ?, F1 or q close the help."""

    def __init__(self, screen: Screen[Any], name: str) -> None:
        super().__init__()
        self.keys = screen_keys(screen)
        self.screen_name = name

    def compose(self) -> ComposeResult:
        own = [k for k in self.keys if not k.app_wide and not k.general]
        everywhere = [k for k in self.keys if k.app_wide and not k.general]
        moving = [k for k in self.keys if k.general]
        with VerticalScroll(id="help-box") as box:
            box.border_title = "keys"
            box.border_subtitle = "esc closes"
            yield Static(keys_table(own, f"{self.screen_name} screen"), id="help-screen-keys")
            yield Static(keys_table(everywhere, "everywhere"), id="help-app-keys")
            if moving:
                yield Static(keys_table(moving, "moving around"), id="help-general-keys")
            yield Static(
                Text("ctrl+p: every command, by name\nclick a screen's name in the top bar to switch to it", style="dim"),
                id="help-tip",
            )

    def action_dismiss(self) -> None:  # type: ignore[override]
        self.dismiss(None)
