"""Multi-worker runs: the cluster from ``TF_CONFIG``, and commands every worker applies at the same step.

A ``multi_worker`` run is N copies of ``kwb train`` on N machines (or N processes on
one), joined by ``tf.distribute.MultiWorkerMirroredStrategy``, configured the
standard way: the ``TF_CONFIG`` environment variable. Worker 0 is the chief: it owns
the run directory, the events and the checkpoints, and it is the one
``kwb control`` talks to. The other workers keep their bookkeeping in a private
temporary folder that is deleted when they end, so they write nothing in the runs
folder, yet every worker runs the same callbacks and saves (saving under a
collective strategy must happen on every worker).

Commands cannot simply be applied where they arrive: a stop on the chief alone
would leave the others waiting forever in the next gradient all-reduce. So at batch
boundaries (about every 0.1 s of training) :class:`CommandSync` all-reduces a small vector through the strategy:
the chief's pending commands (in order, up to ``SLOTS`` per step; the rest go in the
next step) plus a stop flag from every worker (Ctrl-C on any worker stops all).
Every worker then hands the same commands to its bridge, which applies them at the
same step. The same vector carries the chief's "a batch event is due" (its clock
decides), because reading metric values under this strategy is itself a collective
that every worker must join at the same step. While paused, the bridge waits through :meth:`CommandSync.wait`, which
keeps the workers in lockstep, one all-reduce per wait.
"""

from __future__ import annotations

from typing import Any

from engine.control import Command, CommandName, Control
from engine.kerasapi import keras as _keras_module

__all__ = ["CommandSync", "SLOTS"]

SLOTS = 4
"""Commands carried per all-reduce; more wait for the next one."""

_CODES = {name: code for code, name in enumerate(CommandName, start=1)}
"""Each command as a number in the vector (stop 1 … resume 6, in ``CommandName`` order)."""
_NAMES = {v: k for k, v in _CODES.items()}
_SOURCES = ("user", "control", "interrupt", "signal")
"""Where a command came from; travels so that ``kwb control`` recognises its acknowledgement."""

# The vector: [count, (code, value, source) * SLOTS, emit_due, gap] from the chief, then everyone's stop flag.
_COUNT, _EMIT, _GAP, _STOP = 0, 1 + 3 * SLOTS, 2 + 3 * SLOTS, 3 + 3 * SLOTS
_WIDTH = _STOP + 1

keras = _keras_module()


class CommandSync(keras.callbacks.Callback):
    """Agree on commands across workers at batch boundaries; place it just before the bridge.

    An all-reduce costs about 2.4 ms on loopback (2 workers, 2 cores), as much as a
    small model's step, so the workers do not sync at every batch: the chief's clock
    picks the gap to the next sync (about ``interval`` seconds of steps, at least 1),
    and the gap travels in the vector, so every worker counts the same batches. A
    command therefore takes effect on every worker at the same step, within about
    0.1 s, and the per-batch cost between syncs is one integer decrement.

    Args:
        strategy: the run's ``MultiWorkerMirroredStrategy``.
        inbox: where commands for this run arrive (the chief's run-directory watcher,
            the signal handler). Only the chief's commands travel, plus stop from anyone.
        local: the bridge's control; every worker's receives the agreed commands.
        is_chief: whether this process is worker 0.
        bridge: the run's bridge; its clock-driven batch events are handed over to this
            callback, which emits them at agreed steps. Defaults to None (no batch events).
    """

    def __init__(self, strategy: Any, inbox: Control, local: Control, is_chief: bool, bridge: Any = None) -> None:
        super().__init__()
        import tensorflow as tf

        self.strategy = strategy
        self.inbox = inbox
        self.local = local
        self.is_chief = is_chief
        self.bridge = bridge
        self.interval = 0.1
        self.rounds = 0
        """All-reduces done so far (the same number on every worker)."""
        self.emit_agreed = False
        self._carry: list[Command] = []
        self._countdown = 1
        self._last_sync = 0.0
        self._steps_since = 0
        self._last_emit = 0.0
        if bridge is not None:
            self.interval = bridge.interval
            bridge.interval = float("inf")  # its own clock never fires; see on_train_batch_begin
            bridge.waiter = self.wait

        def replica_fn(vec: Any) -> Any:
            ctx = tf.distribute.get_replica_context()
            first = tf.cast(tf.equal(ctx.replica_id_in_sync_group, 0), vec.dtype)
            # Everything but the stop flag from global replica 0 (on the chief) only;
            # the stop flag from every replica, so the sum is > 0 if anyone asked.
            mask = tf.concat([tf.fill([_STOP], first), tf.ones([1], vec.dtype)], axis=0)
            return vec * mask

        @tf.function
        def all_reduce(vec: Any) -> Any:
            per_replica = strategy.run(replica_fn, args=(vec,))
            return strategy.reduce(tf.distribute.ReduceOp.SUM, per_replica, axis=None)

        self._all_reduce = all_reduce

    def _encode(self, emit_due: bool, gap: int) -> list[float]:
        vec = [0.0] * _WIDTH
        mine = self._carry + self.inbox.drain()
        if self.is_chief:
            sent, self._carry = mine[:SLOTS], mine[SLOTS:]
            vec[_COUNT] = float(len(sent))
            for i, cmd in enumerate(sent):
                vec[1 + 3 * i] = float(_CODES[cmd.name])
                vec[2 + 3 * i] = float(cmd.value or 0.0)
                vec[3 + 3 * i] = float(_SOURCES.index(cmd.source) if cmd.source in _SOURCES else 0)
            vec[_EMIT] = 1.0 if emit_due else 0.0
            vec[_GAP] = float(gap)
        else:
            self._carry = []  # only a stop from another worker travels (below); the rest is the chief's
            if any(c.name == "stop" for c in mine):
                vec[_STOP] = 1.0
        return vec

    def sync(self, emit_due: bool = False, gap: int = 1) -> bool:
        """One all-reduce on every worker; queue the agreed commands on ``local``. True if any."""
        import tensorflow as tf

        out = self._all_reduce(tf.constant(self._encode(emit_due, gap), dtype=tf.float64)).numpy().tolist()
        self.rounds += 1
        self.emit_agreed = out[_EMIT] > 0
        self._countdown = max(1, int(round(out[_GAP])))
        got = False
        for i in range(int(round(out[_COUNT]))):
            name = _NAMES.get(int(round(out[1 + 3 * i])))
            if name is None:
                continue
            source = int(round(out[3 + 3 * i]))
            value = out[2 + 3 * i] if name in ("lr_scale", "set_lr") else None
            self.local.send(Command(name, value, source=_SOURCES[source] if 0 <= source < len(_SOURCES) else "user"))
            got = True
        if out[_STOP] > 0:
            self.local.send(Command(CommandName.STOP, source="signal"))
            got = True
        return got

    def wait(self, timeout: float) -> bool:
        """The bridge's wait while paused: the chief waits for a command, then all workers sync."""
        if self.is_chief:
            self.inbox.wait(timeout)
        return self.sync()

    def on_train_batch_begin(self, batch: int, logs: dict[str, Any] | None = None) -> None:
        self._countdown -= 1
        if self._countdown > 0:
            return
        import time

        now = time.monotonic()
        gap = 1
        if self.is_chief:
            # Steps since the last sync took (now - last); aim for one sync per interval.
            if self._last_sync and self._steps_since:
                per_step = (now - self._last_sync) / self._steps_since
                gap = max(1, min(1000, int(self.interval / per_step) if per_step > 0 else 1))
        due = bool(batch) and now - self._last_emit >= self.interval
        self.sync(emit_due=due, gap=gap)
        self._steps_since = self._countdown
        self._last_sync = time.monotonic()
        if self.emit_agreed and self.bridge is not None:
            self._last_emit = now
            self.bridge.emit_batch(batch)
