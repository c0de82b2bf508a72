"""Pydantic validation errors in the user's words: the key path, what was expected, the closest valid name.

Sits above the schema (``engine.config``) because it walks ``RunConfig`` to find the
valid keys for a suggestion; ``engine.config_io.parse_config`` is its one caller.
"""

from __future__ import annotations

import re
from typing import Any

from pydantic import BaseModel, ValidationError

from engine.config import KeyedIssues, RunConfig
from engine.errors import format_loc, suggest

__all__ = ["validation_issues"]


def validation_issues(exc: ValidationError) -> list[tuple[str, str]]:
    """One ``(key path, message)`` per key at fault, in pydantic's order."""
    seen: dict[str, tuple[str, str]] = {}
    for loc, msg in (issue for err in exc.errors() for issue in _issues(err)):
        # pydantic reports each arm of a Union; keep the first message per key.
        seen.setdefault(loc, (loc, msg))
    return list(seen.values())


def _issues(err: Any) -> list[tuple[str, str]]:
    """A validator's ``KeyedIssues`` as it gave them (full key paths); any other error translated."""
    cause = (err.get("ctx") or {}).get("error")
    if isinstance(cause, KeyedIssues):
        return list(cause.issues)
    return [_translate(err)]


def _model_at(loc: tuple[Any, ...]) -> type[BaseModel] | None:
    """The pydantic model class that owns the key at ``loc`` (for suggestions)."""
    model: Any = RunConfig
    for part in loc[:-1]:
        if isinstance(part, int):
            continue
        fields = getattr(model, "model_fields", None)
        if not fields or part not in fields:
            return None
        ann = fields[part].annotation
        nxt = None
        for cand in (ann, *getattr(ann, "__args__", ())):
            if isinstance(cand, type) and issubclass(cand, BaseModel):
                nxt = cand
                break
        if nxt is None:
            return None
        model = nxt
    return model


def _describe(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _translate(err: dict[str, Any]) -> tuple[str, str]:
    loc = tuple(p for p in err["loc"] if not (isinstance(p, str) and ("[" in p or p.startswith("function-"))))
    kind = err["type"]
    got = err.get("input")
    if kind == "extra_forbidden":
        owner = _model_at(loc)
        choices = list(owner.model_fields) if owner else []
        key = str(loc[-1])
        hint = suggest(key, choices)
        expected = f"; expected one of: {', '.join(choices)}" if choices and not hint else ""
        return format_loc(loc), f"unknown key {key!r}{hint}{expected}"
    if kind == "missing":
        return format_loc(loc), "is required"
    if kind == "literal_error":
        expected = err.get("ctx", {}).get("expected", "")
        options = re.findall(r"'([^']*)'", expected)
        hint = suggest(str(got), options) if isinstance(got, str) else ""
        return format_loc(loc), f"must be one of {expected}, got {_describe(got)}{hint}"
    if kind in ("greater_than", "greater_than_equal", "less_than", "less_than_equal"):
        ctx = err.get("ctx", {})
        words = {
            "greater_than": "greater than {gt}",
            "greater_than_equal": "at least {ge}",
            "less_than": "less than {lt}",
            "less_than_equal": "at most {le}",
        }[kind].format(**ctx)
        return format_loc(loc), f"must be {words}, got {_describe(got)}"
    if kind.startswith("int_") or kind == "int_type":
        return format_loc(loc), f"must be an integer, got {_describe(got)}"
    if kind.startswith("float_"):
        return format_loc(loc), f"must be a number, got {_describe(got)}"
    if kind.startswith("bool_"):
        return format_loc(loc), f"must be true or false, got {_describe(got)}"
    if kind in ("string_type",):
        return format_loc(loc), f"must be a string, got {_describe(got)}"
    if kind in ("list_type", "tuple_type"):
        return format_loc(loc), f"must be a list, got {_describe(got)}"
    if kind in ("model_type", "dict_type", "model_attributes_type"):
        return format_loc(loc), f"must be a mapping of keys, got {_describe(got)}"
    msg = err["msg"]
    if msg.startswith("Value error, "):
        msg = msg[len("Value error, ") :]
    return format_loc(loc), msg
