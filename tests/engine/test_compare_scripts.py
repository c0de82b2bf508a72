"""engine.compare with script runs beside config runs: only comparable settings become columns, the ones people vary first, every cell short."""

from __future__ import annotations

from pathlib import Path

import pytest
from mixed_runs import build_mixed_runs

from engine.compare import CELL_WIDTH, compare_runs, differing_paths, script_settings

NOT_SETTINGS = ("seed", "data", "compile", "runtime", "summary", "cwd", "argv0", "x", "y", "recorded", "versions", "kind")


@pytest.fixture
def comp(tmp_path: Path):
    return compare_runs(sorted(build_mixed_runs(tmp_path).iterdir()))


class TestScriptRunsBesideConfigRuns:
    """A script run's script.json reads as settings under a config's key paths; the rest of it is no setting."""

    def test_the_columns_are_what_was_varied(self, comp) -> None:
        assert comp.settings == ["compile.optimizer.learning_rate", "fit.batch_size", "args.lr", "args.epochs"]
        assert [comp.names[p] for p in comp.settings] == ["optimizer.lr", "batch_size", "args.lr", "args.epochs"]
        assert not [p for p in comp.settings if p.rsplit(".", 1)[-1] in NOT_SETTINGS or p in NOT_SETTINGS]

    def test_values_line_up_across_kinds(self, comp) -> None:
        lr, batch = (comp.names[p] for p in comp.settings[:2])
        assert [comp.cell(r, lr) for r in comp.rows] == ["0.01", "0.001", "0.01", "0.003"]
        assert [comp.cell(r, batch) for r in comp.rows] == ["32", "64", "64", "128"]
        assert [comp.cell(r, "args.epochs") for r in comp.rows] == ["-", "-", "-", "4"]

    def test_every_cell_is_short(self, comp) -> None:
        cells = [comp.cell(r, c) for r in comp.rows for c in comp.columns() if c not in ("run", "state")]
        assert cells and max(map(len, cells)) <= CELL_WIDTH

    def test_script_options_and_what_is_left_out(self) -> None:
        flat = script_settings({"script": "/a/b/train.py", "args": ["--lr", "0.01", "--deep", "-b=8", "data.npz", "--n", "-3"],
                                "cwd": "/a", "argv0": "train.py", "model": {"summary": ["x"] * 40},
                                "fit": {"x": "ndarray (10, 2)", "batch_size": 8, "class_weight": False}})  # fmt: skip
        assert flat == {"script": "train.py", "fit.batch_size": 8, "args.lr": 0.01, "args.deep": True, "args.b": 8, "args.n": -3}


class TestComparableValues:
    """Text pages are never a column; long values are cut with an ellipsis; a key only the other kind of run has is no difference."""

    def test_long_or_multiline_text_is_never_chosen(self) -> None:
        assert differing_paths([{"a": "x" * 100, "b": 1}, {"a": "y" * 100, "b": 2}]) == ["b"]
        assert differing_paths([{"a": "one\ntwo"}, {"a": "three\nfour"}]) == []
        assert differing_paths([{"a": list(range(40))}, {"a": list(range(41))}]) == []

    def test_a_long_value_is_cut_in_its_cell(self, tmp_path: Path) -> None:
        import json

        import yaml
        from mixed_runs import CONFIG

        runs = build_mixed_runs(tmp_path)
        for i, run in enumerate(sorted(runs.glob("*-spirals"))):
            cfg = yaml.safe_load((run / "config.yaml").read_text())
            cfg["model"] = {**CONFIG["model"], "path": f"/data/models/experiments/2026/december/candidate-{i}.keras"}
            (run / "config.yaml").write_text(yaml.safe_dump(cfg))
        comp = compare_runs(sorted(runs.iterdir()))
        cells = [comp.cell(r, "path") for r in comp.rows]
        assert cells[0] == "/data/models/experiment…" and len(cells[0]) == CELL_WIDTH
        assert cells[2:] == ["-", "-"]  # a script run has no model.path: no value, not a difference
        assert json.dumps(comp.value(comp.rows[0], "path")).endswith('candidate-0.keras"')  # the whole value is kept

    def test_missing_counts_only_against_runs_of_its_kind(self) -> None:
        config = {"seed": 42, "data.name": "spirals", "fit.batch_size": 32}
        script = {"fit.batch_size": 32, "args.lr": 0.1}
        assert differing_paths([config, script], ["config", "script"]) == []
        assert differing_paths([config, script, {**script, "args.lr": 0.2}], ["config", "script", "script"]) == ["args.lr"]
        assert differing_paths([config, {"fit.batch_size": 32}], ["config", "config"]) == ["seed", "data"]  # among configs, "-" differs


class TestScriptJsonRecordsTheOptimizer:
    """A fit recorded by KwbCallback says in script.json how the model was compiled, so compare lines it up with config runs."""

    def test_optimizer_and_learning_rate(self, tmp_path: Path) -> None:
        import json

        import keras
        import numpy as np

        from engine.live import KwbCallback

        model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(2, activation="softmax")])
        model.compile(optimizer=keras.optimizers.SGD(learning_rate=0.003), loss="sparse_categorical_crossentropy")
        x, y = np.zeros((8, 2), "float32"), np.zeros((8,), "int32")
        model.fit(x, y, epochs=1, batch_size=4, verbose=0, callbacks=[KwbCallback(name="mine", runs_dir=tmp_path)])
        (run,) = tmp_path.iterdir()
        compiled = json.loads((run / "script.json").read_text())["compile"]
        assert compiled == {"optimizer": {"name": "sgd", "learning_rate": 0.003}, "loss": "sparse_categorical_crossentropy"}
        assert script_settings({"compile": compiled})["compile.optimizer.learning_rate"] == 0.003
