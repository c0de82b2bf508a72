"""Resuming a run in its own directory: find the last saved state and make history and events agree with it."""

from __future__ import annotations

import json
from typing import Any

from engine import events as ev
from engine.errors import UserError
from engine.runs import RunDir, read_history

__all__ = ["backup_epoch", "prepare_resume"]


def backup_epoch(run: RunDir) -> int | None:
    """Epochs completed according to the run's BackupAndRestore state, or None."""
    try:
        return int(json.loads((run.backup / "training_metadata.json").read_text())["epoch"])
    except (OSError, ValueError, KeyError, TypeError):
        return None


def prepare_resume(run: RunDir, model: Any) -> int:
    """Make history.csv and events.jsonl agree with the saved state; return the epoch to start at.

    The backup is written after the history row, so a process killed between the two
    leaves a row (and an epoch_ended event) for an epoch that will run again: those are
    dropped here, so every epoch appears exactly once. Without a backup, the run's last
    saved model (model.keras, else the newest checkpoint) is loaded and training
    continues after the epochs recorded in history.csv.
    """
    from engine.config_io import atomic_write_text

    done = backup_epoch(run)
    if done is None:
        rows = read_history(run.history)
        done = len(rows)
        source = run.model if run.model.exists() else None
        if source is None:
            ckpts = sorted(run.checkpoints.glob("*.keras"), key=lambda p: p.stat().st_mtime)
            source = ckpts[-1] if ckpts else None
        if source is None:
            raise UserError("nothing to resume from: no backup/, model.keras or checkpoint", source=str(run.path))
        from engine.kerasapi import keras

        saved = keras().models.load_model(source, safe_mode=True, compile=False)
        model.set_weights(saved.get_weights())
    if run.history.exists():
        lines = run.history.read_text().splitlines()
        kept = lines[:1] + [ln for ln in lines[1:] if ln.split(",", 1)[0].isdigit() and int(ln.split(",", 1)[0]) < done]
        atomic_write_text(run.history, "\n".join(kept) + "\n")
    if run.events.exists():
        kept_events = []
        for line in run.events.read_text().splitlines():
            try:
                event = ev.decode(line)
            except ev.DecodeError:
                continue  # a line torn by the kill
            if isinstance(event, (ev.EpochStarted, ev.Batch, ev.EpochEnded)) and event.epoch >= done:
                continue
            kept_events.append(line)
        atomic_write_text(run.events, "\n".join(kept_events) + ("\n" if kept_events else ""), mode=0o600)
    return done
