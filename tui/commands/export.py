"""``kwb show``'s exports: the history as CSV, and its curves smoothed the way the app's charts smooth them.

Light: the csv module, and ``engine.smoothing`` (pure Python); plotext is handed in by the caller.
"""

from __future__ import annotations

import csv
import sys
from pathlib import Path
from typing import Any

__all__ = ["FAINT", "LINES", "curve_layers", "history_rows", "print_history_csv", "smoothed_signals"]

LINES = (12, 10, 9, 14, 13, 11)
"""The curves' colours (256-colour palette numbers), in plotext's own order."""
FAINT = (25, 28, 88, 30, 90, 100)
"""Darker shades of ``LINES``: a raw curve behind its smoothed one."""


def history_rows(path: Path) -> list[dict[str, Any]]:
    """The run's per-epoch logs: history.csv, else the ``epoch_ended`` events (a run without its history.csv)."""
    from engine import events as ev
    from engine.runs import read_events, read_history

    try:
        history = read_history(path)
    except (OSError, UnicodeDecodeError, ValueError):
        history = []
    if history:
        return history
    return [{"epoch": e.epoch, **e.logs} for e in read_events(path) if isinstance(e, ev.EpochEnded)]


def print_history_csv(path: Path) -> None:
    """The history to stdout as CSV: ``epoch`` (from 0, as Keras' CSVLogger writes it), then every logged key."""
    rows = history_rows(path)
    keys = list(dict.fromkeys(k for row in rows for k in row))
    if "epoch" in keys:
        keys.insert(0, keys.pop(keys.index("epoch")))
    writer = csv.writer(sys.stdout, lineterminator="\n")
    if keys:
        writer.writerow(keys)
    for row in rows:
        writer.writerow(["" if row.get(k) is None else (int(row[k]) if k == "epoch" else repr(float(row[k]))) for k in keys])
    if not rows:
        print(f"{path.name}: no epoch recorded", file=sys.stderr)


def curve_layers(ys: list[float], index: int, weight: float) -> list[tuple[list[float], int | None, bool]]:
    """What one curve is drawn as: ``(values, colour, labelled)`` layers, back to front.

    Without ``weight``, the values in plotext's own colour for the curve; with it, the raw
    values faint, then the debiased moving average (``engine.smoothing``) in the curve's
    colour, carrying the label.
    """
    from engine.smoothing import debiased_ema

    if not weight:
        return [(list(ys), None, True)]
    return [(list(ys), FAINT[index % len(FAINT)], False), (debiased_ema(ys, weight), LINES[index % len(LINES)], True)]


def smoothed_signals(fig: Any, plotext: Any, xs: list[int], ys: list[float], label: str, index: int, weight: float) -> list[Any]:
    """The plotext signals of one labelled curve (:func:`curve_layers`), lines drawn.

    Args:
        fig: the plotext figure.
        plotext: the plotext module.
        xs: the epochs.
        ys: the values.
        label: the curve's name in the legend.
        index: the curve's place in its plot (its colour).
        weight: the moving average's weight; 0 draws the curve as it is.
    """
    signals = []
    for values, color, labelled in curve_layers(ys, index, weight):
        sig = fig.signal(xs, values, marker="braille" if color is None else plotext.marker("braille", pixel=color))
        sig.lines()
        if labelled:
            sig.label(label)
        signals.append(sig)
    return signals
