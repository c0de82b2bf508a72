"""The learning rate per epoch: ``EpochSchedule`` sets it, ``LrWatch`` reports what other callbacks did to it.

``get_lr`` / ``set_lr`` are the one way the callbacks read and write an optimizer's rate.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Callable

from engine.kerasapi import keras as _keras_module

if TYPE_CHECKING:
    from engine.callbacks.bridge import Bridge

keras = _keras_module()

__all__ = ["EpochSchedule", "LrWatch", "get_lr", "set_lr"]


def get_lr(optimizer: Any) -> float:
    """The optimizer's current learning rate as a float."""
    lr = optimizer.learning_rate
    try:
        return float(lr)
    except TypeError:  # a MirroredVariable (tf-keras under a distribution strategy)
        return float(lr.numpy())


def set_lr(optimizer: Any, value: float) -> None:
    """Assign the optimizer's learning rate."""
    optimizer.learning_rate = value


class EpochSchedule(keras.callbacks.Callback):
    """Sets the learning rate at each epoch start to ``fn(epoch)`` times the bridge's user multiplier.

    This is how a schedule and the user's live LR changes compose: pressing ``l``
    halves the multiplier, so the schedule keeps its shape at half the height. It
    keeps no state of its own (the multiplier is the bridge's).

    Args:
        fn: the rate for an epoch (0-based), before the user's multiplier.
        bridge: the run's bridge, whose ``lr_multiplier`` scales ``fn``.
    """

    def __init__(self, fn: Callable[[int], float], bridge: Bridge) -> None:
        super().__init__()
        self.fn = fn
        self.bridge = bridge

    def on_epoch_begin(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        set_lr(self.model.optimizer, float(self.fn(epoch)) * self.bridge.lr_multiplier)


class LrWatch(keras.callbacks.Callback):
    """Placed after the LR-changing callbacks: reports their changes and early stops through the bridge.

    It keeps no state of its own: the last rate it saw is the bridge's (reset by the
    bridge's ``on_train_begin``).

    Args:
        bridge: the run's bridge, which emits the events.
        source: who changes the rate between commands ("schedule" or "plateau").
    """

    def __init__(self, bridge: Bridge, source: str) -> None:
        super().__init__()
        self.bridge = bridge
        self.source = source

    def on_epoch_begin(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        self.bridge.note_lr(self.source)

    def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        self.bridge.note_lr(self.source)
        if self.model.stop_training and self.bridge.stop_reason in (None, "nan"):
            self.bridge.note_stop("nan" if self.bridge.stop_reason == "nan" else "early_stopping")
