"""One chart per metric family for several outputs: grouping, layout, pages (m), replay, and ``kwb show``/``kwb runs``."""

from __future__ import annotations

import csv
from dataclasses import replace
from pathlib import Path

import pytest
from typer.testing import CliRunner

from engine import events as ev
from engine.runs import read_events
from tui.factory import make_app
from tui.families import families, headline, metric_bases, output_names
from tui.state import DashState, reduce, replay
from tui.widgets.chart import Chart
from tui.widgets.dashboard import Dashboard, chart_layout

FIXTURES = Path(__file__).parent / "fixtures"
TWO_OUTPUTS = next((FIXTURES / "multi_output_runs").glob("*-two-outputs"))
CONTROLS = next((FIXTURES / "runs").glob("*-controls"))
SAMPLE = Path(__file__).parents[2] / "sample_configs" / "spirals.yaml"

TWO_OUTPUT_KEYS = ["loss", "label_loss", "label_accuracy", "score_loss", "score_mae",
                   "val_loss", "val_label_loss", "val_label_accuracy", "val_score_loss", "val_score_mae"]  # fmt: skip
LOSS_KEYS = ("loss", "val_loss", "label_loss", "val_label_loss", "score_loss", "val_score_loss")


class TestFamilies:
    """A run's log keys grouped into charts: all losses together, then each metric with its val_ twin."""

    def test_two_outputs(self) -> None:
        assert output_names(TWO_OUTPUT_KEYS) == ["label", "score"]
        assert [(f.title, f.keys) for f in families(TWO_OUTPUT_KEYS)] == [
            ("loss", LOSS_KEYS),
            ("label_accuracy", ("label_accuracy", "val_label_accuracy")),
            ("score_mae", ("score_mae", "val_score_mae")),
        ]
        assert metric_bases(TWO_OUTPUT_KEYS) == ["label_accuracy", "score_mae"]

    def test_one_output_keeps_its_two_charts(self) -> None:
        keys = ["loss", "accuracy", "val_loss", "val_accuracy"]
        assert [(f.title, f.keys) for f in families(keys)] == [
            ("loss", ("loss", "val_loss")), ("accuracy", ("accuracy", "val_accuracy"))
        ]
        # Before any validation value, a one-output chart still lists its val_ twin (as it always did).
        assert families(["loss"])[0].keys == ("loss", "val_loss")

    def test_a_metric_named_like_a_loss_is_not_an_output(self) -> None:
        keys = ["loss", "kl_loss", "val_loss", "val_kl_loss"]
        assert output_names(keys) == []
        assert [f.title for f in families(keys)] == ["loss", "kl_loss"]

    def test_several_outputs_without_validation_list_no_empty_twins(self) -> None:
        keys = ["loss", "a_loss", "a_mae", "b_loss", "b_mae"]
        assert families(keys)[0].keys == ("loss", "a_loss", "b_loss")

    def test_headline_is_the_total_loss_and_each_outputs_metrics(self) -> None:
        best = {k: float(i) for i, k in enumerate(sorted(TWO_OUTPUT_KEYS))}
        assert list(headline(best)) == ["val_loss", "val_label_accuracy", "val_score_mae"]
        assert list(headline({"loss": 1.0, "accuracy": 0.5, "val_loss": 2.0, "val_accuracy": 0.4})) == ["val_loss", "val_accuracy"]
        assert list(headline({"loss": 1.0, "accuracy": 0.5})) == ["loss", "accuracy"]


class TestLayout:
    """Every chart when each row gets ROW_LINES lines; else pages in one cell."""

    def test_one_output_is_the_two_by_two_at_any_size(self) -> None:
        for height in (0, 19, 35):
            layout = chart_layout(1, wide_loss=False, height=height)
            assert (layout.rows, layout.paged, layout.wide_loss, layout.wide_log) == (2, False, False, False)

    def test_two_outputs_show_every_chart_where_there_is_room(self) -> None:
        layout = chart_layout(2, wide_loss=True, height=35)  # 120x40
        assert (layout.rows, layout.paged, layout.wide_loss, layout.wide_log) == (3, False, True, False)

    def test_two_outputs_take_turns_where_there_is_not(self) -> None:
        layout = chart_layout(2, wide_loss=True, height=19)  # 80x24
        assert (layout.rows, layout.paged, layout.wide_loss, layout.lr_paged) == (2, True, True, True)

    def test_one_output_with_two_metrics_pages_only_its_metrics(self) -> None:
        layout = chart_layout(2, wide_loss=False, height=19)
        assert (layout.rows, layout.paged, layout.wide_loss, layout.lr_paged) == (2, True, False, False)
        assert chart_layout(2, wide_loss=False, height=35).wide_log  # loss, two metrics, lr: the log sits alone


def _replayer(events: list[ev.Event]):
    async def run_before(pilot) -> None:
        pilot.app.replay(events)
        await pilot.pause()

    return run_before


def _legend(chart: Chart) -> str:
    return f"{chart.border_title} {chart.border_subtitle or ''}"


class TestDashboardOfTwoOutputs:
    """A recorded two-output run on the Train screen: charts, legends, pages and the m key."""

    async def test_every_chart_shows_at_120x40(self) -> None:
        app = make_app(SAMPLE, warm_up=False, cursor_blink=False, start_mode="train")
        async with app.run_test(size=(120, 40)) as pilot:
            app.replay(read_events(TWO_OUTPUTS / "events.jsonl"))
            await pilot.pause()
            dash = app.screen.query_one(Dashboard)
            loss = app.screen.query_one("#chart-loss", Chart)
            assert tuple(label for label, _points in loss.series) == LOSS_KEYS
            assert all(len(points) == 8 for _label, points in loss.series)
            assert [c.title for c in dash.metric_charts] == ["label_accuracy", "score_mae"]
            assert [label for label, _points in dash.metric_charts[1].series] == ["score_mae", "val_score_mae"]
            assert all(c.display for c in [*dash.metric_charts, app.screen.query_one("#chart-lr", Chart)])
            assert dash.pages == 1 and app.screen.check_action("next_chart", ()) is False
            assert all(key in _legend(loss) for key in LOSS_KEYS)

    async def test_charts_take_turns_at_80x24_and_m_turns_them(self) -> None:
        app = make_app(SAMPLE, warm_up=False, cursor_blink=False, start_mode="train")
        async with app.run_test(size=(80, 24)) as pilot:
            app.replay(read_events(TWO_OUTPUTS / "events.jsonl"))
            await pilot.pause()
            dash = app.screen.query_one(Dashboard)
            paged = [*dash.metric_charts, app.screen.query_one("#chart-lr", Chart)]
            shown = []
            for _ in range(4):
                shown.append([c.title for c in paged if c.display])
                await pilot.press("m")
                await pilot.pause()
            assert shown == [["label_accuracy"], ["score_mae"], ["learning rate"], ["label_accuracy"]]
            assert dash.pages == 3 and app.screen.check_action("next_chart", ()) is True
            assert str(paged[1].border_subtitle).endswith("m next chart 2/3")  # after the rest of the legend
            loss = app.screen.query_one("#chart-loss", Chart)
            assert all(key in _legend(loss) for key in LOSS_KEYS)  # six entries: the legend goes on along the bottom
            assert "Next&#160;chart" in app.export_screenshot()

    async def test_a_one_output_run_has_no_pages(self) -> None:
        app = make_app(SAMPLE, warm_up=False, cursor_blink=False, start_mode="train")
        async with app.run_test(size=(80, 24)) as pilot:
            app.replay(read_events(CONTROLS / "events.jsonl"))
            await pilot.pause()
            dash = app.screen.query_one(Dashboard)
            assert [c.title for c in dash.metric_charts] == ["accuracy"]
            # The bottom border carries the rest of the legend (issue 15), never a page note here.
            assert dash.metric_charts[0].id == "chart-metric" and "next chart" not in str(dash.metric_charts[0].border_subtitle)
            assert dash.pages == 1 and app.screen.check_action("next_chart", ()) is False
            assert "Next&#160;chart" not in app.export_screenshot()

    async def test_a_second_run_with_one_output_removes_the_extra_chart(self) -> None:
        app = make_app(SAMPLE, warm_up=False, cursor_blink=False, start_mode="train")
        async with app.run_test(size=(120, 40)) as pilot:
            app.replay(read_events(TWO_OUTPUTS / "events.jsonl"))
            await pilot.pause()
            app.replay(read_events(CONTROLS / "events.jsonl"))
            await pilot.pause()
            assert [c.title for c in app.screen.query_one(Dashboard).metric_charts] == ["accuracy"]
            assert len(app.screen.query(Chart)) == 3

    async def test_a_run_with_a_third_output_adds_a_page(self) -> None:
        events = read_events(TWO_OUTPUTS / "events.jsonl")
        started = next(e for e in events if isinstance(e, ev.RunStarted))
        three = replace(started, run_id="three", metrics=(*started.metrics, "third_loss", "third_auc"))
        app = make_app(SAMPLE, warm_up=False, cursor_blink=False, start_mode="train")
        async with app.run_test(size=(80, 24)) as pilot:
            app.replay(events)
            await pilot.pause()
            app.replay([three])
            await pilot.pause()
            dash = app.screen.query_one(Dashboard)
            assert [c.title for c in dash.metric_charts] == ["label_accuracy", "score_mae", "third_auc"]
            assert dash.pages == 4 and [c.display for c in dash.metric_charts] == [True, False, False]
            assert str(dash.metric_charts[2].border_subtitle).endswith("m next chart 3/4")

    async def test_m_turns_the_runs_screens_dashboard_too(self) -> None:
        app = make_app(SAMPLE, warm_up=False, cursor_blink=False, start_mode="runs", runs_dir=TWO_OUTPUTS.parent)
        async with app.run_test(size=(80, 24)) as pilot:
            await app.workers.wait_for_complete()
            await pilot.pause()
            await pilot.press("enter")
            await pilot.pause()
            dash = app.screen.query_one("#run-dashboard", Dashboard)
            before = [c.title for c in dash.metric_charts if c.display]
            await pilot.press("m")
            await pilot.pause()
            assert (before, [c.title for c in dash.metric_charts if c.display]) == (["label_accuracy"], ["score_mae"])


class TestReplayOfTwoOutputs:
    """The reducer stays pure with Keras' per-output keys: replaying gives the same state."""

    def test_replay_is_the_same_state_each_time(self) -> None:
        events = read_events(TWO_OUTPUTS / "events.jsonl")
        first, second = replay(events), replay(events)
        assert first == second
        assert set(TWO_OUTPUT_KEYS) <= set(first.history) and len(first.history["val_score_mae"]) == 8
        start = DashState()
        reduce(start, events[0])
        assert start == DashState()  # the state handed in is not changed

    def test_the_log_puts_totals_first_and_the_end_names_each_outputs_metric(self) -> None:
        state = replay(read_events(TWO_OUTPUTS / "events.jsonl"))
        epoch_line = next(line.text for line in reversed(state.log) if line.text.startswith("epoch 8:"))
        assert epoch_line.split()[2:4] == [f"loss={state.history['loss'][-1][1]:.4g}", f"val_loss={state.history['val_loss'][-1][1]:.4g}"]
        end = state.log[-1].text
        assert "best val_loss=" in end and "val_label_accuracy=" in end and "val_score_mae=" in end
        assert "val_label_loss" not in end


def _cli(*args: str) -> str:
    from tui.cli import app

    result = CliRunner().invoke(app, list(args))
    assert result.exit_code == 0, result.output
    return result.output


class TestShowAndRuns:
    """kwb show fits 80 columns with one table per family; kwb runs' BEST names each output's metric."""

    def test_show_tables_per_family_fit_80_columns(self) -> None:
        out = _cli("show", TWO_OUTPUTS.name, "--runs-dir", str(TWO_OUTPUTS.parent))
        lines = out.splitlines()
        assert max(len(line) for line in lines if not line.startswith("dir ")) <= 80  # a path is as long as it is
        headers = [line.split() for line in lines if line.startswith("epoch ")]
        assert headers == [["epoch", "loss", "label_loss", "score_loss"], ["epoch", "label_accuracy", "score_mae"]]
        with open(TWO_OUTPUTS / "history.csv", newline="") as fh:
            rows = list(csv.DictReader(fh))
        first_loss_row = lines[lines.index(next(line for line in lines if line.split()[:2] == ["epoch", "loss"])) + 2].split()
        expected = [float(rows[0][k]) for k in LOSS_KEYS]
        assert first_loss_row[0] == "1" and [float(v) for v in first_loss_row[1:]] == pytest.approx(expected, rel=1e-4)
        assert any(line.startswith("best     loss ") for line in lines)
        assert any(line.split()[:1] == ["val_score_loss"] for line in lines)  # an output's values on a line of their own

    def test_runs_best_is_the_total_loss_and_each_outputs_metric(self) -> None:
        out = _cli("runs", "--runs-dir", str(TWO_OUTPUTS.parent))
        row = out.splitlines()[1]
        assert row.split()[0] == TWO_OUTPUTS.name
        assert [w for w in row.split() if w.startswith("val_")] == ["val_loss", "val_label_accuracy", "val_score_mae"]

    def test_show_plots_one_chart_per_family_on_a_terminal(self, capsys: pytest.CaptureFixture[str]) -> None:
        import re

        from engine.runs import read_history
        from tui.commands.runs import _plot_history

        _plot_history(read_history(TWO_OUTPUTS))
        text = re.sub(r"\x1b\[[0-9;]*m", "", capsys.readouterr().out)
        titles = [line.strip() for line in text.splitlines() if line.strip() in ("loss", "label_accuracy", "score_mae")]
        assert titles == ["loss", "label_accuracy", "score_mae"]
        assert all(re.search(rf"\b{key}\b", text) for key in (*LOSS_KEYS, "val_label_accuracy", "val_score_mae"))
