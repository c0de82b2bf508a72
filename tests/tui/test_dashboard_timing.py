"""The dashboard keeps up with the run: the event log shows each event at once, charts plot finished epochs, elapsed leaves out pauses."""

from __future__ import annotations

import queue
import threading
import time
from typing import Any

import plotext  # noqa: F401  (the app's warm-up imports it off the UI thread; these apps skip the warm-up, so the first chart draw would pay it mid-measurement)

from engine import events as ev
from tui.factory import make_app

SIZE = (120, 40)


class PacedEngine:
    """A recorded stream in place of ``engine.session``: emits the events the test hands it, when it hands them.

    ``emitted[i]`` is the ``time.monotonic()`` at which the i-th event was handed to the app.
    """

    def __init__(self) -> None:
        self.inbox: queue.Queue[ev.Event | None] = queue.Queue()
        self.emitted: list[float] = []
        self.done = threading.Event()

    def send(self, *events: ev.Event) -> None:
        for event in events:
            self.inbox.put(event)

    def finish(self) -> None:
        self.inbox.put(None)

    def train(self, cfg: Any, *, sink: Any, control: Any = None, runs_dir: Any = None) -> None:
        try:
            while (event := self.inbox.get(timeout=60)) is not None:
                sink.emit(event)
                self.emitted.append(time.monotonic())
        finally:
            self.done.set()


def started(epochs: int = 100, t: float | None = None) -> ev.RunStarted:
    kw = {} if t is None else {"t": t}
    return ev.RunStarted(run_id="20260101-000000-paced", run_dir=None, name="paced", epochs=epochs,
                         steps_per_epoch=10, params=130, metrics=("loss", "accuracy"), learning_rate=0.01, **kw)  # fmt: skip


def epoch(i: int, loss: float = 0.5, acc: float = 0.8, **kw: float) -> list[ev.Event]:
    return [ev.EpochStarted(epoch=i, epochs=100, **kw), ev.EpochEnded(epoch=i, logs={"loss": loss, "accuracy": acc}, **kw)]


def on_screen(app: Any, text: str) -> bool:
    """True when ``text`` is in what the app has drawn (the SVG screenshot's text: spaces become &#160;)."""
    return text.replace(" ", "&#160;") in app.export_screenshot()


class TestEventLogKeepsUp:
    """A checkpoint, an LR change or an epoch's end is in the log at once, however full the log: well
    under half a second on a quiet machine; the bounds below are loose, as a loaded CI machine
    needs, yet a log that falls behind by epochs still fails."""

    async def test_each_event_shows_at_once_however_full_the_log(self, tiny_config, wait_for) -> None:
        engine = PacedEngine()
        app = make_app(tiny_config(), engine=engine, warm_up=False, start_mode="train")
        # Epochs of 0.3 s (the worst case of benchmarks/terminal_traffic.py); the log (16 rows)
        # is full from epoch 16 on, when a user checkpoints and drops the learning rate.
        plan: list[tuple[ev.Event, str | None, float]] = [(started(), "paced started", 2.0)]
        for i in range(26):
            if i == 18:
                plan.append((ev.CheckpointSaved(path="/r/checkpoints/manual-001.keras", kind="manual", epoch=i), f"checkpoint at epoch {i + 1}", 2.0))
            if i == 21:
                plan.append((ev.LrChanged(old=0.01, new=0.005, source="user", epoch=i), "learning rate 0.01 → 0.005", 2.0))
            start, end = epoch(i)
            # An epoch's end waits for the dashboard's publish tick (0.5 s), like all progress.
            plan += [(start, None, 0.0), (end, f"epoch {i + 1}: loss", 2.5)]
        lags: dict[str, float] = {}
        async with app.run_test(size=SIZE) as pilot:
            await pilot.press("t")
            try:
                for n, (event, shown, limit) in enumerate(plan, 1):
                    began = time.monotonic()
                    engine.send(event)
                    await wait_for(pilot, lambda: len(engine.emitted) == n, timeout=10, what="the event")
                    if shown is not None:
                        await wait_for(pilot, lambda: on_screen(app, shown), timeout=10, what=shown)
                        lags[shown] = time.monotonic() - engine.emitted[-1]
                        assert lags[shown] < limit, f"{shown!r} took {lags[shown]:.2f}s to show"
                    await pilot.pause(max(0.0, 0.3 - (time.monotonic() - began)))
            finally:
                engine.finish()
        assert len(lags) == 29


class TestChartsPlotFinishedEpochs:
    """A partial epoch is not plotted: no spike at the right edge when an epoch starts."""

    async def test_a_new_epochs_first_batch_is_not_a_point(self, tiny_config, wait_for) -> None:
        from tui.widgets.chart import Chart

        engine = PacedEngine()
        app = make_app(tiny_config(), engine=engine, warm_up=False, start_mode="train")
        async with app.run_test(size=SIZE) as pilot:
            await pilot.press("t")
            try:
                engine.send(started(), *epoch(0, loss=0.3, acc=0.9), *epoch(1, loss=0.25, acc=0.92))
                engine.send(ev.EpochStarted(epoch=2, epochs=100), ev.Batch(epoch=2, step=1, steps=10, logs={"loss": 0.9, "accuracy": 0.55}))
                await wait_for(pilot, lambda: app.dash.step == 1 and app.dash.epoch == 2, timeout=10, what="the batch")
                await wait_for(pilot, lambda: on_screen(app, "batch 1/10"), timeout=10, what="the batch in the header")
            finally:
                engine.finish()
            metric = dict(app.screen.query_one("#chart-metric", Chart).series)
            loss = dict(app.screen.query_one("#chart-loss", Chart).series)
        assert metric["accuracy"] == ((1.0, 0.9), (2.0, 0.92))
        assert loss["loss"] == ((1.0, 0.3), (2.0, 0.25))


class TestElapsed:
    """Elapsed is training time: it holds still while paused, leaves the pause out, and counts on between events."""

    async def test_elapsed_leaves_pauses_out_and_keeps_counting(self, tiny_config, wait_for) -> None:
        engine = PacedEngine()
        app = make_app(tiny_config(), engine=engine, warm_up=False, start_mode="train")
        t0 = time.time() - 100  # the run started 100 s ago, trained 20 s, then was paused till now
        async with app.run_test(size=SIZE) as pilot:
            await pilot.press("t")
            try:
                engine.send(started(t=t0), ev.EpochStarted(epoch=0, epochs=100, t=t0 + 1),
                            ev.Batch(epoch=0, step=5, steps=10, logs={"loss": 0.5}, t=t0 + 19.6), ev.Paused(epoch=0, step=5, t=t0 + 20))  # fmt: skip
                await wait_for(pilot, lambda: on_screen(app, "PAUSED"), timeout=10, what="the pause")
                assert on_screen(app, "elapsed 0:20")
                await pilot.pause(1.5)
                assert on_screen(app, "elapsed 0:20")  # held still
                engine.send(ev.Resumed(epoch=0, step=5, paused_s=time.time() - (t0 + 20)))
                await wait_for(pilot, lambda: on_screen(app, "RUNNING"), timeout=10, what="the resume")
                assert on_screen(app, "elapsed 0:20") or on_screen(app, "elapsed 0:21")  # not 1:40
                await pilot.pause(2.2)  # no event: the clock counts on
                assert any(on_screen(app, f"elapsed 0:{s}") for s in (21, 22, 23, 24, 25))  # counted on, not held at 0:20
            finally:
                engine.finish()
