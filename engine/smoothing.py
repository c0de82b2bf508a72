"""Curve smoothing for charts and ``kwb show --smooth``: TensorBoard's debiased exponential moving average.

Pure Python (no numpy, no UI), so the Train dashboard, ``kwb attach``, the Runs overlay and the
headless ``kwb show`` smooth a curve the same way. ``SMOOTHING_STEPS`` is the cycle the ``S`` key
walks through.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence

__all__ = ["SMOOTHING_STEPS", "debiased_ema", "next_weight", "weight_label"]

SMOOTHING_STEPS: tuple[float, ...] = (0.0, 0.6, 0.9, 0.99)
"""The weights ``S`` cycles through: off, then TensorBoard-like light, medium and heavy smoothing."""


def debiased_ema(values: Iterable[float], weight: float) -> list[float]:
    """Smooth ``values`` with TensorBoard's debiased exponential moving average.

    Each point is ``last = last * weight + (1 - weight) * value`` divided by
    ``1 - weight ** n`` (``n`` finite points so far), so the curve starts at the first value
    instead of being dragged towards zero. Non-finite values (NaN, inf) pass through unchanged
    and do not disturb the average, as in TensorBoard; a constant curve is returned unchanged.

    Args:
        values: the raw curve, oldest first.
        weight: in ``[0, 1)``; ``0`` returns the values unchanged.

    Returns:
        A new list the same length as ``values``.

    Raises:
        ValueError: ``weight`` is outside ``[0, 1)`` or not a number.
    """
    points = [float(v) for v in values]
    if not 0.0 <= weight < 1.0:
        raise ValueError(f"smoothing weight must be in [0, 1), got {weight!r}")
    finite = [v for v in points if math.isfinite(v)]
    if weight == 0.0 or not finite or all(v == finite[0] for v in finite):
        return points
    last = 0.0
    count = 0
    smoothed: list[float] = []
    for value in points:
        if not math.isfinite(value):
            smoothed.append(value)
            continue
        last = last * weight + (1.0 - weight) * value
        count += 1
        smoothed.append(last / (1.0 - weight**count))
    return smoothed


def next_weight(weight: float, steps: Sequence[float] = SMOOTHING_STEPS) -> float:
    """The weight after ``weight`` in ``steps`` (wrapping to the first); an unknown weight goes to the first."""
    try:
        return steps[(list(steps).index(weight) + 1) % len(steps)]
    except ValueError:
        return steps[0]


def weight_label(weight: float) -> str:
    """``"smooth 0.9"`` for a chart title, ``""`` when smoothing is off."""
    return f"smooth {weight:g}" if weight else ""
