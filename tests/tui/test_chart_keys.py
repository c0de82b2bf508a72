"""Reading the charts (issue 15): S smoothing, Y log scale, z zoom, arrows and Tab between charts; legends, axis marks,
the header and the event log at 80×24. Pilot tests on recorded runs, plus the pure parts (legend fitting, marks)."""

from __future__ import annotations

import re
from dataclasses import replace
from pathlib import Path

import pytest

from engine import events as ev
from engine.runs import read_events
from tui.factory import make_app
from tui.state import DashState, LogLine, replay
from tui.widgets.chart import Chart, render_chart
from tui.widgets.chart_legend import LegendEntry, fit_legend
from tui.widgets.dashboard import Dashboard, axis_marks, best_value
from tui.widgets.event_log import EventLog, fold_best_checkpoints
from tui.widgets.run_header import RunHeader

FIXTURES = Path(__file__).parent / "fixtures"
CONTROLS = next((FIXTURES / "runs").glob("*-controls"))
TWO_OUTPUTS = next((FIXTURES / "multi_output_runs").glob("*-two-outputs"))
SAMPLE = Path(__file__).parents[2] / "sample_configs" / "spirals.yaml"


async def _dashboard(pilot, run: Path = CONTROLS) -> Dashboard:
    pilot.app.replay(read_events(run / "events.jsonl"))
    await pilot.pause()
    return pilot.app.screen.query_one(Dashboard)


def _app(size_mode: str = "train"):
    return make_app(SAMPLE, warm_up=False, cursor_blink=False, start_mode=size_mode)


def _title(chart: Chart) -> str:
    return f"{chart.border_title} {chart.border_subtitle}"


class TestSmoothing:
    """S cycles the loss and metric charts' smoothing off → 0.6 → 0.9 → 0.99 → off; the title says it."""

    async def test_s_cycles_the_weight(self) -> None:
        async with _app().run_test(size=(120, 40)) as pilot:
            dash = await _dashboard(pilot)
            loss, metric, lr = (dash.query_one(f"#chart-{n}", Chart) for n in ("loss", "metric", "lr"))
            seen = []
            for _ in range(4):
                await pilot.press("S")
                await pilot.pause()
                seen.append((dash.smoothing, loss.smoothing, metric.smoothing, lr.smoothing))
            assert seen == [(0.6, 0.6, 0.6, 0.0), (0.9, 0.9, 0.9, 0.0), (0.99, 0.99, 0.99, 0.0), (0.0, 0.0, 0.0, 0.0)]
            assert "smooth" not in _title(loss)
            await pilot.press("S", "S")
            await pilot.pause()
            assert "smooth 0.9" in _title(loss) and "smooth 0.9" in _title(metric) and "smooth" not in _title(lr)

    async def test_smoothing_redraws_with_the_raw_curve_faint_behind(self) -> None:
        async with _app().run_test(size=(120, 40)) as pilot:
            dash = await _dashboard(pilot)
            loss = dash.query_one("#chart-loss", Chart)
            plain = loss.render().plain
            assert not any(span.style and "dim" in str(span.style) for span in loss.render().spans)
            await pilot.press("S", "S")
            await pilot.pause()
            drawing = loss.render()
            assert drawing.plain != plain  # the smoothed curve is drawn, not the raw one alone
            assert any(span.style and "dim" in str(span.style) for span in drawing.spans)  # the raw one, faint

    async def test_two_outputs_every_metric_chart_smooths(self) -> None:
        async with _app().run_test(size=(120, 40)) as pilot:
            dash = await _dashboard(pilot, TWO_OUTPUTS)
            assert [c.title for c in dash.metric_charts] == ["label_accuracy", "score_mae"]
            await pilot.press("S")
            await pilot.pause()
            assert [c.smoothing for c in dash.metric_charts] == [0.6, 0.6]


class TestLogScale:
    """Y switches the loss chart between a linear and a log scale; the metric charts stay linear."""

    async def test_y_toggles(self) -> None:
        async with _app().run_test(size=(120, 40)) as pilot:
            dash = await _dashboard(pilot)
            loss, metric = dash.query_one("#chart-loss", Chart), dash.query_one("#chart-metric", Chart)
            linear = loss.render().plain
            await pilot.press("Y")
            await pilot.pause()
            assert loss.log_y and not metric.log_y and " log" in _title(loss)
            assert "e-01" in loss.render().plain and loss.render().plain != linear  # ticks labelled 2.5e-01 …
            await pilot.press("Y")
            await pilot.pause()
            assert not loss.log_y and " log" not in _title(loss) and loss.render().plain == linear

    async def test_the_lr_chart_title_does_not_say_log(self) -> None:
        async with _app().run_test(size=(120, 40)) as pilot:
            dash = await _dashboard(pilot)
            lr = dash.query_one("#chart-lr", Chart)
            assert lr.log_y and " log" not in _title(lr)


class TestZoom:
    """z gives the focused chart the whole dashboard; z or escape brings the layout back."""

    async def test_z_zooms_the_focused_chart_and_escape_returns(self) -> None:
        async with _app().run_test(size=(80, 24)) as pilot:
            dash = await _dashboard(pilot)
            await pilot.press("right", "right")  # loss, then accuracy
            metric = dash.query_one("#chart-metric", Chart)
            assert pilot.app.screen.focused is metric
            await pilot.press("z")
            await pilot.pause()
            assert dash.zoomed is metric and dash.shown_charts() == [metric]
            assert not dash.query_one(RunHeader).display and not dash.query_one(EventLog).display
            assert metric.size.width >= 78 and metric.size.height > 15  # the whole width, most of the height
            await pilot.press("escape")
            await pilot.pause()
            assert dash.zoomed is None and len(dash.shown_charts()) == 3 and dash.query_one(RunHeader).display
            assert pilot.app.current_mode == "train"  # escape left the zoom, not the screen

    async def test_z_without_focus_zooms_the_loss_chart_and_z_returns(self) -> None:
        async with _app().run_test(size=(120, 40)) as pilot:
            dash = await _dashboard(pilot)
            assert pilot.app.screen.focused is None
            await pilot.press("z")
            await pilot.pause()
            loss = dash.query_one("#chart-loss", Chart)
            assert dash.zoomed is loss and pilot.app.screen.focused is loss
            assert "z or escape" in str(loss.border_subtitle)
            await pilot.press("z")
            await pilot.pause()
            assert dash.zoomed is None and len(dash.shown_charts()) == 3
            assert "z or escape" not in str(loss.border_subtitle)


class TestFocus:
    """Arrow keys and Tab move the focus between the charts on screen."""

    async def test_arrows_walk_the_charts_and_wrap(self) -> None:
        async with _app().run_test(size=(120, 40)) as pilot:
            dash = await _dashboard(pilot)
            order = []
            for key in ("down", "right", "right", "right", "left", "up"):
                await pilot.press(key)
                order.append(pilot.app.screen.focused.id)
            assert order == ["chart-loss", "chart-metric", "chart-lr", "chart-loss", "chart-lr", "chart-metric"]
            assert dash.shown_charts()[1].has_focus

    async def test_tab_reaches_a_chart(self) -> None:
        async with _app().run_test(size=(120, 40)) as pilot:
            await _dashboard(pilot)
            await pilot.press("tab")
            assert isinstance(pilot.app.screen.focused, Chart)


class TestLegend:
    """Legends name each series in its colour with latest and best; a long one is shortened by whole entries."""

    ENTRIES = (LegendEntry("loss", "bright_blue", 0.1475, 0.1402), LegendEntry("val_loss", "bright_green", 0.163, 0.15))

    def test_full_detail_when_it_fits(self) -> None:
        top, bottom = fit_legend(self.ENTRIES, [80, 80])
        assert top == "[ansi_bright_blue]━ loss[/] 0.1475 best 0.1402  [ansi_bright_green]━ val_loss[/] 0.163 best 0.15"
        assert bottom == ""

    def test_best_goes_first_then_the_values(self) -> None:
        assert fit_legend(self.ENTRIES, [26, 26]) == ["[ansi_bright_blue]━ loss[/] 0.1475 best 0.1402",
                                                      "[ansi_bright_green]━ val_loss[/] 0.163 best 0.15"]  # fmt: skip
        assert fit_legend(self.ENTRIES, [20, 20]) == ["[ansi_bright_blue]━ loss[/] 0.1475",
                                                      "[ansi_bright_green]━ val_loss[/] 0.163"]  # fmt: skip
        assert fit_legend(self.ENTRIES, [12, 12]) == ["[ansi_bright_blue]━ loss[/]", "[ansi_bright_green]━ val_loss[/]"]

    def test_names_are_never_cut(self) -> None:
        entries = [LegendEntry(f"output_{i}_loss", "bright_red") for i in range(6)]
        top, bottom = fit_legend(entries, [40, 40])
        assert top.count("━") + bottom.count("━") == 4 and bottom.endswith("+2")
        for i in range(4):
            assert f"output_{i}_loss" in top + bottom

    def test_run_labels_keep_their_first_words_while_distinct(self) -> None:
        runs = [LegendEntry("noise=0.6 early_stopping=on", "bright_blue"), LegendEntry("noise=0.2 early_stopping=off", "bright_green")]
        assert fit_legend(runs, [23, 33]) == ["[ansi_bright_blue]━ noise=0.6…[/]", "[ansi_bright_green]━ noise=0.2…[/]"]
        alike = [replace(runs[0], label="noise=0.6 early_stopping=on"), replace(runs[1], label="noise=0.6 early_stopping=off")]
        assert fit_legend(alike, [23, 33])[1].endswith("+1")  # "noise=0.6…" twice would name neither

    def test_the_dashboard_legend_has_latest_and_best(self) -> None:
        state = replay(read_events(CONTROLS / "events.jsonl"))
        losses = [y for _x, y in state.history["val_loss"]]
        accuracies = [y for _x, y in state.history["val_accuracy"]]
        assert best_value(state, "val_loss") == min(losses) and best_value(state, "val_accuracy") == max(accuracies)

    async def test_at_80x24_the_values_stay_with_smoothing_on(self) -> None:
        async with _app().run_test(size=(80, 24)) as pilot:
            dash = await _dashboard(pilot)
            await pilot.press("S", "S")
            await pilot.pause()
            for chart in (dash.query_one("#chart-loss", Chart), dash.query_one("#chart-metric", Chart)):
                text = _title(chart)
                assert "smooth 0.9" in text
                for entry in chart.legend_entries():
                    assert re.search(rf"━ {entry.label}\[/[a-z_]*\] \d", text), text  # the name, then its latest value


class TestAxisMarks:
    """Learning-rate changes and manual checkpoints are marked on the loss chart's time axis."""

    def test_marks_of_the_recorded_run(self) -> None:
        state = replay(read_events(CONTROLS / "events.jsonl"))
        assert axis_marks(state) == ((2.0, "lr_down"), (3.0, "checkpoint"))  # written at epoch 4's first step

    def test_a_checkpoint_is_marked_at_its_step(self) -> None:
        state = replay([ev.RunStarted(run_id="r", run_dir=None, name="r", epochs=5, steps_per_epoch=40, t=0.0),
                        ev.CheckpointSaved(path="a.keras", kind="manual", epoch=1, step=10, t=1.0),
                        ev.CheckpointSaved(path="best.keras", kind="best", epoch=1, t=2.0),
                        ev.CheckpointSaved(path="b.keras", kind="manual", epoch=3, step=30, t=3.0)])  # fmt: skip
        assert axis_marks(state) == ((1.25, "checkpoint"), (3.75, "checkpoint"))

    def test_marks_are_drawn_on_the_axis_line(self) -> None:
        series = (("loss", tuple((float(x), 1.0 / x) for x in range(1, 11))),)
        drawing = render_chart(series, 60, 12, x_limits=(0.0, 10.0), marks=((5.0, "lr_down"), (7.5, "checkpoint")))
        axis = next(line for line in drawing.splitlines() if "└" in line)
        assert "▾" in axis and "◆" in axis and axis.index("▾") < axis.index("◆")
        assert "▾" not in render_chart(series, 60, 12, x_limits=(0.0, 10.0))


class TestHeaderAt80:
    """At 80 columns the header cuts no counter and no learning rate."""

    async def test_long_run_names_and_counters(self) -> None:
        state = DashState(status="running", run_id="20261202-041434-a-rather-long-spirals-name", params=8642,
                          device="cpu", learning_rate=0.00125, epochs=300, epoch=125, steps=1250, step=150,
                          samples_per_s=9081.2, started_t=0.0, last_t=100.0, epoch_started_t=99.0)  # fmt: skip
        async with _app().run_test(size=(80, 24)) as pilot:
            header = pilot.app.screen.query_one(RunHeader)
            header.state = state
            await pilot.pause()
            rows = [line.plain for line in header._rows(state, header.content_size.width)]
            assert all(len(row) <= 80 for row in rows)
            assert rows[0].endswith("lr 0.00125") and "a-rather-long-spirals-name" in rows[0]
            assert rows[1].startswith("epoch 126/300 ") and rows[2].startswith("batch 150/1250 ")
            assert "9,081 samples/s" in rows[2]


class TestEventLogFolds:
    """The event log keeps one best-checkpoint line, saying how many there were."""

    def test_fold(self) -> None:
        lines = (LogLine(1, "info", "epoch 1: loss=1"), LogLine(1, "checkpoint", "best checkpoint at epoch 1: b.keras"),
                 LogLine(2, "checkpoint", "manual checkpoint at epoch 2: m.keras"),
                 LogLine(2, "info", "epoch 2: loss=0.5"), LogLine(2, "checkpoint", "best checkpoint at epoch 2: b.keras"))  # fmt: skip
        folded = fold_best_checkpoints(lines)
        assert [line.text for line in folded] == ["epoch 1: loss=1", "manual checkpoint at epoch 2: m.keras",
                                                  "epoch 2: loss=0.5", "best checkpoint at epoch 2 (×2): b.keras"]  # fmt: skip
        assert folded[0] is lines[0] and folded[2] is lines[3]
        assert fold_best_checkpoints(lines[:2]) == lines[:2]

    async def test_the_log_on_screen(self) -> None:
        async with _app().run_test(size=(120, 40)) as pilot:
            dash = await _dashboard(pilot)
            shown = [line.text for line in dash.query_one(EventLog).lines]
            best = [text for text in shown if text.startswith("best checkpoint")]
            assert best == ["best checkpoint at epoch 5 (×4): …/checkpoints/best.keras"] or (
                len(best) == 1 and "(×" in best[0]
            ), best


@pytest.mark.parametrize("size", [(80, 24), (120, 40)])
async def test_attach_reads_the_charts_the_same_way(size) -> None:
    """kwb attach (a finished run) shows the same dashboard: S, Y and z work there too."""
    app = make_app(SAMPLE, warm_up=False, cursor_blink=False, attach=CONTROLS)
    async with app.run_test(size=size) as pilot:
        for _ in range(100):
            if app.latest.history:
                break
            await pilot.pause(0.05)
        dash = app.screen.query_one(Dashboard)
        await pilot.press("S", "Y", "z")
        await pilot.pause()
        assert dash.smoothing == 0.6 and dash.log_loss and dash.zoomed is dash.query_one("#chart-loss", Chart)


class TestRunsOverlay:
    """The Runs screen's overlay reads the same way: S smooths both charts, Y the loss chart's scale, z one chart."""

    async def test_overlay_keys(self) -> None:
        app = make_app(SAMPLE, warm_up=False, cursor_blink=False, start_mode="runs", runs_dir=FIXTURES / "runs")
        async with app.run_test(size=(120, 40)) as pilot:
            await pilot.app.workers.wait_for_complete()
            await pilot.pause()
            await pilot.press("space", "down", "space", "v")
            await pilot.pause()
            loss, metric = app.screen.query_one("#overlay-loss", Chart), app.screen.query_one("#overlay-metric", Chart)
            assert loss.series and app.screen.check_action("smooth", ()) is True
            await pilot.press("S", "S", "Y", "right", "right", "z")
            await pilot.pause()
            assert (loss.smoothing, metric.smoothing, loss.log_y, metric.log_y) == (0.9, 0.9, True, False)
            assert metric.display and not loss.display and "z or escape" in str(metric.border_subtitle)
            await pilot.press("escape")
            await pilot.pause()
            assert loss.display and metric.display and app.screen.query_one("#overlay").display
