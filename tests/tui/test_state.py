"""The dashboard reducer: pure, deterministic on replay, bounded."""

from __future__ import annotations

from engine import events as ev
from engine.runs import read_events
from tui.state import SERIES_CAP, DashState, append_point, reduce, replay


class TestReplay:
    """Replaying events is deterministic and never changes the state it is given."""

    def test_replay_is_deterministic_and_pure(self, controls_events) -> None:
        events = read_events(controls_events)
        first = replay(events)
        assert replay(events) == first
        assert first.status == "stopped"
        kinds = [line.kind for line in first.log]
        assert {"lr", "checkpoint", "pause", "stop", "end"} <= set(kinds)
        start = DashState()
        reduce(start, events[0])
        assert start == DashState()

    def test_fatal_error_is_shown(self) -> None:
        state = replay([ev.Error(message="boom\nValueError: bad shape", fatal=True, t=1.0), ev.RunEnded(status="failed", t=2.0)])
        assert state.status == "failed"
        assert state.error is not None
        assert any("bad shape" in line.text for line in state.log)


class TestBounds:
    """Series, log and durations stay bounded however long the run."""

    def test_series_stay_bounded(self) -> None:
        state = reduce(DashState(), ev.RunStarted(run_id="r", run_dir=None, name="r", epochs=1, steps_per_epoch=200_000, t=0.0))
        for step in range(1, 20_000):
            state = reduce(state, ev.Batch(epoch=0, step=step, steps=200_000, logs={"loss": 1.0 / step}, t=float(step)))
        assert len(state.batch["loss"]) <= SERIES_CAP
        assert state.batch["loss"][-1][1] == 1.0 / 19_999

    def test_append_point_keeps_newest(self) -> None:
        series: tuple = ()
        for i in range(1000):
            series = append_point(series, (float(i), float(i)), cap=10)
        assert len(series) <= 10 and series[-1] == (999.0, 999.0)

    def test_a_long_run_stays_bounded(self) -> None:
        """Every part of the state is capped, however long the run: 400 epochs of 100 batches."""
        from tui.state import LOG_CAP

        state = reduce(DashState(), ev.RunStarted(run_id="r", run_dir=None, name="r", epochs=400, steps_per_epoch=100,
                                                  learning_rate=0.1, metrics=("loss", "accuracy"), t=0.0))  # fmt: skip
        t = 0.0
        for epoch in range(400):
            state = reduce(state, ev.EpochStarted(epoch=epoch, epochs=400, t=t))
            for step in range(1, 101):
                t += 0.01
                state = reduce(state, ev.Batch(epoch=epoch, step=step, steps=100, logs={"loss": 1 / (t + 1), "accuracy": 0.5}, t=t))
            state = reduce(state, ev.LrChanged(old=0.1, new=0.1 * 0.99, source="schedule", epoch=epoch, t=t))
            logs = {"loss": 1 / (t + 1), "accuracy": 0.5, "val_loss": 1 / (t + 2), "val_accuracy": 0.5}
            state = reduce(state, ev.EpochEnded(epoch=epoch, logs=logs, duration_s=1.0, t=t))
        curves = [*state.batch.values(), *state.history.values(), state.lr]
        assert curves and all(len(points) <= SERIES_CAP for points in curves)
        assert len(state.log) <= LOG_CAP and len(state.epoch_durations) <= 20
        assert state.history["val_loss"][-1] == (400.0, 1 / (t + 2))


class TestHeader:
    """The run header's placement line."""

    def test_the_header_shows_strategy_and_replicas(self) -> None:
        from tui.widgets.run_header import placement

        def started(**kw) -> DashState:
            return reduce(DashState(), ev.RunStarted(run_id="r", run_dir=None, name="n", epochs=1, **kw))

        assert placement(started(device="cpu")) == "cpu"
        mirrored = started(device="gpu×2", strategy="mirrored", replicas=2)
        assert (mirrored.strategy, mirrored.replicas) == ("mirrored", 2)
        assert placement(mirrored) == "mirrored ×2 (gpu×2)"
        multi = started(device="cpu", strategy="multi_worker", replicas=2, worker=0, workers=2)
        assert placement(multi) == "multi_worker ×2, 2 workers (cpu)"

    def test_paused_shows_where_it_stopped_and_no_eta(self) -> None:
        from tui.widgets.run_header import RunHeader

        s = reduce(DashState(), ev.RunStarted(run_id="r", run_dir=None, name="n", epochs=60, steps_per_epoch=938,
                                              batch_size=32, t=0.0))  # fmt: skip
        s = reduce(s, ev.EpochStarted(epoch=19, epochs=60, t=1.0))
        s = reduce(s, ev.Batch(epoch=19, step=88, steps=938, logs={"loss": 0.5}, samples_per_s=1000.0, t=2.0))
        s = reduce(s, ev.Paused(epoch=19, step=176, t=2.1))  # the batch event for 176 was throttled away
        assert (s.status, s.step) == ("paused", 176)
        text = "\n".join(row.plain for row in RunHeader()._rows(s, 120))
        assert "batch 176/938" in text and "ETA" not in text and "samples/s" not in text

    def test_a_run_whose_process_is_gone_reads_as_died(self) -> None:
        from tui.state import process_gone
        from tui.widgets.run_header import RunHeader

        s = reduce(DashState(), ev.RunStarted(run_id="r", run_dir=None, name="n", epochs=9, steps_per_epoch=938, t=0.0))
        s = reduce(s, ev.Batch(epoch=2, step=256, steps=938, logs={"loss": 0.5}, samples_per_s=1295.0, t=5.0))
        s = reduce(s, ev.Stopping(reason="user", epoch=2, step=256, t=5.1))  # killed while stopping
        s = reduce(s, process_gone(s))
        assert s.status == "died" and not s.active and "its process is gone" in s.log[-1].text
        assert "ETA" not in "\n".join(row.plain for row in RunHeader()._rows(s, 120))

    def test_the_header_follows_a_re_tuned_steps_per_execution(self) -> None:
        s = reduce(DashState(), ev.RunStarted(run_id="r", run_dir=None, name="n", epochs=3, steps_per_execution=306))
        assert s.steps_per_execution == 306
        s = reduce(s, ev.EpochStarted(epoch=1, epochs=3, steps_per_execution=27))
        assert s.steps_per_execution == 27
        s = reduce(s, ev.EpochStarted(epoch=2, epochs=3))  # an older run's events: N unchanged
        assert s.steps_per_execution == 27


class TestLiveStates:
    """The dashboard's notion of a live run matches the engine's."""

    def test_active_is_exactly_the_engines_live_states(self) -> None:
        from engine.runs import LIVE_STATES

        statuses = ("idle", "starting", "running", "paused", "stopping", "finished", "stopped", "failed", "died")
        assert {s for s in statuses if DashState(status=s).active} == set(LIVE_STATES)
