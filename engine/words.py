"""Wording shared by messages and log lines (no dependencies: the app's first frame may use it)."""

from __future__ import annotations

__all__ = ["counted"]


def counted(n: int, noun: str, plural: str | None = None) -> str:
    """``n`` and the noun in the number it takes: "1 epoch", "3 epochs", "1 step per execution"."""
    if n == 1:
        return f"{n} {noun}"
    head, sep, tail = noun.partition(" ")  # "step per execution": the first word takes the number
    return f"{n} {plural or head + 's'}{sep}{tail}"
