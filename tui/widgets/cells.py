"""Which cells of a widget changed between two drawings, as regions to repaint.

Textual repaints a whole widget when asked to refresh without regions; handed regions,
it sends only the rows they touch (each from the widget's left edge to the region's
right end). A dashboard that changes a few digits and the tip of a curve then costs a
few hundred bytes a second, not a screenful -- what matters on a slow SSH link.
Lines are Rich ``Text`` of single-width cells (ASCII, box drawing, braille), one per row.
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence

from rich.style import Style
from rich.text import Text
from textual.geometry import Region

__all__ = ["RepaintBudget", "changed_regions", "changed_runs", "sent_cells"]

MERGE_GAP = 8
"""Unchanged cells between two changed runs below which they are sent as one (a cursor move plus a style costs about this much)."""


def _cells(line: Text) -> list[tuple[str, str | Style | None]]:
    """Each character of ``line`` with the styles that apply to it."""
    plain = line.plain
    styles: list[list[str | Style]] = [[] for _ in plain]
    for span in line.spans:
        for i in range(max(0, span.start), min(len(plain), span.end)):
            styles[i].append(span.style)
    base = line.style or None
    return [(ch, (base, *st) if st else base) for ch, st in zip(plain, styles)]  # type: ignore[misc]


def changed_runs(old: Text, new: Text, gap: int = MERGE_GAP) -> list[tuple[int, int]]:
    """``[start, end)`` column ranges where ``new`` differs from ``old``; runs closer than ``gap`` are merged."""
    if old == new:
        return []
    a, b = _cells(old), _cells(new)
    n = max(len(a), len(b))
    runs: list[tuple[int, int]] = []
    start = None
    for i in range(n + 1):
        differs = i < n and (a[i] if i < len(a) else None) != (
            b[i] if i < len(b) else None
        )
        if differs and start is None:
            start = i
        elif not differs and start is not None:
            if runs and start - runs[-1][1] < gap:
                runs[-1] = (runs[-1][0], i)
            else:
                runs.append((start, i))
            start = None
    return runs


def changed_regions(
    old: Sequence[Text], new: Sequence[Text], width: int
) -> list[Region] | None:
    """Regions (in content coordinates) covering every cell that differs; None when the shapes differ."""
    if len(old) != len(new):
        return None
    regions = []
    for y, (before, after) in enumerate(zip(old, new)):
        for start, end in changed_runs(before, after):
            end = max(end, start + 1) if end <= width else width
            if start < width:
                regions.append(Region(start, y, end - start, 1))
    return regions


class RepaintBudget:
    """When a widget that keeps changing may repaint next.

    At most every ``min_interval`` seconds, and after a big repaint long enough that the
    widget sends no more than ``cells_per_s`` cells a second on average: the tip of a
    curve moving shows every second, a whole chart redrawn waits a few.
    """

    def __init__(self, min_interval: float = 1.0, cells_per_s: float = 250.0) -> None:
        self.min_interval = min_interval
        self.cells_per_s = cells_per_s
        self._next = -math.inf

    def wait(self) -> float:
        """Seconds until the next repaint is allowed (0 if it is)."""
        return max(0.0, self._next - time.monotonic())

    def spend(self, cells: int) -> None:
        """Record a repaint of ``cells`` cells, just done."""
        self._next = time.monotonic() + max(self.min_interval, cells / self.cells_per_s)


def sent_cells(regions: Sequence[Region]) -> int:
    """Cells Textual writes for ``regions``: each row from the widget's left edge to its last change."""
    rows: dict[int, int] = {}
    for region in regions:
        for y in range(region.y, region.bottom):
            rows[y] = max(rows.get(y, 0), region.right)
    return sum(rows.values())
