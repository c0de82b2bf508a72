"""The learning rate per epoch: ``EpochSchedule`` sets it, ``LrWatch`` reports what other callbacks did to it.

``get_lr`` / ``set_lr`` are the one way the callbacks read and write an optimizer's rate.

An optimizer built on a ``LearningRateSchedule`` has no settable rate (Keras raises;
tensorflow#51399 is the classic failure). kwb's LR commands scale the schedule instead:
``scale_schedule`` wraps it, for the length of a ``fit``, in a ``ScaledSchedule`` whose
factor ``set_lr`` changes, so ``lr-drop`` halves the schedule from now on and ``set-lr V``
makes the rate V now and keeps the schedule's shape. Saved models never carry the wrapper
(``plain_schedule`` takes it out while saving, and ``fit``'s end takes it out for good).
"""

from __future__ import annotations

import contextlib
import weakref
from typing import Any, Callable, Iterator, Protocol

from engine.kerasapi import keras as _keras_module

keras = _keras_module()


class Bridge(Protocol):
    """What these callbacks use of the run's bridge (``engine.callbacks.bridge.Bridge``, which imports this module)."""

    lr_multiplier: float
    stop_reason: str | None

    def note_lr(self, source: str) -> None: ...

    def note_stop(self, reason: str) -> None: ...

__all__ = [
    "EpochSchedule", "LrWatch", "ScaledSchedule", "LrNotSettable", "get_lr", "set_lr", "scale_schedule",
    "unscale_schedule", "plain_schedule",
]  # fmt: skip

_Schedule = keras.optimizers.schedules.LearningRateSchedule


class LrNotSettable(ValueError):
    """The optimizer's rate comes from something kwb cannot scale (a schedule it did not wrap, a callable)."""


@keras.saving.register_keras_serializable(package="kwb")
class ScaledSchedule(_Schedule):
    """A user's ``LearningRateSchedule`` times a factor that kwb's LR commands set.

    Args:
        schedule: the optimizer's own schedule.
        scale: the starting factor. Defaults to 1.0.
    """

    def __init__(self, schedule: Any, scale: float = 1.0) -> None:
        self.schedule = schedule
        # A variable, so a change reaches the already-traced train step.
        self.scale = keras.Variable(scale, dtype="float32", trainable=False, name="kwb_lr_scale") if hasattr(
            keras, "Variable") else __import__("tensorflow").Variable(scale, dtype="float32", trainable=False)  # fmt: skip

    def __call__(self, step: Any) -> Any:
        return self.schedule(step) * self.scale

    def get_config(self) -> dict[str, Any]:
        return {"schedule": keras.optimizers.schedules.serialize(self.schedule), "scale": float(self.scale.numpy())}

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> "ScaledSchedule":
        return cls(keras.optimizers.schedules.deserialize(config["schedule"]), config.get("scale", 1.0))


_WRAPPED: "weakref.WeakKeyDictionary[Any, ScaledSchedule]" = weakref.WeakKeyDictionary()
"""One wrapper per optimizer, reused by every ``fit``: a train step traced in an earlier fit keeps working."""


def scale_schedule(optimizer: Any) -> bool:
    """Wrap the optimizer's ``LearningRateSchedule`` so LR commands can scale it; True if a new wrapper was made."""
    current = getattr(optimizer, "_learning_rate", None)
    if isinstance(current, ScaledSchedule) or not isinstance(current, _Schedule):
        return False
    wrapped = _WRAPPED.get(optimizer)
    made = wrapped is None or wrapped.schedule is not current
    if made:
        wrapped = _WRAPPED[optimizer] = ScaledSchedule(current)
    optimizer.learning_rate = wrapped
    return made


def unscale_schedule(optimizer: Any) -> None:
    """Give the optimizer its own schedule back (the factor stays with the wrapper for the next ``fit``)."""
    current = getattr(optimizer, "_learning_rate", None)
    if isinstance(current, ScaledSchedule):
        optimizer.learning_rate = current.schedule


@contextlib.contextmanager
def plain_schedule(model: Any) -> Iterator[None]:
    """While saving: the optimizer's own schedule, so a saved model loads without kwb."""
    optimizer = getattr(model, "optimizer", None)
    current = getattr(optimizer, "_learning_rate", None)
    if not isinstance(current, ScaledSchedule):
        yield
        return
    optimizer.learning_rate = current.schedule
    try:
        yield
    finally:
        optimizer.learning_rate = current


def get_lr(optimizer: Any) -> float:
    """The optimizer's current learning rate as a float."""
    lr = optimizer.learning_rate
    try:
        return float(lr)
    except TypeError:  # a MirroredVariable (tf-keras under a distribution strategy)
        return float(lr.numpy())


def set_lr(optimizer: Any, value: float) -> None:
    """Make the optimizer's learning rate ``value`` (a wrapped schedule is scaled). Raises ``LrNotSettable``."""
    current = getattr(optimizer, "_learning_rate", None)
    if isinstance(current, ScaledSchedule):
        base = float(current.schedule(optimizer.iterations))
        if not base > 0:
            raise LrNotSettable(f"the schedule's rate is {base:g} now; a factor cannot move it")
        current.scale.assign(value / base)
    elif isinstance(current, _Schedule) or (callable(current) and not hasattr(current, "assign")):
        raise LrNotSettable("the optimizer takes its rate from a schedule that kwb did not wrap; "
                            "it is wrapped when fit starts with kwb's callback")  # fmt: skip
    else:
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
