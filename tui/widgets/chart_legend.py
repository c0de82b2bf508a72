"""A chart's legend on its border: each series' name in its line colour, its latest and best value, fitted to the room.

Pure functions (Rich and Textual markup only), so the fitting is testable without an app.
A legend that does not fit is shortened in steps, for every entry alike: first the best
values go, then the latest values, then labels of several words (a run named by its
settings: ``lr=0.01 units=64``) keep their first words with ``…`` as long as they stay
distinct, then whole entries at the end give way to ``+N``. A name is never cut in the middle.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

from textual.markup import escape

__all__ = ["LegendEntry", "fit_legend", "format_value"]

DETAILS = (2, 1, 0)
"""How much each entry shows, most first: name, latest and best; name and latest; the name alone."""
SEP = "  "
"""Between two entries."""


def format_value(value: float) -> str:
    """A legend's number, short: 4 significant digits (``0.01811``, ``0.9375``), small ones as ``5.44e-4``."""
    if value != 0 and abs(value) < 1e-3:
        mantissa, exponent = f"{value:.2e}".split("e")
        return f"{mantissa}e{int(exponent)}"
    return f"{value:.4g}"


@dataclass(frozen=True)
class LegendEntry:
    """One series in the legend: its name, line colour (a Rich colour name: ``bright_blue``), latest and best value."""

    label: str
    color: str
    latest: float | None = None
    best: float | None = None

    def text(self, detail: int) -> tuple[str, str]:
        """(plain text, markup) at ``detail`` (see ``DETAILS``): the line and name coloured, the values plain."""
        plain = f"━ {self.label}"
        markup = f"[ansi_{self.color}]━ {escape(self.label)}[/]"  # Textual's name for the ANSI colour
        if detail >= 1 and self.latest is not None:
            plain += f" {format_value(self.latest)}"
            markup += f" {format_value(self.latest)}"
        if detail >= 2 and self.best is not None:
            plain += f" best {format_value(self.best)}"
            markup += f" best {format_value(self.best)}"
        return plain, markup


def _first_words(label: str, words: int) -> str:
    """``label``'s first ``words`` words, with ``…`` if any were left out."""
    parts = label.split()
    return label if len(parts) <= words else " ".join(parts[:words]) + "…"


def _pack(texts: Sequence[tuple[str, str]], rooms: Sequence[int]) -> list[list[str]] | None:
    """``texts`` in order into lines of ``rooms`` cells each (markup kept), or None when they do not all fit."""
    lines: list[list[str]] = [[] for _ in rooms]
    line, used = 0, 0
    for plain, markup in texts:
        need = len(plain) + (len(SEP) if used else 0)
        while line < len(rooms) and used + need > rooms[line]:
            line, used = line + 1, 0
            need = len(plain)
        if line == len(rooms):
            return None
        lines[line].append(markup)
        used += need
    return lines


def fit_legend(entries: Sequence[LegendEntry], rooms: Sequence[int], least_detail: int = 0) -> list[str] | None:
    """The legend as one markup string per line, each at most ``rooms[i]`` cells wide.

    The most detailed form in which every entry fits wins; if even the names alone do not
    fit, the entries that fit are shown and ``+N`` counts the rest.

    Args:
        entries: the series, in order.
        rooms: the cells each line has.
        least_detail: the least detail acceptable (``DETAILS``); None when the legend does not
            fit at that detail. Defaults to 0: it always fits, with ``+N`` if need be.
    """
    if not entries:
        return ["" for _ in rooms]
    for detail in DETAILS:
        if detail < least_detail:
            return None
        packed = _pack([e.text(detail) for e in entries], rooms)
        if packed is not None:
            return [SEP.join(line) for line in packed]
    longest = max(len(e.label.split()) for e in entries)
    for words in range(longest - 1, 0, -1):
        short = [replace(e, label=_first_words(e.label, words)) for e in entries]
        if len({e.label for e in short}) == len(short):
            packed = _pack([e.text(0) for e in short], rooms)
            if packed is not None:
                return [SEP.join(line) for line in packed]
    for shown in range(len(entries) - 1, -1, -1):
        more = f"+{len(entries) - shown}"
        texts = [e.text(0) for e in entries[:shown]] + [(more, more)]
        packed = _pack(texts, rooms)
        if packed is not None:
            return [SEP.join(line) for line in packed]
    return ["" for _ in rooms]
