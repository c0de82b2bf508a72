"""``BestCheckpoint`` (``best.keras`` or one file per epoch), ``save_model_atomic`` (every save goes through it)
and ``AtomicBackupAndRestore`` (Keras' backup, written so a kill or a full disk never leaves it half-written).

A save the storage refuses (full disk, I/O error) raises ``engine.write_errors.DiskWriteError``
naming the file ("no space left on device while writing checkpoints/epoch-007.keras"), after
removing its temp file: the previous file under that name is untouched and still loads.
"""

from __future__ import annotations

import json
import math
import os
import uuid
import warnings
from pathlib import Path
from typing import Any

from engine import events as ev
from engine.callbacks.monitor import metric_direction
from engine.callbacks.schedule import plain_schedule
from engine.control import EventSink
from engine.kerasapi import keras as _keras_module
from engine.write_errors import DiskWriteError, write_failure

keras = _keras_module()

__all__ = ["AtomicBackupAndRestore", "BestCheckpoint", "save_model_atomic", "hdf5_unclean"]

hdf5_unclean = False
"""True once a ``save_weights`` failed half-way: HDF5 keeps ids of the torn file and crashes flushing them
when the process exits normally, so the CLI ends such a process with ``os._exit`` (``tui.commands.common``)."""


def save_model_atomic(model: Any, path: str | os.PathLike[str]) -> Path:
    """``model.save`` to a temp ``.keras`` name in the same folder, then rename over ``path``.

    Raises:
        DiskWriteError: the storage refused the write (the temp file is removed, ``path`` untouched).
    """
    target = Path(path)
    tmp = target.parent / f".tmp-{uuid.uuid4().hex[:8]}-{target.name}"
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        with plain_schedule(model):
            model.save(tmp)
        os.replace(tmp, target)
    except Exception as exc:
        raise _disk_error(exc, target) from exc
    finally:
        tmp.unlink(missing_ok=True)
    return target


def _disk_error(exc: Exception, target: Path) -> Exception:
    """``exc`` as a :class:`DiskWriteError` naming ``target`` (relative to its run directory) when the disk refused it."""
    root = target.parent.parent if target.parent.name in ("checkpoints", "backup") else target.parent
    failure = write_failure(exc, target, root)
    if failure is None:
        return exc
    return DiskWriteError(failure.errno or 0, failure.line, str(target))


def _mark_hdf5_unclean() -> None:
    global hdf5_unclean
    hdf5_unclean = True


class AtomicBackupAndRestore(keras.callbacks.BackupAndRestore):
    """Keras' ``BackupAndRestore`` whose weights and epoch are replaced together, or not at all.

    Keras writes ``latest.weights.h5`` and ``training_metadata.json`` in place: a kill or a
    full disk in the middle leaves a torn file, or weights one epoch ahead of the epoch
    recorded. Here both are written in full to ``.pending-`` names first, then renamed
    weights first, metadata last. A process that dies between the two renames leaves the
    pending metadata behind; :func:`engine.resume.repair_backup` completes the rename (the
    weights are already in place) or, when the weights' rename had not happened, drops
    both pending files, so the backup is always one epoch's weights with that epoch.

    Args:
        backup_dir: the run's backup/ folder.
    """

    def __init__(self, backup_dir: str | os.PathLike[str]) -> None:
        super().__init__(str(backup_dir), delete_checkpoint=False)
        self._last_step = -1

    def on_epoch_begin(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        self._last_step = -1

    def on_train_batch_end(self, batch: int, logs: dict[str, Any] | None = None) -> None:
        self._last_step = batch  # once per execution: the last step it ran (Keras' own hook saves only per epoch here)

    def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        """Back up a whole epoch only. An epoch cut by a stop or Ctrl-C (Keras still ends it, with the
        metrics of the batches it ran) is not one: the backup stays at the epoch before, so a resume
        runs the cut epoch again, whole, and drops its partial row from history.csv."""
        steps = self.params.get("steps") if isinstance(self.params, dict) else None
        if self.model.stop_training and steps and 0 <= self._last_step < steps - 1:
            return
        super().on_epoch_end(epoch, logs)

    def _save_model(self) -> None:
        folder = Path(self.backup_dir)
        weights, meta = Path(self._weights_path), Path(self._training_metadata_path)
        pending_w, pending_m = folder / f".pending-{weights.name}", folder / f".pending-{meta.name}"
        try:
            folder.mkdir(parents=True, exist_ok=True)
            self.model.save_weights(pending_w, overwrite=True)
            with open(pending_m, "w", encoding="utf-8") as fh:
                fh.write(json.dumps({"epoch": self._current_epoch, "batch": self._last_batch_seen}))
                fh.flush()
                os.fsync(fh.fileno())
            os.replace(pending_w, weights)
            os.replace(pending_m, meta)
        except Exception as exc:
            _mark_hdf5_unclean()
            pending_w.unlink(missing_ok=True)
            pending_m.unlink(missing_ok=True)
            raise _disk_error(exc, weights) from exc



class BestCheckpoint(keras.callbacks.Callback):
    """Keeps ``best.keras`` (or one ``epoch-NNN.keras`` per epoch), written atomically.

    ``best`` is kept across ``fit`` calls on purpose: ``best.keras`` is the best model
    this run saved, so a second ``fit`` does not overwrite it with a worse one. What is
    per-fit (the direction asked of the model, the missing-metric warning) is reset in
    ``on_train_begin``.

    Args:
        directory: the run's checkpoints/ folder.
        monitor: the metric to watch. Defaults to "val_loss".
        mode: "min", "max" or "auto" (the direction the model's metric declares, see
            ``engine.callbacks.monitor.metric_direction``). Defaults to "auto".
        save_best_only: keep only the best model. Defaults to True.
        sink: where ``checkpoint_saved`` events and the missing-metric warning go.
            Defaults to None (the warning then goes through ``warnings.warn``).
    """

    def __init__(
        self,
        directory: str | os.PathLike[str],
        monitor: str = "val_loss",
        mode: str = "auto",
        save_best_only: bool = True,
        sink: EventSink | None = None,
    ) -> None:
        super().__init__()
        self.directory = Path(directory)
        self.monitor = monitor
        self.mode = mode
        self.save_best_only = save_best_only
        self.sink = sink
        self.best: float | None = None
        self._direction: str | None = None
        self._warned = False

    def on_train_begin(self, logs: dict[str, Any] | None = None) -> None:
        self._direction = None if self.mode == "auto" else self.mode
        self._warned = False

    def _better(self, value: float) -> bool:
        if self._direction is None:  # asked once the model's metrics are built (after the first step)
            self._direction = metric_direction(self.model, self.monitor)
        if self.best is None:
            return True
        return value < self.best if self._direction == "min" else value > self.best

    def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        logs = logs or {}
        if not self.save_best_only:
            path = save_model_atomic(self.model, self.directory / f"epoch-{epoch + 1:03d}.keras")
            self._emit(path, "epoch", epoch)
            return
        if self.monitor not in logs:
            self._warn_missing(logs)
            return
        value = float(logs[self.monitor])
        if math.isnan(value) or not self._better(value):
            return
        self.best = value
        path = save_model_atomic(self.model, self.directory / "best.keras")
        self._emit(path, "best", epoch)

    def _warn_missing(self, logs: dict[str, Any]) -> None:
        if self._warned:
            return
        self._warned = True
        message = (
            f"model_checkpoint: metric {self.monitor!r} is not available; "
            f"available metrics are: {', '.join(sorted(logs))}"
        )
        if self.sink is not None:
            self.sink.emit(ev.Log(level="warning", message=message))
        else:
            warnings.warn(message, stacklevel=2)

    def _emit(self, path: Path, kind: str, epoch: int) -> None:
        if self.sink is not None:
            self.sink.emit(ev.CheckpointSaved(path=str(path), kind=kind, epoch=epoch))
