"""The evaluation report in the app: ``e`` on the Runs screen opens the highlighted run's report (pilot and snapshots)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from rich.console import Console
from runs_compare_fixture import build_runs

from tui.factory import make_app
from tui.screens.report import ReportScreen
from tui.widgets.report_view import ReportView, render_report

SAMPLE = Path(__file__).parents[2] / "sample_configs" / "spirals.yaml"
REPORT = {
    "format": 1, "split": "test", "samples": 60,
    "outputs": [{
        "name": "", "kind": "classification", "classes": ["barolo", "grignolino", "barbera"],
        "matrix": [[18, 2, 0], [3, 15, 2], [0, 1, 19]], "accuracy": 52 / 60, "samples": 60,
        "per_class": [
            {"class": "barolo", "precision": 18 / 21, "recall": 0.9, "f1": 0.878, "support": 20},
            {"class": "grignolino", "precision": 15 / 18, "recall": 0.75, "f1": 0.789, "support": 20},
            {"class": "barbera", "precision": 19 / 21, "recall": 0.95, "f1": 0.927, "support": 20},
        ],
        "macro": {"precision": 0.866, "recall": 0.867, "f1": 0.865},
        "weighted": {"precision": 0.866, "recall": 0.867, "f1": 0.865},
        "confused": [{"true": "grignolino", "predicted": "barolo", "count": 3},
                     {"true": "barolo", "predicted": "grignolino", "count": 2}],
    }],
}  # fmt: skip


@pytest.fixture
def runs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    folder = build_runs(tmp_path)
    for run in folder.iterdir():
        (run / "report.json").write_text(json.dumps(REPORT))
    return folder


def _app(runs: Path):
    return make_app(SAMPLE, warm_up=False, cursor_blink=False, start_mode="runs", runs_dir=runs)


async def _loaded(pilot) -> None:
    await pilot.app.workers.wait_for_complete()
    await pilot.pause()


def _text(renderable) -> str:
    return _text_at(renderable, 120)


def _text_at(renderable, width: int) -> str:
    console = Console(width=width, record=True)
    console.print(renderable)
    return console.export_text()


class TestReportView:
    """The report drawn: the matrix with counts, the per-class table, the confused pairs."""

    def test_matrix_table_and_pairs_are_shown(self) -> None:
        text = _text(render_report(REPORT))
        rows = [line.split() for line in text.splitlines()]
        assert ["barolo", "18", "2", "0"] in rows and ["grignolino", "3", "15", "2"] in rows
        assert ["barbera", "0.905", "0.950", "0.927", "20"] in rows
        assert "grignolino → barolo (3), barolo → grignolino (2)" in text

    def test_a_regression_report_draws_predicted_against_actual(self) -> None:
        actual = [i / 10 for i in range(40)]
        report = {"split": "test", "samples": 40, "outputs": [{
            "name": "", "kind": "regression", "mae": 0.1, "rmse": 0.12, "r2": 0.98, "samples": 40,
            "residuals": {"edges": [-0.2, 0.0, 0.2], "counts": [20, 20]},
            "scatter": {"actual": actual, "predicted": [a + 0.1 for a in actual]}}]}  # fmt: skip
        text = _text(render_report(report))
        assert "MAE 0.1" in text and "predicted (y) against actual (x)" in text
        assert sum(ch in text for ch in "⠁⠂⠄⡀⢀⣀⠉⠒⠤") >= 2  # braille dots
        assert max(len(line) for line in _text_at(render_report(report), 50).splitlines()) <= 50

    def test_no_report_says_so(self) -> None:
        assert "No evaluation report" in _text(render_report(None))

    async def test_e_on_runs_opens_the_highlighted_runs_report(self, runs: Path) -> None:
        app = _app(runs)
        async with app.run_test(size=(120, 40)) as pilot:
            await _loaded(pilot)
            await pilot.press("e")
            await pilot.pause()
            assert isinstance(app.screen, ReportScreen)
            assert app.screen.query_one(ReportView).report == REPORT
            await pilot.press("escape")
            await pilot.pause()
            assert not isinstance(app.screen, ReportScreen)

    @pytest.mark.parametrize("size", [(80, 24), (120, 40)])
    def test_snapshot(self, snap_compare, runs: Path, size) -> None:
        assert snap_compare(_app(runs), terminal_size=size, press=["e"], run_before=_loaded)


class TestLrFindDialog:
    """f on the Train screen: the range test in a worker, enter writes the suggestion into the config being edited."""

    async def test_f_then_enter_applies_the_suggestion(self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
        from tui.screens.lr_find import LrFindScreen

        monkeypatch.chdir(tmp_path)
        config = tmp_path / "moons.yaml"
        config.write_text((SAMPLE.parent / "moons.yaml").read_text().replace("samples: 1500", "samples: 300"))
        app = make_app(config, warm_up=False, cursor_blink=False, start_mode="train", runs_dir=tmp_path / "runs")
        async with app.run_test(size=(120, 40)) as pilot:
            await pilot.press("f")
            await pilot.pause()
            dialog = app.screen
            assert isinstance(dialog, LrFindScreen)
            await app.workers.wait_for_complete()
            await pilot.pause()
            suggestion = dialog.suggestion
            assert suggestion is not None and 1e-7 <= suggestion <= 1.0
            await pilot.press("enter")
            await pilot.pause()
            assert not isinstance(app.screen, LrFindScreen)
            assert app.workspace.get("compile.optimizer.learning_rate") == suggestion
        assert not (tmp_path / "runs").exists()  # nothing trained, nothing written
        assert "learning_rate: 0.01" in config.read_text()  # unsaved until ctrl+s
