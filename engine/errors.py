"""The user-error types and name suggestions: the leaf of the engine (standard library only).

A ``UserError`` or ``ConfigError`` means "the user gave bad input" (exit status 2) rather
than "training failed" (exit status 1). Every other engine module may import this one;
it imports no other (``config.py``, the pydantic schema, sits above it and ``config_io.py``
above that).
"""

from __future__ import annotations

import difflib
from typing import Any

__all__ = [
    "UserError",
    "ConfigError",
    "DataError",
    "ModelError",
    "USER_ERRORS",
    "suggest",
    "format_loc",
]


class UserError(Exception):
    """Bad input: the CLI prints ``str(error)`` (no traceback) and exits with status 2.

    ``source`` names the file at fault and ``key`` the config key path, when known.
    """

    def __init__(self, message: str, *, source: str | None = None, key: str | None = None) -> None:
        self.message = message
        self.source = source
        self.key = key
        super().__init__(self.render())

    def render(self) -> str:
        head = f"error in {self.source}:" if self.source else "error:"
        body = f"{self.key}: {self.message}" if self.key else self.message
        return f"{head}\n  {body}"


class ConfigError(Exception):
    """A user mistake in a config: one or more ``(key path, message)`` issues."""

    def __init__(self, source: str | None, issues: list[tuple[str, str]]) -> None:
        self.source = source
        self.issues = issues
        super().__init__(self.render())

    def render(self) -> str:
        head = f"error in {self.source}" if self.source else "error in config"
        lines = [head + ":"]
        for loc, msg in self.issues[:12]:
            lines.append(f"  {loc}: {msg}" if loc else f"  {msg}")
        if len(self.issues) > 12:
            lines.append(f"  … and {len(self.issues) - 12} more")
        return "\n".join(lines)


class DataError(UserError):
    """The data named by ``data.*`` cannot be read or does not fit the model."""


class ModelError(UserError):
    """``model.*`` cannot be built: unknown layer, bad argument, shape mismatch, unloadable file."""


USER_ERRORS: tuple[type[Exception], ...] = (UserError, ConfigError)
"""Catch these to turn bad input into exit status 2."""


def suggest(name: str, choices: list[str] | tuple[str, ...]) -> str:
    """' (did you mean X?)' for the closest choice, or ''."""
    lowered = {c.lower(): c for c in choices}
    # A transposed or re-cased name ("adma", "dense") beats a merely similar one.
    same_letters = [c for c in lowered if sorted(c) == sorted(name.lower())]
    if same_letters:
        return f" (did you mean {lowered[same_letters[0]]!r}?)"
    match = difflib.get_close_matches(name.lower(), list(lowered), n=1, cutoff=0.6)
    return f" (did you mean {lowered[match[0]]!r}?)" if match else ""


def format_loc(loc: tuple[Any, ...] | list[Any]) -> str:
    """('model', 'layers', 2, 'Dense') -> 'model.layers[2].Dense'."""
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + str(part)
    return out
