"""A replayed run draws the whole run: both segments of a resumed one, and a cut-off events.jsonl completed from the run's other files."""

from __future__ import annotations

import shutil
from pathlib import Path

from engine import events as ev
from engine.recorded import whole_events
from engine.runs import read_events, read_history
from tui.factory import make_app
from tui.state import replay

RUN_ID = "20260101-000000-spirals"


def segment(start: int, end: int, epochs: int, t0: float, initial: int = 0) -> list[ev.Event]:
    """One process's events: run_started at ``t0``, then epochs ``start``..``end - 1`` one second each."""
    out: list[ev.Event] = [ev.RunStarted(run_id=RUN_ID, run_dir=None, name="spirals", epochs=epochs, initial_epoch=initial,
                                         steps_per_epoch=10, learning_rate=0.01, t=t0)]  # fmt: skip
    for i, epoch in enumerate(range(start, end)):
        t = t0 + i + 1
        out.append(ev.EpochStarted(epoch=epoch, epochs=epochs, t=t - 1))
        out.append(ev.EpochEnded(epoch=epoch, logs={"loss": 1.0 / (epoch + 1), "val_loss": 1.1 / (epoch + 1)},
                                 learning_rate=0.01, duration_s=1.0, t=t))  # fmt: skip
    return out


def cut_in_half(tmp_path: Path, fixture_runs: Path) -> Path:
    """The fixture's finished 15-epoch run, copied, its events.jsonl cut to half its bytes (mid-line)."""
    run = tmp_path / "runs" / "20261121-074027-early"
    shutil.copytree(fixture_runs / run.name, run)
    data = (run / "events.jsonl").read_bytes()
    (run / "events.jsonl").write_bytes(data[: len(data) // 2])
    return run


class TestResumedReplay:
    """``kwb resume`` appends a second segment to events.jsonl; the replay continues the first, it does not restart."""

    def test_both_segments_are_drawn_and_the_clock_goes_on(self) -> None:
        # Killed during epoch 7 (epochs 0..6 recorded); the backup holds 5 epochs; resumed to 10 epochs 100 s later.
        first = segment(0, 7, 8, t0=1000.0)
        second = segment(5, 10, 10, t0=1107.0, initial=5)
        state = replay([*first, *second, ev.RunEnded(status="finished", epochs_completed=10, duration_s=12.0, t=1112.0)])
        xs = [x for x, _ in state.history["loss"]]
        assert xs == [float(e) for e in range(1, 11)]  # epochs 6 and 7 of the first process were run again: drawn once
        assert state.lr[0][0] == 0.0 and len(state.history["val_loss"]) == 10
        times = [line.at for line in state.log]
        assert times == sorted(times)  # the log does not restart at 0:00
        assert state.log[1].text.startswith("epoch 1:")  # the first process's lines stay
        assert state.log[-2].at == 7.0 + 5.0  # 7 s in the first process, 5 in the second; the gap between them not counted
        assert state.status == "finished" and state.epoch == 10

    def test_a_new_run_still_starts_afresh(self) -> None:
        state = replay([*segment(0, 3, 3, t0=0.0), ev.RunStarted(run_id="other", run_dir=None, name="o", epochs=2, t=50.0)])
        assert state.history == {} and state.run_id == "other" and len(state.log) == 1


class TestCutEvents:
    """A finished run whose events.jsonl was cut off replays as finished, with every epoch history.csv has."""

    def test_whole_events_fill_the_epochs_and_the_end(self, tmp_path: Path, fixture_runs: Path) -> None:
        run = cut_in_half(tmp_path, fixture_runs)
        cut = read_events(run)
        assert not any(isinstance(e, ev.RunEnded) for e in cut)
        state = replay(whole_events(run))
        rows = read_history(run)
        assert len(rows) == 15
        assert [x for x, _ in state.history["val_loss"]] == [float(r["epoch"] + 1) for r in rows]
        assert state.history["val_loss"][-1][1] == rows[-1]["val_loss"]
        assert state.status == "finished" and not state.active and state.epoch == 15
        assert state.best["val_loss"] == min(r["val_loss"] for r in rows)

    def test_a_whole_stream_is_left_as_it_is(self, fixture_runs: Path) -> None:
        run = fixture_runs / "20261121-074027-early"
        assert whole_events(run) == read_events(run)

    async def test_attach_shows_the_status_and_every_epoch(self, tmp_path: Path, fixture_runs: Path, wait_for) -> None:
        run = cut_in_half(tmp_path, fixture_runs)
        app = make_app(attach=run, warm_up=False, cursor_blink=False)
        async with app.run_test(size=(100, 30)) as pilot:
            await wait_for(pilot, lambda: len(app.dash.history.get("val_loss", ())) >= 8, timeout=30)
            await pilot.pause(0.3)
            assert app.dash.status == "finished"
            assert len(app.dash.history["val_loss"]) == 15
            assert app.control is None
            assert not app.footer_shows("stop") and not app.footer_shows("pause")

    async def test_the_runs_screen_draws_every_epoch(self, tmp_path: Path, fixture_runs: Path, wait_for) -> None:
        from textual.widgets import DataTable

        run = cut_in_half(tmp_path, fixture_runs)
        app = make_app(runs_dir=run.parent, warm_up=False, cursor_blink=False, start_mode="runs")
        async with app.run_test(size=(100, 30)) as pilot:
            table = app.screen.query_one(DataTable)
            await wait_for(pilot, lambda: table.row_count == 1, timeout=30, what="the run table")
            await pilot.press("enter")
            await pilot.pause()
            shown = app.screen.query_one("#run-dashboard").state
            assert (shown.status, shown.epoch, len(shown.history["val_loss"])) == ("finished", 15, 15)
