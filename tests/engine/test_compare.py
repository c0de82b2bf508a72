"""engine.compare: differing settings as short key paths, best and final metrics by direction, damaged runs read as far as they go."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
import yaml

from engine.compare import (
    MISSING, UNKNOWN, SortKey,
    compare_runs, differing_paths, flatten, format_value, run_labels, short_names,
)  # fmt: skip

BASE = {
    "name": "spirals",
    "data": {"source": "synthetic", "name": "spirals", "noise": 0.2},
    "model": {"input_shape": [2], "layers": [{"Dense": {"units": 16, "activation": "relu"}}, {"Dense": {"units": 2}}]},
    "compile": {"optimizer": {"name": "adam", "learning_rate": 0.01}, "metrics": ["accuracy"]},
    "fit": {"epochs": 3, "batch_size": 32},
    "callbacks": {"early_stopping": None},
}


def config(**changes) -> dict:
    """BASE with ``changes`` applied: ``lr=…``, ``units=…``, ``batch=…``, ``es=…``, ``epochs=…``, ``name=…``."""
    cfg = json.loads(json.dumps(BASE))
    if "lr" in changes:
        cfg["compile"]["optimizer"]["learning_rate"] = changes["lr"]
    if "units" in changes:
        cfg["model"]["layers"][0]["Dense"]["units"] = changes["units"]
    if "batch" in changes:
        cfg["fit"]["batch_size"] = changes["batch"]
    if "es" in changes:
        cfg["callbacks"]["early_stopping"] = changes["es"]
    if "epochs" in changes:
        cfg["fit"]["epochs"] = changes["epochs"]
    cfg["name"] = changes.get("name", cfg["name"])
    return cfg


def make_run(root: Path, run_id: str, cfg: dict | None, history: list[dict] | None, **status) -> Path:
    """A run directory as kwb writes it: config.yaml, status.json, history.csv."""
    path = root / run_id
    path.mkdir(parents=True)
    if cfg is not None:
        (path / "config.yaml").write_text(yaml.safe_dump(cfg, sort_keys=False), encoding="utf-8")
    if history:
        with open(path / "history.csv", "w", newline="") as fh:
            writer = csv.DictWriter(fh, fieldnames=["epoch", *history[0]])
            writer.writeheader()
            writer.writerows({"epoch": i, **row} for i, row in enumerate(history))
    (path / "model.keras").write_bytes(b"")  # a finished run without its model is damaged
    done = len(history or [])
    fields = {"state": "finished", "name": run_id.split("-", 2)[-1], "epochs": 3, "epochs_done": done, "duration_s": 12.0}
    (path / "status.json").write_text(json.dumps({**fields, **status}), encoding="utf-8")
    return path


def curve(*val_losses: float) -> list[dict]:
    return [{"loss": v + 0.1, "accuracy": 1 - v, "val_loss": v, "val_accuracy": 1 - v - 0.05} for v in val_losses]


class TestFlatten:
    """A config as key paths: layers by index with their class, scalar lists kept whole."""

    def test_layers_and_lists(self) -> None:
        flat = flatten(BASE)
        assert flat["model.layers[0]"] == "Dense"
        assert flat["model.layers[0].units"] == 16
        assert flat["model.input_shape"] == [2]
        assert flat["compile.optimizer.learning_rate"] == 0.01
        assert flat["callbacks.early_stopping"] is None


class TestDifferingPaths:
    """Exactly the settings that differ, a section off in one run counted once."""

    def test_two_settings_differ(self) -> None:
        flats = [flatten(config()), flatten(config(lr=0.001)), flatten(config(units=64, lr=0.001))]
        assert differing_paths(flats) == ["model.layers[0].units", "compile.optimizer.learning_rate"]

    def test_name_and_planned_epochs_are_not_settings(self) -> None:
        assert differing_paths([flatten(config(name="a", epochs=3)), flatten(config(name="b", epochs=9))]) == []

    def test_section_off_in_one_run_is_one_column(self) -> None:
        on = {"monitor": "val_loss", "patience": 2}
        flats = [flatten(config()), flatten(config(es=on)), flatten(config(es={**on, "patience": 5}))]
        # patience differs between the two runs that stop early; monitor is the same where it exists
        assert differing_paths(flats) == ["callbacks.early_stopping", "callbacks.early_stopping.patience"]

    def test_a_section_off_reads_off(self, tmp_path: Path) -> None:
        runs = [make_run(tmp_path, "r1-a", config(), curve(0.5)), make_run(tmp_path, "r2-b", config(es={"patience": 2}), curve(0.5))]
        comp = compare_runs(runs)
        assert [comp.cell(r, "early_stopping") for r in comp.rows] == ["off", "on"]

    def test_another_layer_class_and_an_extra_layer(self) -> None:
        other = config()
        other["model"]["layers"][0] = {"Conv1D": {"filters": 4}}
        longer = config()
        longer["model"]["layers"].append({"Dropout": {"rate": 0.1}})
        assert differing_paths([flatten(config()), flatten(other)]) == [
            "model.layers[0]", "model.layers[0].units", "model.layers[0].activation", "model.layers[0].filters"]  # fmt: skip
        assert differing_paths([flatten(config()), flatten(longer)]) == ["model.layers[2]"]

    def test_an_unreadable_run_takes_no_part(self) -> None:
        assert differing_paths([flatten(config()), None, flatten(config())]) == []


class TestShortNames:
    """Key paths shortened for people, still telling columns apart."""

    def test_short_names(self) -> None:
        paths = ["compile.optimizer.learning_rate", "model.layers[0].units", "fit.batch_size",
                 "callbacks.reduce_lr_on_plateau.patience", "callbacks.early_stopping.patience", "model.layers[1]"]  # fmt: skip
        assert short_names(paths) == {
            "compile.optimizer.learning_rate": "lr", "model.layers[0].units": "layers[0].units",
            "fit.batch_size": "batch_size", "callbacks.reduce_lr_on_plateau.patience": "plateau.patience",
            "callbacks.early_stopping.patience": "early_stopping.patience", "model.layers[1]": "layers[1]",
        }  # fmt: skip

    def test_clashing_tails_grow(self) -> None:
        assert short_names(["data.a.units", "model.a.units"]) == {"data.a.units": "data.a.units", "model.a.units": "model.a.units"}

    def test_values(self) -> None:
        assert [format_value(v) for v in (None, True, 0.001, 1e-05, [2, 3], "relu")] == ["-", "true", "0.001", "1e-05", "[2, 3]", "relu"]


class TestCompareRuns:
    """Best and final metrics by each metric's direction; sorting; labels."""

    @pytest.fixture
    def runs(self, tmp_path: Path) -> list[Path]:
        return [
            make_run(tmp_path, "20260101-000001-a", config(), curve(0.5, 0.3, 0.4)),
            make_run(tmp_path, "20260101-000002-b", config(lr=0.001), curve(0.6, 0.5, 0.45)),
            make_run(tmp_path, "20260101-000003-c", config(lr=0.001, units=64), curve(0.2, 0.25, 0.35)),
        ]

    def test_best_and_final(self, runs: list[Path]) -> None:
        comp = compare_runs(runs)
        a = comp.rows[0]
        assert a.best["val_loss"] == pytest.approx(0.3)  # lower is better
        assert a.best["val_accuracy"] == pytest.approx(0.65)  # higher is better
        assert a.final["val_loss"] == pytest.approx(0.4)
        assert comp.metrics == ["val_loss", "val_accuracy", "loss", "accuracy"]
        assert comp.columns() == ["run", "state", "epochs", "lr", "layers[0].units", "best_val_loss", "best_val_accuracy",
                                  "best_loss", "best_accuracy", "final_val_loss", "final_val_accuracy", "final_loss",
                                  "final_accuracy", "duration"]  # fmt: skip
        assert comp.cell(a, "epochs") == "3/3" and comp.cell(a, "lr") == "0.01"

    def test_sorting(self, runs: list[Path]) -> None:
        comp = compare_runs(runs)
        ids = lambda rows: [r.id[-1] for r in rows]  # noqa: E731
        assert ids(comp.sorted(SortKey("val_loss"))) == ["c", "a", "b"]
        assert ids(comp.sorted(SortKey("final_val_loss", descending=True))) == ["b", "a", "c"]
        assert ids(comp.sorted(SortKey("lr"))) == ["b", "c", "a"]  # equal values keep their order
        assert ids(comp.sorted(SortKey("compile.optimizer.learning_rate", descending=True))) == ["a", "b", "c"]
        assert comp.default_descending("best_val_accuracy") and not comp.default_descending("best_val_loss")
        with pytest.raises(KeyError):
            comp.resolve("nope")

    def test_labels_name_the_differing_settings(self, runs: list[Path]) -> None:
        labels = run_labels(compare_runs(runs))
        assert labels == {"20260101-000001-a": "lr=0.01 units=16", "20260101-000002-b": "lr=0.001 units=16",
                          "20260101-000003-c": "lr=0.001 units=64"}  # fmt: skip

    def test_labels_without_differences_use_names(self, tmp_path: Path) -> None:
        runs = [make_run(tmp_path, "20260101-000001-same", config(), curve(0.5)),
                make_run(tmp_path, "20260101-000002-same", config(), curve(0.4))]  # fmt: skip
        assert list(run_labels(compare_runs(runs)).values()) == ["000001-same", "000002-same"]


class TestDamaged:
    """A damaged run is shown with what can be read."""

    def test_torn_config_and_missing_history(self, tmp_path: Path) -> None:
        good = make_run(tmp_path, "20260101-000001-a", config(), curve(0.5, 0.3))
        other = make_run(tmp_path, "20260101-000002-b", config(lr=0.1), curve(0.4))
        torn = make_run(tmp_path, "20260101-000003-torn", None, None, epochs_done=2, best={"val_loss": 0.25})
        (torn / "config.yaml").write_text("model: {layers: [", encoding="utf-8")
        no_run = tmp_path / "20260101-000004-empty"
        no_run.mkdir()
        no_status = make_run(tmp_path, "20260101-000005-nostatus", config(lr=0.5), curve(0.7))
        (no_status / "status.json").unlink()
        comp = compare_runs([good, other, torn, no_run, no_status])
        assert [r.id for r in comp.rows] == [good.name, other.name, torn.name, no_status.name]
        assert comp.settings == ["compile.optimizer.learning_rate"]
        row = comp.rows[2]
        assert row.damaged == ["config.yaml cannot be read", "no epoch's metrics can be read"]
        assert comp.rows[3].damaged == ["status.json is missing"]
        assert comp.value(comp.rows[3], "lr") == 0.5 and comp.value(comp.rows[3], "best_val_loss") == 0.7
        assert comp.value(row, "lr") == UNKNOWN
        assert comp.value(row, "best_val_loss") == 0.25  # status.json's best
        assert comp.value(row, "final_val_loss") is None
        assert [r.id for r in comp.sorted(SortKey("lr"))][-1] == torn.name  # unknown sorts last
        assert not comp.rows[0].damaged

    def test_missing_key_reads_dash(self, tmp_path: Path) -> None:
        cfg = config()
        del cfg["fit"]["batch_size"]
        comp = compare_runs([make_run(tmp_path, "r1-a", config(), curve(0.5)), make_run(tmp_path, "r2-b", cfg, curve(0.5))])
        assert comp.settings == ["fit.batch_size"]
        assert comp.value(comp.rows[1], "batch_size") == MISSING
