"""``fit.steps_per_execution: auto``: time a training step before ``fit``, pick N, re-tune once at an epoch boundary.

Who owns what: ``choose_steps`` runs before ``fit`` (``engine.session``) and sets
``model.steps_per_execution``; ``AutoSteps`` is the callback that measures the real
executions during ``fit`` and, once, moves N at the start of an epoch; the bridge keeps
counting steps (Keras reports the last step of each execution) and applies commands at
the end of the execution in flight.

Why a calibration outside ``fit``: Keras 3 (TensorFlow backend) bakes N into the traced
train function and into the epoch iterator ``fit`` builds, so N cannot change inside an
epoch. The calibration traces a small function that runs k training steps on the first
batch in a ``tf.while_loop`` (forward, loss, gradients, and the optimizer's update applied
to a shadow copy of the weights by a shadow optimizer of the same class and settings),
growing k until they take about 50 ms, and takes (t(k) - t(1)) / (k - 1): the compute of
one step without Python or dispatch. The model's weights and optimizer are untouched; the
layers run in inference mode, so no random numbers are drawn (a run's dropout masks are
those of a plain script with the same seed); only the loss tracker, reset at each epoch,
moves. Leaving the update out made the first N ten times too large on the MNIST MLP
(0.08 ms estimated against 0.93 ms real, so the first epoch's executions took 290 ms and
cost a re-trace); with it the estimate is within 2x. A model of more than
``SHADOW_MAX_PARAMS`` weights, or an optimizer that cannot be copied, is timed without
the update (the shadow would double the weights' memory) and relies on the re-tune.

Data loading and per-step bookkeeping are still not in the figure, so ``AutoSteps``
compares the real execution times of the first epoch and, if a step takes more than
twice or less than half the estimate, sets the new N at the next epoch's start: ``model.steps_per_execution``,
``model.make_train_function(force=True)`` and the ``steps_per_execution`` of the epoch
iterator that ``fit`` holds (found on ``fit``'s frame; when it is not there, for
instance under another Keras version, N is kept and a log line says so).
"""

from __future__ import annotations

import math
import sys
import time
from dataclasses import dataclass
from typing import Any, Callable

from engine import events as ev
from engine.kerasapi import keras as _keras_module, legacy
from engine.words import counted

keras = _keras_module()

__all__ = ["StepsChoice", "choose_steps", "steps_for", "AutoSteps"]

MAX_STEPS = 1000
"""No execution longer than this many steps, whatever the estimate (an epoch of unknown length)."""


@dataclass(frozen=True)
class StepsChoice:
    """What ``choose_steps`` decided: N, the step time it measured (None if not measured) and why."""

    steps: int
    step_s: float | None
    reason: str
    """One line for the run's log, e.g. "auto: 24 steps per execution (1.05 ms a step, aim 25 ms)"."""


def steps_for(step_s: float, execution_ms: float, steps_per_epoch: int | None) -> int:
    """N so that N steps of ``step_s`` seconds last about ``execution_ms``; 1 ≤ N ≤ a quarter of an epoch.

    Args:
        step_s: seconds one training step takes.
        execution_ms: the aim for one execution, in milliseconds.
        steps_per_epoch: steps in an epoch, or None when unknown (then at most ``MAX_STEPS``).
    """
    n = int(round(execution_ms / 1000.0 / max(step_s, 1e-9)))
    cap = max(1, steps_per_epoch // 4) if steps_per_epoch else MAX_STEPS
    return max(1, min(n, cap, MAX_STEPS))


SHADOW_MAX_PARAMS = 25_000_000
"""Above this many trainable weights the calibration leaves the optimizer's update out (see the docstring)."""


def _shadow_update(model: Any) -> Callable[[list], None] | None:
    """A function grads -> None that applies the model's optimizer math to shadow copies of its
    trainable weights (a fresh optimizer from the same config), or None when it cannot be made."""
    optimizer, variables = getattr(model, "optimizer", None), model.trainable_variables
    if optimizer is None or not variables or sum(int(math.prod(v.shape)) for v in variables) > SHADOW_MAX_PARAMS:
        return None
    try:
        shadow_opt = type(optimizer).from_config(optimizer.get_config())
        # a copy of the values (given the variable itself, the TensorFlow backend would share its storage)
        shadow = [keras.Variable(keras.ops.convert_to_numpy(v), dtype=v.dtype, trainable=True, name=f"kwb_shadow_{i}")
                  for i, v in enumerate(variables)]  # fmt: skip
        shadow_opt.build(shadow)
    except Exception:  # noqa: BLE001 - an optimizer that cannot be copied: timed without the update
        return None
    return lambda grads: shadow_opt.apply(grads, shadow)


def _timed_steps(model: Any, x: Any, y: Any, with_update: bool = True) -> Callable[[int], float]:
    """A function k -> seconds to run k training steps on one batch, the update on shadow weights
    unless ``with_update`` is False (traced on its first call)."""
    import tensorflow as tf

    variables = model.trainable_variables
    update = _shadow_update(model) if with_update else None
    x, y = tf.nest.map_structure(tf.convert_to_tensor, (x, y))

    @tf.function(reduce_retracing=True)
    def run(k):
        def body(i, total, x, y):
            with tf.GradientTape() as tape:
                # training=False: dropout and noise layers draw no random numbers, so the
                # seed generators stand where a plain script's would (same seed, same masks)
                y_pred = model(x, training=False)
                loss = model.compute_loss(x=x, y=y, y_pred=y_pred, training=False)
            grads = tape.gradient(loss, variables)
            if update is not None:
                update(grads)
                total += tf.cast(loss, "float32")
            else:  # every gradient feeds the result, so none is pruned from the graph
                total += tf.add_n([tf.reduce_sum(tf.cast(g, "float32")) for g in grads if g is not None] or [loss])
            return i + 1, total, x, y

        # x and y ride as loop variables: captured, they would be loop-invariant and Grappler
        # would hoist the whole pass out of the loop (then k passes cost one)
        return tf.while_loop(lambda i, *_: i < k, body, (tf.constant(0), tf.constant(0.0), x, y))[1]

    def seconds(k: int) -> float:
        t0 = time.perf_counter()
        run(tf.constant(k)).numpy()
        return time.perf_counter() - t0

    return seconds


def measure_step_s(model: Any, x: Any, y: Any, budget_s: float = 0.05) -> float:
    """Seconds of compute in one training step on batch (x, y), Python and dispatch excluded.

    k grows (x4) until k steps take a quarter of ``budget_s``, then is scaled so that they
    take about ``budget_s``, so a call's fixed cost and the machine's jitter are small
    beside them; then (t(k) - t(1)) / (k - 1), the smaller of two looks (noise only adds).
    """
    seconds = _timed_steps(model, x, y)
    try:
        seconds(1)  # traces
    except Exception:  # noqa: BLE001 - an update that cannot run in the timed loop (a user's own optimizer)
        seconds = _timed_steps(model, x, y, with_update=False)  # is left out; the re-tune corrects the estimate
        seconds(1)
    k, took = 4, seconds(4)
    while took < budget_s / 4 and k < 4096:  # a quarter of the budget is enough to scale from
        k *= 4
        took = seconds(k)
    k = max(k, min(4096, int(k * budget_s / max(took, 1e-9))))
    looks = [(seconds(k) - seconds(1)) / (k - 1) for _ in range(2)]
    return max(min(looks), 1e-6)


def choose_steps(model: Any, cfg: Any, data: Any, steps_per_epoch: int | None, *, distributed: bool = False) -> StepsChoice:
    """N for this run, set on ``model.steps_per_execution`` (the train function is made again in ``fit``).

    An integer ``fit.steps_per_execution`` is used as given. "auto" measures a step on the
    first training batch (``measure_step_s``) and applies ``steps_for``; a multi-worker run
    (every worker must run the same N), a mirrored run (Keras 3's multi-step loop fails
    across replicas: "You must feed a value for placeholder tensor …") or a failed
    measurement keeps 1 and says why.
    """
    from engine.batch_probe import first_batch

    fit = cfg.fit
    if fit.steps_per_execution != "auto":
        n = int(fit.steps_per_execution)
        if steps_per_epoch and n > steps_per_epoch:  # Keras would run the epoch in one execution anyway
            choice = StepsChoice(steps_per_epoch, None, f"{counted(steps_per_epoch, 'step per execution')} "
                                                        f"(fit.steps_per_execution {n}, capped at an epoch)")  # fmt: skip
        else:
            choice = StepsChoice(n, None, f"{counted(n, 'step per execution')} (fit.steps_per_execution)")
    elif distributed:
        choice = StepsChoice(1, None, "auto: 1 step per execution (a multi-worker run does not calibrate)")
    elif getattr(getattr(cfg, "runtime", None), "strategy", "default") == "mirrored":  # Keras 3.15's multi-step loop feeds no replica id there
        choice = StepsChoice(1, None, "auto: 1 step per execution (a mirrored run: Keras cannot run several steps per execution across replicas)")
    elif legacy():  # tf-keras keeps N in a variable of its own; compile_model gave it 1
        return StepsChoice(1, None, "auto: 1 step per execution (tf-keras: set fit.steps_per_execution to a number)")
    else:
        x, y = first_batch(data, fit.batch_size)
        try:
            step_s = measure_step_s(model, x, y) if x is not None else None
        except Exception as exc:  # noqa: BLE001 - a model the probe cannot time still trains, per step
            return _apply(model, StepsChoice(1, None, f"auto: 1 step per execution (could not time a step: {exc})"))
        if step_s is None:
            return _apply(model, StepsChoice(1, None, "auto: 1 step per execution (no training batch to time)"))
        n = steps_for(step_s, fit.execution_ms, steps_per_epoch)
        choice = StepsChoice(n, step_s, f"auto: {counted(n, 'step per execution')} ({step_s * 1000:.2f} ms a step, aim {fit.execution_ms:g} ms)")
    return _apply(model, choice)


def _apply(model: Any, choice: StepsChoice) -> StepsChoice:
    if legacy():  # tf-keras: compile_model set N (a variable there), nothing to redo
        return choice
    if model.steps_per_execution != choice.steps or model.train_function is not None:
        model.steps_per_execution = choice.steps
        model.train_function = None  # fit makes it again, with N
        model.test_function = None
    return choice


def _fit_epoch_iterator() -> Any:
    """The epoch iterator of the ``fit`` call that is running on this thread, or None."""
    frame = sys._getframe(1)
    while frame is not None:
        if frame.f_code.co_name == "fit" and "epoch_iterator" in frame.f_locals:
            found = frame.f_locals["epoch_iterator"]
            return found if hasattr(found, "steps_per_execution") else None
        frame = frame.f_back
    return None


class AutoSteps(keras.callbacks.Callback):
    """Measure each execution's wall time; re-tune N once, at an epoch start, if a step is off by 2x.

    Args:
        choice: what ``choose_steps`` decided (its measured step time is the reference).
        execution_ms: the aim for one execution, in milliseconds.
        steps_per_epoch: steps in an epoch, or None when unknown.
        sink: where the re-tune's log line goes.
        on_change: called with the new N after a re-tune. Defaults to None.
    """

    def __init__(self, choice: StepsChoice, execution_ms: float, steps_per_epoch: int | None, sink: Any,
                 on_change: Callable[[int], None] | None = None) -> None:
        super().__init__()
        self.choice, self.execution_ms, self.steps_per_epoch = choice, execution_ms, steps_per_epoch
        self.sink, self.on_change = sink, on_change
        self._reset()

    def _reset(self) -> None:
        self.steps = self.choice.steps
        self.retuned = False
        self._t0 = 0.0
        self._begin = 0
        self._total_s = 0.0
        self._total_steps = 0
        self._pending: int | None = None
        self._skip = True

    def on_train_begin(self, logs: dict[str, Any] | None = None) -> None:
        self._reset()

    def on_train_batch_begin(self, batch: int, logs: dict[str, Any] | None = None) -> None:
        self._begin = batch
        self._t0 = time.perf_counter()

    def on_train_batch_end(self, batch: int, logs: dict[str, Any] | None = None) -> None:
        # O(1): two clock reads and two additions per execution. The last execution of an
        # epoch may be short (Keras still reports begin + N - 1), so steps are capped.
        if self._skip:  # an epoch's first execution also makes its iterator (and, first of all, traces)
            self._skip = False
            return
        end = min(batch, self.steps_per_epoch - 1) if self.steps_per_epoch else batch
        self._total_s += time.perf_counter() - self._t0
        self._total_steps += end - self._begin + 1

    def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        if self.retuned or self.choice.step_s is None or self._total_steps < 2 * self.steps:
            return
        step_s = self._total_s / self._total_steps
        ratio = step_s / self.choice.step_s
        n = steps_for(step_s, self.execution_ms, self.steps_per_epoch)
        self.retuned = True  # once: a second look would chase noise
        if (ratio > 2 or ratio < 0.5) and n != self.steps:
            self._pending = n

    def on_epoch_begin(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        self._skip = True
        if self._pending is None:
            return
        n, self._pending = self._pending, None
        iterator = _fit_epoch_iterator()
        if iterator is None:
            self.sink.emit(ev.Log(level="warning", message=f"auto: would re-tune to {n} steps per execution, "
                                                           f"but this Keras does not allow it mid-fit; keeping {self.steps}"))  # fmt: skip
            return
        old, self.steps = self.steps, n
        iterator.steps_per_execution = n
        self.model.steps_per_execution = n
        self.model.make_train_function(force=True)
        self.sink.emit(ev.Log(message=f"auto: re-tuned to {counted(n, 'step per execution')} (was {old}; a step took "
                                      f"{self._total_s / max(self._total_steps, 1) * 1000:.2f} ms in epoch {epoch})"))  # fmt: skip
        if self.on_change is not None:
            self.on_change(n)
