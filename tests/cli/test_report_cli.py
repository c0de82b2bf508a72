"""kwb evaluate --report [--json]: the report printed and stored; word labels named; other data not stored."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
NAMES = {"0": "setosa", "1": "versicolor", "2": "virginica"}


@pytest.fixture
def words_run(kwb, tmp_path: Path):
    """A flowers CSV whose species are words, trained for two epochs; returns (run id, csv path)."""
    rows = list(csv.reader((ROOT / "sample_configs" / "data" / "flowers.csv").open()))
    path = tmp_path / "words.csv"
    with path.open("w", newline="") as f:
        csv.writer(f).writerows([rows[0], *([*r[:-1], NAMES[r[-1]]] for r in rows[1:])])
    config = tmp_path / "words.yaml"
    text = (ROOT / "sample_configs" / "flowers_csv.yaml").read_text().replace("data/flowers.csv", str(path))
    config.write_text(text.replace("epochs: 30", "epochs: 2"))
    res = kwb("train", config, "--runs-dir", tmp_path / "runs")
    assert res.code == 0, res
    (run,) = (tmp_path / "runs").iterdir()
    return run, path


class TestEvaluateReport:
    """kwb evaluate RUN --report."""

    def test_json_is_one_object_with_class_names_and_is_stored(self, kwb, words_run, tmp_path: Path) -> None:
        run, _ = words_run
        stored = json.loads((run / "report.json").read_text())  # written at the end of the run
        res = kwb("evaluate", run.name, "--runs-dir", tmp_path / "runs", "--report", "--json")
        assert res.code == 0, res
        report = json.loads(res.out)
        out = report["outputs"][0]
        assert sorted(out["classes"]) == ["setosa", "versicolor", "virginica"]
        assert sum(map(sum, out["matrix"])) == report["samples"] == 30
        assert out["matrix"] == stored["outputs"][0]["matrix"]  # same model, same split as at the end of the run
        assert set(report["scores"]) >= {"loss", "accuracy"}

    def test_text_and_other_data_is_not_stored(self, kwb, words_run, tmp_path: Path) -> None:
        run, path = words_run
        other = tmp_path / "other.csv"
        other.write_text("\n".join(path.read_text().splitlines()[:41]) + "\n")  # header + 40 rows
        before = (run / "report.json").read_text()
        res = kwb("evaluate", run.name, "--runs-dir", tmp_path / "runs", "--report", "--set", f"data.path={other}")
        assert res.code == 0, res
        assert "confusion matrix (rows: true class, columns: predicted)" in res.out
        assert "(40 samples)" in res.out and "stored as" not in res.out
        assert "virginica" in res.out and "precision" in res.out
        assert (run / "report.json").read_text() == before
