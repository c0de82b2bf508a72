"""Resuming a run in its own directory: find the last saved state and make history and events agree with it.

A run can be killed (``kill -9``, a power cut, a full disk) at any instruction. Every file
is written to a temp name and renamed, so what a kill leaves is: temp files (removed by
:func:`sweep_temp_files`), a backup whose two-file commit stopped half-way (completed or
rolled back by :func:`repair_backup`), a torn last line in history.csv or events.jsonl, and
rows or events for an epoch the backup does not hold yet (both dropped by
:func:`prepare_resume`, so every epoch is recorded exactly once).

:func:`refusal` says why a run must not be resumed as asked (a finished run, unless more
epochs are asked for); :func:`status_to_resume` gives it the run's status, from events.jsonl
when status.json is damaged.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from engine import events as ev
from engine.errors import UserError
from engine.run_damage import recorded_end, status_and_problem
from engine.runs import RunDir, read_history

__all__ = ["backup_epoch", "prepare_resume", "refusal", "repair_backup", "status_to_resume", "sweep_temp_files"]

_PENDING = ".pending-"
"""Prefix of the backup's not-yet-committed files (``engine.callbacks.checkpoint.AtomicBackupAndRestore``)."""


def sweep_temp_files(run: RunDir) -> list[Path]:
    """Remove the temp files a killed process left in the run directory, checkpoints/ and backup/; return them."""
    removed = []
    for folder in (run.path, run.checkpoints, run.backup):
        try:
            names = list(os.scandir(folder))
        except OSError:
            continue
        for entry in names:
            name = entry.name
            temp = name.startswith(".tmp-") or (name.startswith(".") and name.endswith(".tmp"))
            if temp and entry.is_file(follow_symlinks=False):
                Path(entry.path).unlink(missing_ok=True)
                removed.append(Path(entry.path))
    return removed


def repair_backup(run: RunDir) -> None:
    """Finish or roll back a backup commit a kill interrupted; drop a backup whose epoch cannot be read.

    The backup is committed by renaming the pending weights, then the pending metadata.
    Pending metadata without pending weights means the weights were renamed: the rename
    of the metadata is completed. Pending weights mean nothing was committed: both are
    dropped. A metadata file that does not parse (a backup written in place by an
    older kwb and torn) makes the whole backup unusable: it is removed, and the run
    resumes from its model or last checkpoint instead.
    """
    folder = run.backup
    if not folder.is_dir():
        return
    pending_w = [p for p in folder.iterdir() if p.name.startswith(_PENDING) and p.name.endswith(".weights.h5")]
    pending_m = folder / f"{_PENDING}training_metadata.json"
    if pending_w:
        for p in pending_w:
            p.unlink(missing_ok=True)
        pending_m.unlink(missing_ok=True)
    elif pending_m.exists():
        if _epoch_in(pending_m) is not None:
            os.replace(pending_m, folder / "training_metadata.json")
        else:
            pending_m.unlink(missing_ok=True)
    meta = folder / "training_metadata.json"
    if meta.exists() and _epoch_in(meta) is None:
        import shutil

        shutil.rmtree(folder, ignore_errors=True)


def _epoch_in(path: Path) -> int | None:
    try:
        return int(json.loads(path.read_text())["epoch"])
    except (OSError, ValueError, KeyError, TypeError):
        return None


def status_to_resume(run: RunDir) -> dict[str, Any]:
    """The run's status for :func:`refusal`: its status.json, else how its events.jsonl says it ended.

    status.json is rewritten at every heartbeat, so a full disk or a hand edit can leave it
    cut off or garbage. Then the last ``run_ended`` after the last ``run_started`` in
    events.jsonl gives the state (``finished``, ``stopped``, ``failed``), the epochs and the
    reason. When neither tells (no such ``run_ended``: the run died, or still runs, or its
    events are gone too), UserError naming status.json: resuming on a guess could train a
    finished run again and write over its model and figures.
    """
    status, problem = status_and_problem(run.path)
    if problem is None:
        return status
    if (ended := recorded_end(run.path)) is None:
        raise UserError(
            f"{problem} and events.jsonl records no end of the run, so kwb cannot tell whether it finished or still "
            f"runs, and it does not guess (a finished run would be trained again over its model). kwb show {run.id} "
            f"shows how far it got; kwb train {run.config} trains it again in a new run directory",
            source=str(run.status),
        )
    return {"state": ended.status, "epochs_done": ended.epochs_completed, "reason": ended.reason}


def refusal(run: RunDir, status: dict[str, Any], epochs: int, epochs_given: bool) -> str | None:
    """Why ``kwb resume`` must not continue this run as asked, or None.

    A finished run (all its epochs, or stopped early by early stopping) is done: resuming
    it would train it again and overwrite its model and figures. It is continued only when
    more epochs than it finished are asked for (``--set fit.epochs=M``).

    Args:
        run: the run directory.
        status: its status.json.
        epochs: the epochs asked for (the run's config with the user's ``--set``).
        epochs_given: the user set ``fit.epochs`` on this command line.
    """
    if status.get("state") != "finished":
        return None
    done = backup_epoch(run)
    if done is None:
        done = status.get("epochs_done") if isinstance(status.get("epochs_done"), int) else len(read_history(run.history))
    if epochs_given and epochs > done:
        return None
    why = f" ({status['reason'].replace('_', ' ')})" if isinstance(status.get("reason"), str) and status["reason"] else ""
    more = f"--set fit.epochs={done + max(10, done // 2)}"
    head = f"run {run.id} finished {done} epochs{why}"
    if epochs_given:
        return f"{head}; fit.epochs={epochs} asks for no more. To train more: kwb resume {run.id} {more}"
    return f"{head}; to train more: kwb resume {run.id} {more}"


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
    continues after the epochs recorded in history.csv; a run killed before its first
    epoch ended (nothing saved, nothing recorded) starts again from epoch 0.
    """
    from engine.config_io import atomic_write_text

    sweep_temp_files(run)
    repair_backup(run)
    done = backup_epoch(run)
    if done is None:
        rows = read_history(run.history)
        done = len(rows)
        source = run.model if run.model.exists() else None
        if source is None:
            ckpts = sorted(run.checkpoints.glob("*.keras"), key=lambda p: p.stat().st_mtime)
            source = ckpts[-1] if ckpts else None
        if source is None and done:
            raise UserError("nothing to resume from: no backup/, model.keras or checkpoint", source=str(run.path))
        if source is not None:  # else: killed before its first epoch ended; it starts again from epoch 0
            from engine.kerasapi import keras

            saved = keras().models.load_model(source, safe_mode=True, compile=False)
            model.set_weights(saved.get_weights())
    if run.history.exists():
        lines = run.history.read_bytes().decode("utf-8", "replace").splitlines()
        kept = lines[:1] + [ln for ln in lines[1:] if ln.split(",", 1)[0].isdigit() and int(ln.split(",", 1)[0]) < done]
        atomic_write_text(run.history, "\n".join(kept) + "\n")
    if run.events.exists():
        kept_events = []
        for line in run.events.read_bytes().decode("utf-8", "replace").splitlines():  # a garbage line is not UTF-8
            try:
                event = ev.decode(line)
            except ev.DecodeError:
                continue  # a line torn by the kill
            if isinstance(event, (ev.EpochStarted, ev.Batch, ev.EpochEnded)) and event.epoch >= done:
                continue
            kept_events.append(line)
        atomic_write_text(run.events, "\n".join(kept_events) + ("\n" if kept_events else ""), mode=0o600)
    return done
