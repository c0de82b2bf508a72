"""``BestCheckpoint`` (``best.keras`` or one file per epoch) and ``save_model_atomic``, which every save goes through."""

from __future__ import annotations

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

keras = _keras_module()

__all__ = ["BestCheckpoint", "save_model_atomic"]


def save_model_atomic(model: Any, path: str | os.PathLike[str]) -> Path:
    """``model.save`` to a temp ``.keras`` name in the same folder, then rename over ``path``."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.parent / f".tmp-{uuid.uuid4().hex[:8]}-{target.name}"
    try:
        with plain_schedule(model):
            model.save(tmp)
        os.replace(tmp, target)
    finally:
        if tmp.exists():
            tmp.unlink()
    return target


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
