"""The damages a run folder suffers in the field, done on purpose: one table for the CLI and the app's tests.

``DAMAGES[name] = (how, says)``: a function that damages a run folder in place, and the
start of what ``RunInfo.damaged`` then says.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path


def cut_events(run: Path) -> None:
    data = (run / "events.jsonl").read_bytes()
    (run / "events.jsonl").write_bytes(data[:-15])  # the last line loses its end (and its newline)


def garbage_events(run: Path) -> None:
    lines = (run / "events.jsonl").read_bytes().splitlines(keepends=True)
    lines.insert(len(lines) // 2, b'{"type": "epoch_ended", "epoch": "x\xff\x00 garbage\n')
    (run / "events.jsonl").write_bytes(b"".join(lines))


def cut_history(run: Path) -> None:
    text = (run / "history.csv").read_text()
    (run / "history.csv").write_text(text[: len(text) - 12])


def no_model(run: Path) -> None:
    (run / "model.keras").unlink(missing_ok=True)
    for ckpt in (run / "checkpoints").glob("*.keras"):
        ckpt.unlink()


DAMAGES: dict[str, tuple[Callable[[Path], None], str]] = {
    "events-cut": (cut_events, "events.jsonl ends in a cut-off line"),
    "events-garbage": (garbage_events, "events.jsonl line"),
    "events-empty": (lambda run: (run / "events.jsonl").write_bytes(b""), "events.jsonl is empty"),
    "status-missing": (lambda run: (run / "status.json").unlink(), "status.json is missing"),
    "status-garbage": (lambda run: (run / "status.json").write_bytes(b'{"state": "fini\xff\x00'), "status.json is not valid JSON"),
    "status-not-object": (lambda run: (run / "status.json").write_text("[1, 2]"), "status.json is not a JSON object"),
    "history-cut": (cut_history, "history.csv ends in a cut-off row"),
    "config-missing": (lambda run: (run / "config.yaml").unlink(), "config.yaml is missing"),
    "model-missing": (no_model, "model.keras is missing"),
}
"""Each damage: how to do it to a run folder, and what ``damaged`` then says (its start)."""
