"""A run directory's files read as far as they go, and what is damaged in them (``engine.runs.run_info`` uses it).

A kill, a full disk or a hand edit can leave status.json missing or garbage, a torn or
garbage line in events.jsonl, a cut-off row in history.csv. Each ``*_problem`` function
returns one sentence naming the file and what is wrong, or None; none of them raises.
A live run may be writing its last line, so an unfinished last line is damage only once
the run has ended. A leaf of the engine: only ``engine.events`` below it.
"""

from __future__ import annotations

import csv
import json
import os
from pathlib import Path
from typing import Any

from engine import events as ev

__all__ = ["EVENTS_TAIL", "status_and_problem", "events_problem", "recorded_end", "history_problem", "history_file", "history_rows"]


def status_and_problem(path: Path) -> tuple[dict[str, Any], str | None]:
    """status.json as a mapping (empty when unreadable) and what is wrong with it, or None."""
    file = path / "status.json"
    try:
        status = json.loads(file.read_bytes())
    except FileNotFoundError:
        return {}, "status.json is missing"
    except OSError as exc:
        return {}, f"status.json cannot be read ({exc.strerror or exc})"
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError):
        return {}, "status.json is not valid JSON"
    if not isinstance(status, dict):
        return {}, "status.json is not a JSON object"
    if not isinstance(status.get("state"), str):
        return status, "status.json has no state"
    return status, None


_EVENTS_CHECKED: dict[tuple[Path, bool], tuple[tuple[int, int], str | None]] = {}
"""events_problem's answers by file, with the (size, mtime) they were read at: a listing re-reads only what changed."""

EVENTS_TAIL = 256 * 1024
"""How much of the end of events.jsonl a listing decodes: a kill tears the end; ``whole`` reads it all (``kwb show``)."""


def events_problem(path: str | os.PathLike[str], *, live: bool = False, whole: bool = False) -> str | None:
    """What is wrong with the run's events.jsonl (a line that is no event, a cut-off last line, no line at all), or None.

    Only the last ``EVENTS_TAIL`` bytes are decoded unless ``whole`` (an hour of training writes
    megabytes). A live run may be writing its last line, so an unfinished last line is damage
    only once it has ended.
    """
    file = Path(path) / "events.jsonl"
    try:
        st = file.stat()
        stamp = (st.st_size, st.st_mtime_ns)
        if (cached := _EVENTS_CHECKED.get((file, whole))) is not None and cached[0] == stamp:
            problem = cached[1]
        else:
            problem = _scan_events(file.read_bytes(), 0 if whole else max(0, st.st_size - EVENTS_TAIL))
            _EVENTS_CHECKED[(file, whole)] = (stamp, problem)
    except FileNotFoundError:
        return None
    except OSError as exc:
        return f"events.jsonl cannot be read ({exc.strerror or exc})"
    if problem in (_CUT_OFF, _EMPTY) and live:
        return None  # a live run may not have written its first line yet
    return problem


_CUT_OFF = "events.jsonl ends in a cut-off line"
_EMPTY = "events.jsonl is empty"


def recorded_end(path: str | os.PathLike[str]) -> ev.RunEnded | None:
    """The ``run_ended`` that closes the run's events.jsonl, or None (none yet, none after the last ``run_started``, unreadable).

    How the run ended when status.json cannot say (``engine.runs.run_info``, ``kwb resume``).
    Only the last ``EVENTS_TAIL`` bytes are read: the end is the last thing a run writes.
    """
    try:
        with open(Path(path) / "events.jsonl", "rb") as fh:
            fh.seek(max(0, fh.seek(0, os.SEEK_END) - EVENTS_TAIL))
            lines = fh.read().split(b"\n")
    except OSError:
        return None
    for line in reversed(lines):
        try:
            event = ev.decode(line) if line.strip() else None
        except ev.DecodeError:
            continue  # a torn or garbage line
        if isinstance(event, (ev.RunStarted, ev.RunEnded)):
            return event if isinstance(event, ev.RunEnded) else None  # a run_started after it: a resume began
    return None


def _scan_events(data: bytes, start: int) -> str | None:
    """Decode the lines that begin at or after byte ``start``; the first that is no event, by its line number."""
    if start:  # from the first whole line in the window (none: the torn last one)
        start = (data.find(b"\n", start - 1) + 1) or (data.rfind(b"\n") + 1)
    first = data.count(b"\n", 0, start) + 1
    lines = data[start:].split(b"\n")
    for n, line in enumerate(lines[:-1], start=first):
        if line.strip():
            try:
                ev.decode(line)
            except ev.DecodeError:
                return f"events.jsonl line {n} is not an event"
    if lines[-1].strip():
        return _CUT_OFF
    return _EMPTY if not start and not data.strip() else None  # every run writes run_started first


def history_problem(path: str | os.PathLike[str], *, live: bool = False) -> str | None:
    """What is wrong with the run's history.csv (unreadable, a cut-off or garbled row), or None.

    A live run may be writing its last row, so an unfinished last row is damage only once it has ended.
    """
    file = history_file(path)
    try:
        text = file.read_bytes().decode("utf-8")
    except FileNotFoundError:
        return None
    except OSError as exc:
        return f"history.csv cannot be read ({exc.strerror or exc})"
    except UnicodeDecodeError:
        return "history.csv is not text"
    if text and not text.endswith("\n") and not live:
        return "history.csv ends in a cut-off row"
    header, rows = history_rows(file)
    for n, row in enumerate(rows, start=2):
        if len(row) != len(header) or not all(_is_number(v) for v in row):
            return f"history.csv row {n} is cut off or garbled"
    return None


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return text in ("", "NA")  # Keras' CSVLogger writes NA for a value an epoch did not log
    return True


def history_file(path: str | os.PathLike[str]) -> Path:
    file = Path(path)
    return file / "history.csv" if file.is_dir() else file


def history_rows(path: str | os.PathLike[str]) -> tuple[list[str], list[list[str]]]:
    """history.csv's header and its whole rows of text (a last row without its newline was cut off); nothing when unreadable."""
    try:
        text = history_file(path).read_bytes().decode("utf-8")
        lines = text.splitlines(keepends=True)
        rows = [row for row in csv.reader(ln for ln in lines if ln.endswith(("\n", "\r"))) if row]
    except (OSError, UnicodeDecodeError, csv.Error):
        return [], []
    return (rows[0], rows[1:]) if rows else ([], [])
