"""The learning-rate range test (Leslie Smith; fastai's ``lr_find``, Lightning's ``LearningRateFinder``) and its suggestion.

``lr_range_test`` builds the config's model (``engine.session.prepare``), then trains that
throwaway copy for up to ``steps`` batches while the learning rate rises exponentially from
``min_lr`` to ``max_lr``, recording each batch's loss. It stops early once the smoothed loss
passes ``diverge`` times its minimum (or turns NaN). Nothing is written: no run directory,
and a ``model.path`` file is only read; the copy is dropped afterwards.

The suggestion is fastai's "valley" rule (:func:`valley`): the learning rate a little past
the start of the longest stretch where the smoothed loss keeps falling. fastai made it its
default (fastai#3377) after trying the rules across tasks, replacing the steepest-gradient
point; Lightning#1767 calls the steepest-gradient rule naive because a spike early in the
sweep can decide it. :func:`steepest` and the minimum/10 rule are reported
beside it for comparison.

Who owns what: this module runs the test and picks the suggestion, training one batch at a
time with ``train_on_batch`` in the calling thread (the app's worker); drawing
and ``--apply`` (a clean YAML edit via ``engine.config_roundtrip``) belong to the callers.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

from engine.errors import UserError

if TYPE_CHECKING:
    from engine.config import RunConfig

__all__ = ["BETA", "DIVERGE", "LrFindResult", "check_range", "lr_range_test", "steepest", "valley"]

BETA = 0.98
"""Smoothing weight of the loss (a debiased moving average), as fastai and Lightning use."""
DIVERGE = 4.0
"""Stop once the smoothed loss passes this many times its minimum (fastai's and Lightning's threshold)."""


@dataclass
class LrFindResult:
    """What a range test found: the learning rates tried, the raw and smoothed losses, and the suggestion."""

    lrs: list[float] = field(default_factory=list)
    losses: list[float] = field(default_factory=list)
    smoothed: list[float] = field(default_factory=list)
    suggestion: float | None = None
    """The valley rule's learning rate; None when too few finite losses were recorded."""
    steepest: float | None = None
    """The steepest descent of the smoothed loss, for comparison."""
    min_over_10: float | None = None
    """A tenth of the rate at the smoothed loss's minimum, for comparison."""
    stopped_early: bool = False
    """True when the loss diverged (passed ``DIVERGE`` × its minimum) before the last step."""
    min_lr: float = 1e-7
    max_lr: float = 1.0
    steps: int = 100
    rule: str = "valley"

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict (non-finite losses as None)."""
        out = asdict(self)
        for key in ("losses", "smoothed"):
            out[key] = [v if math.isfinite(v) else None for v in out[key]]
        return out


def check_range(min_lr: float, max_lr: float, steps: int) -> None:
    """Refuse a range that cannot be swept. Raises UserError naming the option."""
    if not (math.isfinite(min_lr) and min_lr > 0):
        raise UserError(f"must be a positive number, got {min_lr:g}", key="--min-lr")
    if not (math.isfinite(max_lr) and max_lr > min_lr):
        raise UserError(f"must be a number above --min-lr ({min_lr:g}), got {max_lr:g}", key="--max-lr")
    if steps < 10:
        raise UserError(f"must be at least 10 (a range test needs points to compare), got {steps}", key="--steps")


def lr_at(step: int, min_lr: float, max_lr: float, steps: int) -> float:
    """The learning rate of batch ``step`` (0-based): exponential from ``min_lr`` to ``max_lr`` at ``steps - 1``."""
    return min_lr * (max_lr / min_lr) ** (step / max(1, steps - 1))


def lr_range_test(
    cfg: RunConfig,
    *,
    min_lr: float = 1e-7,
    max_lr: float = 1.0,
    steps: int = 100,
    on_step: Callable[[int, float, float], None] | None = None,
    should_stop: Callable[[], bool] | None = None,
) -> LrFindResult:
    """Run the range test on a throwaway copy of ``cfg``'s model; write nothing.

    Args:
        cfg: the validated run config (not changed).
        min_lr: the first learning rate. Defaults to 1e-7.
        max_lr: the last learning rate. Defaults to 1.0.
        steps: at most this many batches. Defaults to 100.
        on_step: called on the training thread after each batch with (step, lr, smoothed loss),
            for progress; keep it cheap. Defaults to None.
        should_stop: polled after each batch; True ends the test there (the app's cancel). Defaults to None.

    Raises:
        UserError: a bad range, or the config's data or model cannot be prepared.
    """
    check_range(min_lr, max_lr, steps)
    from engine.session import prepare

    cfg = cfg.model_copy(deep=True)
    cfg.runtime.strategy = "default"  # a multi_worker strategy would wait for peers
    cfg.fit.steps_per_execution = "auto"  # compile_model: 1 step per execution, so every batch is seen
    prep = prepare(cfg)
    result = LrFindResult(min_lr=min_lr, max_lr=max_lr, steps=steps)
    _sweep(prep, result, on_step, should_stop)
    _suggest(result)
    return result


def _batches(prep: Any) -> Iterator[tuple[Any, Any]]:
    """Training batches, endlessly: the streamed dataset's own, or shuffled slices of the in-memory arrays."""
    import numpy as np

    data, cfg = prep.data, prep.cfg
    if data.train_ds is not None:
        while True:
            items = iter(data.train_ds) if not hasattr(data.train_ds, "__getitem__") else (
                data.train_ds[i] for i in range(len(data.train_ds)))  # fmt: skip
            seen = False
            for item in items:
                seen = True
                yield item[0], item[1]
            if not seen:  # an empty stream: no batch to train on (never loop on nothing)
                return

    def one(v: Any, idx: Any) -> Any:  # a CSV's text columns arrive as tensors (engine.preprocessing.text_as_tensors)
        if isinstance(v, np.ndarray):
            return v[idx]
        import tensorflow as tf

        return tf.gather(v, idx)

    def take(arrays: Any, idx: Any) -> Any:
        return {k: one(v, idx) for k, v in arrays.items()} if isinstance(arrays, dict) else one(arrays, idx)

    rows = len(next(iter(data.x_train.values()))) if isinstance(data.x_train, dict) else len(data.x_train)
    rng = np.random.default_rng(cfg.seed)
    while rows:
        order = rng.permutation(rows) if cfg.fit.shuffle else np.arange(rows)
        for start in range(0, rows, cfg.fit.batch_size):
            idx = order[start : start + cfg.fit.batch_size]
            yield take(data.x_train, idx), take(data.y_train, idx)


def _sweep(prep: Any, result: LrFindResult, on_step: Any, should_stop: Any) -> None:
    """Train one batch at a time (``train_on_batch`` resets the loss mean: each loss is that batch's) while the rate rises."""
    model, r = prep.model, result
    avg, count, best = 0.0, 0, math.inf
    for step, (x, y) in zip(range(r.steps), _batches(prep)):
        lr = lr_at(step, r.min_lr, r.max_lr, r.steps)
        model.optimizer.learning_rate = lr
        loss = float(model.train_on_batch(x, y, return_dict=True)["loss"])
        r.lrs.append(lr)
        r.losses.append(loss)
        smooth = math.nan
        if math.isfinite(loss):
            count += 1
            avg = BETA * avg + (1 - BETA) * loss
            smooth = avg / (1 - BETA**count)
            best = min(best, smooth)
        r.smoothed.append(smooth)
        if on_step is not None:
            on_step(step + 1, lr, smooth)
        if not math.isfinite(smooth) or (step > 0 and smooth > DIVERGE * best):
            r.stopped_early = step + 1 < r.steps
            return
        if should_stop is not None and should_stop():
            return


def _suggest(result: LrFindResult) -> None:
    """Fill in the suggestion (valley) and the two rules reported beside it, from the finite smoothed points."""
    points = [(lr, s) for lr, s in zip(result.lrs, result.smoothed) if math.isfinite(s)]
    # Like fastai: leave out the first tenth (the average still settling) and the last few (diverging).
    n = len(points)
    trimmed = points[n // 10 : n - 5] if n >= 20 else points
    if len(trimmed) < 3:
        return
    lrs, losses = [p[0] for p in trimmed], [p[1] for p in trimmed]
    result.suggestion = valley(lrs, losses)
    result.steepest = steepest(lrs, losses)
    result.min_over_10 = max(result.min_lr, lrs[losses.index(min(losses))] / 10)


def valley(lrs: list[float], losses: list[float]) -> float:
    """fastai's valley rule: in the longest falling stretch of ``losses``, the point about halfway down.

    The stretch is the longest decreasing subsequence (O(n²), n is at most ``--steps``); the
    suggestion sits half of a third past its start, where the loss falls fastest and is still safe.
    """
    n = len(losses)
    lds = [1] * n
    max_start = max_end = 0
    for i in range(1, n):
        for j in range(i):
            if losses[i] < losses[j] and lds[i] < lds[j] + 1:
                lds[i] = lds[j] + 1
            if lds[max_end] < lds[i]:
                max_end = i
                max_start = max_end - lds[max_end]
    sections = (max_end - max_start) / 3
    return float(lrs[max(0, max_start + int(sections) + int(sections / 2))])


def steepest(lrs: list[float], losses: list[float]) -> float:
    """The learning rate where the loss falls fastest against log(lr) (the rule Lightning#1767 calls naive)."""
    slopes = [
        (losses[i + 1] - losses[i]) / (math.log(lrs[i + 1]) - math.log(lrs[i])) for i in range(len(lrs) - 1)
    ]
    return float(lrs[slopes.index(min(slopes))])
