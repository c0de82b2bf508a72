"""engine.config (schema), config_io (YAML, --set, parse_value) and config_issues (messages): loading, defaults, round-trips, errors."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import yaml

from engine.config import RunConfig
from engine.config_io import apply_overrides, dump_config, load_config, parse_config
from engine.errors import ConfigError, suggest

ROOT = Path(__file__).resolve().parents[2]
SAMPLES = sorted((ROOT / "sample_configs").glob("*.yaml"))
MINIMAL = {"model": {"layers": [{"Dense": {"units": 1}}]}}


def issues(exc_info: pytest.ExceptionInfo[ConfigError]) -> list[tuple[str, str]]:
    return exc_info.value.issues


class TestSampleConfigs:
    """Every sample config loads, round-trips through dump/parse and trains identically."""

    def test_there_are_sample_configs(self):
        names = {p.name for p in SAMPLES}
        assert {"spirals.yaml", "moons.yaml", "sine_regression.yaml", "flowers_csv.yaml", "signals_hdf5.yaml"} <= names

    @pytest.mark.parametrize("path", SAMPLES, ids=lambda p: p.stem)
    def test_every_sample_config_loads(self, path: Path):
        cfg = load_config(path)
        assert isinstance(cfg, RunConfig)
        raw = yaml.safe_load(path.read_text())
        assert cfg.name == raw["name"]
        assert cfg.model.layers == raw["model"]["layers"]
        if cfg.data.path is not None:  # relative paths point into sample_configs/data/
            assert os.path.isabs(cfg.data.path) and os.path.exists(cfg.data.path), cfg.data.path
        if cfg.data.test is not None:
            assert os.path.isabs(cfg.data.test.path) and os.path.exists(cfg.data.test.path)

    @pytest.mark.parametrize("path", SAMPLES, ids=lambda p: p.stem)
    def test_dump_then_parse_round_trips(self, path: Path):
        cfg = load_config(path)
        text = dump_config(cfg)
        again = parse_config(yaml.safe_load(text), source="dumped")
        assert again == cfg
        assert dump_config(again) == text  # stable: dumping twice gives the same file

    def test_round_trip_trains_identically(self, tiny_config, tmp_path: Path):
        """The resolved config written to a run directory reproduces the run exactly (seeded)."""
        from engine.session import train

        cfg = tiny_config()
        again = parse_config(yaml.safe_load(dump_config(cfg)))
        assert again == cfg
        first = train(cfg, runs_dir=tmp_path / "a", capture_output=False, watch_control_dir=False)
        second = train(again, runs_dir=tmp_path / "b", capture_output=False, watch_control_dir=False)
        assert first.status == second.status == "finished"
        assert len(first.history) == 2
        # Same seed, same data, same model: the same numbers (up to float32 summation noise).
        assert [row.keys() for row in first.history] == [row.keys() for row in second.history]
        for a, b in zip(first.history, second.history):
            assert b == pytest.approx(a, rel=1e-6)
        assert second.evaluation == pytest.approx(first.evaluation, rel=1e-6)
        assert first.history[0]["loss"] != first.history[1]["loss"]  # it really trained


class TestDefaults:
    """Defaults fill in, and `true` turns a callback on with its defaults."""

    def test_defaults_are_filled_in(self):
        cfg = parse_config(MINIMAL)
        assert cfg.name == "run" and cfg.seed == 42
        assert cfg.data.source == "synthetic" and cfg.data.validation_split == 0.2 and cfg.data.test_split == 0.0
        assert cfg.model.input_shape is None and cfg.model.path is None
        assert cfg.compile.optimizer.name == "adam" and cfg.compile.optimizer.learning_rate == 0.001
        assert cfg.compile.loss == "sparse_categorical_crossentropy" and cfg.compile.metrics == ["accuracy"]
        assert (cfg.fit.epochs, cfg.fit.batch_size, cfg.fit.shuffle, cfg.fit.initial_epoch) == (30, 32, True, 0)
        assert cfg.fit.steps_per_execution == "auto" and cfg.fit.execution_ms == 25 and cfg.fit.validation_freq == 1
        cb = cfg.callbacks
        assert cb.early_stopping is None and cb.reduce_lr_on_plateau is None and cb.lr_schedule is None
        assert cb.model_checkpoint is not None and cb.model_checkpoint.monitor == "val_loss"
        assert cb.csv_logger and cb.terminate_on_nan and cb.backup_and_restore and cb.tensorboard is None
        assert cfg.runtime.device == "auto" and cfg.runtime.strategy == "default" and cfg.runtime.mixed_precision is None
        assert cfg.controls.lr_factor == 0.5 and cfg.output.runs_dir == "runs"

        dumped = yaml.safe_load(dump_config(cfg))
        assert list(dumped) == ["name", "seed", "data", "model", "compile", "fit", "callbacks", "runtime", "controls", "output"]
        assert dumped["fit"]["epochs"] == 30 and dumped["callbacks"]["model_checkpoint"]["save_best_only"] is True

    def test_true_turns_a_callback_on_with_its_defaults(self):
        cfg = parse_config({**MINIMAL, "callbacks": {"early_stopping": True, "model_checkpoint": False, "tensorboard": True}})
        assert cfg.callbacks.early_stopping is not None and cfg.callbacks.early_stopping.patience == 5
        assert cfg.callbacks.model_checkpoint is None
        assert cfg.callbacks.tensorboard is not None and cfg.callbacks.tensorboard.update_freq == "epoch"


def spirals_raw() -> dict:
    return yaml.safe_load((ROOT / "sample_configs" / "spirals.yaml").read_text())


class TestSetOverrides:
    """--set key.path=value: YAML values, list indices, new sections, every bad override reported."""

    def test_set_parses_values_as_yaml_scalars(self):
        cfg = load_config(
            ROOT / "sample_configs" / "spirals.yaml",
            ["fit.epochs=5", "fit.shuffle=false", "compile.optimizer.learning_rate=0.01", "name=other", "seed=null",
             "compile.metrics=[accuracy, auc]"],
        )  # fmt: skip
        assert cfg.fit.epochs == 5 and cfg.fit.shuffle is False and cfg.compile.optimizer.learning_rate == 0.01
        assert cfg.name == "other" and cfg.seed is None and cfg.compile.metrics == ["accuracy", "auc"]

    def test_set_list_index_paths(self):
        cfg = load_config(
            ROOT / "sample_configs" / "spirals.yaml",
            ["model.layers[0].Dense.units=8", "model.layers[3].Dense.activation=sigmoid", "model.input_shape[0]=2"],
        )
        assert cfg.model.layers[0] == {"Dense": {"units": 8, "activation": "relu"}}
        assert cfg.model.layers[3] == {"Dense": {"units": 2, "activation": "sigmoid"}}
        raw = apply_overrides(spirals_raw(), ["model.layers[1]={Dropout: {rate: 0.5}}"])
        assert raw["model"]["layers"][1] == {"Dropout": {"rate": 0.5}}

    def test_set_creates_missing_sections(self):
        raw = apply_overrides({"model": {"layers": []}}, ["callbacks.early_stopping.patience=3", "runtime.device=cpu"])
        assert raw["callbacks"] == {"early_stopping": {"patience": 3}} and raw["runtime"] == {"device": "cpu"}
        raw = apply_overrides(spirals_raw(), ["callbacks.early_stopping=null"])
        assert raw["callbacks"]["early_stopping"] is None
        cfg = load_config(ROOT / "sample_configs" / "spirals.yaml", ["callbacks.early_stopping=null"])
        assert cfg.callbacks.early_stopping is None

    def test_set_paths_are_relative_to_where_kwb_is_typed(self, tmp_path, monkeypatch):
        monkeypatch.chdir(tmp_path)
        cfg = load_config(ROOT / "sample_configs" / "flowers_csv.yaml", ["data.path=other.csv", "data.test.path=~/t.csv"])
        assert cfg.data.path == str(tmp_path / "other.csv")  # not sample_configs/other.csv
        assert cfg.data.test.path == os.path.expanduser("~/t.csv")
        assert load_config(ROOT / "sample_configs" / "flowers_csv.yaml").data.path == str(
            ROOT / "sample_configs" / "data" / "flowers.csv")  # in the file: relative to the file  # fmt: skip

    @pytest.mark.parametrize(
        ("override", "loc", "message"),
        [
            ("model.layers[9].Dense.units=8", "model.layers[9].Dense.units", "index [9] does not exist"),
            ("model.input_shape[1]=3", "model.input_shape[1]", "index [1] does not exist"),
            ("fit.epochs", "--set", "expected key.path=value, got 'fit.epochs'"),
            ("fit..epochs=3", "--set", "bad key path 'fit..epochs'"),
            ("=3", "--set", "bad key path ''"),
            ("model.layers[x].Dense=3", "--set", "bad key path 'model.layers[x].Dense'"),
            ("fit.epochs.x=3", "fit.epochs.x", "does not point into a mapping"),
            ("model.layers.Dense=3", "model.layers.Dense", "does not point into a mapping"),
        ],
    )
    def test_set_bad_paths_are_config_errors(self, override: str, loc: str, message: str):
        with pytest.raises(ConfigError) as info:
            load_config(ROOT / "sample_configs" / "spirals.yaml", [override])
        assert issues(info) == [(loc, message)]
        assert info.value.source == str(ROOT / "sample_configs" / "spirals.yaml")
        assert str(info.value).startswith(f"error in {ROOT / 'sample_configs' / 'spirals.yaml'}:\n  ")

    @pytest.mark.parametrize(
        ("override", "loc", "message"),
        [
            ("fit.epochs=ten", "fit.epochs", "must be an integer, got 'ten'"),
            ("fit.epochs=0", "fit.epochs", "must be greater than 0, got 0"),
            ("fit.epoch=3", "fit.epoch", "unknown key 'epoch' (did you mean 'epochs'?)"),
            ("model.layers[0].Dense.units=-1", "model.layers[0].Dense.units", "must be a positive integer, got -1"),
            ("data.validation_split=1.5", "data.validation_split", "must be less than 1.0, got 1.5"),
            ("fit.shuffle=maybe", "fit.shuffle", "must be true or false, got 'maybe'"),
        ],
    )
    def test_set_values_are_validated(self, override: str, loc: str, message: str):
        with pytest.raises(ConfigError) as info:
            load_config(ROOT / "sample_configs" / "spirals.yaml", [override])
        assert issues(info) == [(loc, message)]

    def test_every_bad_override_is_reported_at_once(self):
        with pytest.raises(ConfigError) as info:
            apply_overrides(spirals_raw(), ["nope", "model.layers[7].Dense.units=1", "fit.epochs=3"], source="x.yaml")
        assert [loc for loc, _ in issues(info)] == ["--set", "model.layers[7].Dense.units"]


class TestExponentNumbers:
    """1e-4 (no dot) is a number, in --set and in a file."""

    def test_exponent_numbers_without_a_dot_are_numbers(self):
        """PyYAML reads ``1e-4`` (no dot) as a string; a user writing it means a number."""
        cfg = load_config(
            ROOT / "sample_configs" / "spirals.yaml",
            ["model.layers[0].Dense.kernel_regularizer={l2: 1e-4}", "compile.optimizer.beta_1=9e-1",
             "compile.optimizer.learning_rate=1e-3"],
        )  # fmt: skip
        assert cfg.model.layers[0]["Dense"]["kernel_regularizer"] == {"l2": 1e-4}
        assert cfg.compile.optimizer.model_extra == {"beta_1": 0.9}
        assert cfg.compile.optimizer.learning_rate == 1e-3

    def test_exponent_numbers_in_a_yaml_file(self, write_config):
        path = write_config("model:\n  layers:\n    - Dense: {units: 2, kernel_regularizer: {l1: 5e-4}}\n"
                            "compile: {optimizer: {name: adam, learning_rate: 3e-3, epsilon: 1e-8}}\n")  # fmt: skip
        cfg = load_config(path)
        assert cfg.model.layers[0]["Dense"]["kernel_regularizer"] == {"l1": 5e-4}
        assert cfg.compile.optimizer.learning_rate == 3e-3 and cfg.compile.optimizer.model_extra == {"epsilon": 1e-8}
        assert yaml.safe_load(dump_config(cfg))["compile"]["optimizer"]["epsilon"] == 1e-8


class TestErrorMessages:
    """A config error names the key, says what was expected and suggests the closest name."""

    @pytest.mark.parametrize(
        ("override", "loc", "message"),
        [
            ("data.sorce=csv", "data.sorce", "unknown key 'sorce' (did you mean 'source'?)"),
            ("data.source=synthtic", "data.source",
             "must be one of 'synthetic', 'keras', 'csv', 'npz', 'hdf5', 'directory' or 'sklearn', got 'synthtic' "
             "(did you mean 'synthetic'?)"),
            ("runtime.device=gpus", "runtime.device", "must be one of 'auto', 'cpu' or 'gpu', got 'gpus' (did you mean 'gpu'?)"),
            ("model.layers[0].Dense.activation=rleu", "model.layers[0].Dense.activation",
             "unknown activation 'rleu' (did you mean 'relu'?)"),
            ("compile.optimizer.name=adma", "compile.optimizer.name", "unknown optimizer 'adma' (did you mean 'Adam'?)"),
            ("compile.optimizer.beta1=0.8", "compile.optimizer.beta1", "Adam has no argument 'beta1' (did you mean 'beta_1'?)"),
            ("compile.loss=binary_crossentropi", "compile.loss",
             "unknown loss 'binary_crossentropi' (did you mean 'binary_crossentropy'?)"),
            ("compile.metrics[0]=acuracy", "compile.metrics[0]", "unknown metric 'acuracy' (did you mean 'accuracy'?)"),
            ("callbacks.erly_stopping=true", "callbacks.erly_stopping", "unknown key 'erly_stopping' (did you mean 'early_stopping'?)"),
            ("model.layers[1].Dense.kernel_regularizer={L2: 0.1}", "model.layers[1].Dense.kernel_regularizer",
             "unknown regularizer 'L2' (did you mean 'l2'?)"),
        ],
    )  # fmt: skip
    def test_typos_get_suggestions(self, override: str, loc: str, message: str):
        with pytest.raises(ConfigError) as info:
            load_config(ROOT / "sample_configs" / "spirals.yaml", [override])
        assert issues(info) == [(loc, message)]

    def test_unknown_key_without_a_close_match_lists_the_choices(self):
        with pytest.raises(ConfigError) as info:
            parse_config({**MINIMAL, "fit": {"zzzzzz": 1}})
        ((loc, message),) = issues(info)
        assert loc == "fit.zzzzzz"
        assert message.startswith("unknown key 'zzzzzz'; expected one of: epochs, batch_size, shuffle")

    def test_suggest_prefers_transpositions_and_case(self):
        assert suggest("adma", ["SGD", "Adam", "Adamax"]) == " (did you mean 'Adam'?)"
        assert suggest("dense", ["Dense", "Dropout"]) == " (did you mean 'Dense'?)"
        assert suggest("qqqq", ["Dense", "Dropout"]) == ""

    def test_many_issues_are_listed_together(self):
        with pytest.raises(ConfigError) as info:
            parse_config({"name": "bad name", "model": {"layers": [{"Dense": {"units": 0}}]}, "fit": {"epochs": -1}})
        locs = [loc for loc, _ in issues(info)]
        assert "name" in locs and "fit.epochs" in locs
        assert str(info.value).startswith("error in config:\n  ")

    def test_model_needs_layers_or_path(self):
        with pytest.raises(ConfigError) as info:
            parse_config({"model": {}})
        assert issues(info) == [("model", "give either model.layers or model.path")]
        with pytest.raises(ConfigError) as info:
            parse_config({"data": {"source": "csv"}})
        assert issues(info) == [("model", "is required")]


class TestPaths:
    """Relative and ~ paths resolve against the config file's folder."""

    def test_relative_paths_resolve_against_the_config_folder(self, tmp_path: Path, monkeypatch):
        folder = tmp_path / "project" / "configs"
        (folder / "data").mkdir(parents=True)
        (folder / "data" / "train.csv").write_text("a,b\n1,0\n")
        (folder / "config.yaml").write_text(
            "data:\n  source: csv\n  path: data/train.csv\n  validation: {path: ../valid.csv}\n  test: {path: /abs/test.csv}\n"
            "model:\n  path: models/m.keras\n"
        )
        elsewhere = tmp_path / "elsewhere"
        elsewhere.mkdir()
        monkeypatch.chdir(elsewhere)
        cfg = load_config(os.path.relpath(folder / "config.yaml", elsewhere))
        assert cfg.data.path == str(folder / "data" / "train.csv")
        assert cfg.data.validation is not None and cfg.data.validation.path == str(tmp_path / "project" / "valid.csv")
        assert cfg.data.test is not None and cfg.data.test.path == "/abs/test.csv"
        assert cfg.model.path == str(folder / "models" / "m.keras")

        # The resolved copy (what a run directory keeps) points at the same files from anywhere.
        copy = tmp_path / "runs" / "r1" / "config.yaml"
        copy.parent.mkdir(parents=True)
        copy.write_text(dump_config(cfg))
        assert load_config(copy) == cfg

    def test_home_relative_paths_expand(self, tmp_path: Path, monkeypatch):
        monkeypatch.setenv("HOME", str(tmp_path))
        path = tmp_path / "c.yaml"
        path.write_text("data: {source: npz, path: ~/d.npz}\nmodel: {layers: [{Dense: {units: 1}}]}\n")
        assert load_config(path).data.path == str(tmp_path / "d.npz")

    def test_parse_config_without_a_base_leaves_paths_alone(self):
        cfg = parse_config({"data": {"source": "csv", "path": "x.csv"}, **MINIMAL})
        assert cfg.data.path == "x.csv"


class TestFiles:
    """Unreadable, missing or folder paths are ConfigErrors naming the file; saving is atomic."""

    @pytest.mark.parametrize(
        ("content", "message"),
        [
            ("", "is empty, expected a YAML mapping with at least a 'model' key"),
            ("- a\n- b\n", "must be a YAML mapping with at least a 'model' key, got list"),
            ("model: {layers: [\n", "YAML syntax error at line 2, column 1: "),
        ],
    )
    def test_unreadable_files(self, write_config, content: str, message: str):
        path = write_config(content)
        with pytest.raises(ConfigError) as info:
            load_config(path)
        ((loc, text),) = issues(info)
        assert loc == "" and text.startswith(message)
        assert info.value.source == str(path)

    def test_missing_file_and_folder(self, tmp_path: Path):
        with pytest.raises(ConfigError) as info:
            load_config(tmp_path / "nope.yaml")
        assert issues(info) == [("", "file not found")]
        with pytest.raises(ConfigError) as info:
            load_config(tmp_path)
        assert issues(info) == [("", "is a folder, expected a YAML file")]

    def test_save_config_is_atomic_and_reloadable(self, tmp_path: Path):
        from engine.config_io import save_config

        cfg = load_config(ROOT / "sample_configs" / "moons.yaml")
        target = tmp_path / "saved.yaml"
        save_config(cfg, target)
        assert load_config(target) == cfg
        assert [p.name for p in tmp_path.iterdir()] == ["saved.yaml"]  # no temp file left behind


class TestParseValue:
    """engine.config_io.parse_value reads one typed value by the same rules as a config file."""

    @pytest.mark.parametrize(
        ("text", "value"),
        [("1e-4", 1e-4), ("1.0e-5", 1e-5), ("-2E3", -2000.0), ("relu", "relu"), ("[3, 3]", [3, 3]),
         ("null", None), ("true", True), ("64", 64), ("  0.5 ", 0.5), ("", None), ("   ", None),
         ("{l2: 1e-4}", {"l2": 1e-4})],
    )  # fmt: skip
    def test_values(self, text: str, value: object):
        from engine.config_io import parse_value

        assert parse_value(text) == value and type(parse_value(text)) is type(value)

    def test_text_that_is_not_yaml_stays_a_string(self):
        from engine.config_io import parse_value

        assert parse_value("a: [") == "a: ["

    @pytest.mark.parametrize("text", ["1e-4", "1.0e-5", "relu", "[3, 3]", "null", "true"])
    def test_same_value_as_in_a_config_file(self, write_config, text: str):
        from engine.config_io import parse_value

        from engine.config_io import read_raw_config

        path = write_config(f"model:\n  layers:\n    - Dense: {{units: 2, probe: {text}}}\n")
        assert read_raw_config(path)["model"]["layers"][0]["Dense"]["probe"] == parse_value(text)

    def test_set_reads_values_the_same_way(self):
        cfg = load_config(ROOT / "sample_configs" / "spirals.yaml", ["compile.optimizer.learning_rate=1e-4"])
        assert cfg.compile.optimizer.learning_rate == 1e-4


class TestReadRawConfig:
    """engine.config_io.read_raw_config returns the file's mapping or a ConfigError naming the file."""

    def test_reads_the_mapping_unvalidated(self, write_config):
        from engine.config_io import read_raw_config

        path = write_config("name: x\nmodel: {layers: []}\nbogus: 1e-4\n")
        assert read_raw_config(path) == {"name": "x", "model": {"layers": []}, "bogus": 1e-4}

    @pytest.mark.parametrize(
        ("content", "message"),
        [
            ("", "is empty, expected a YAML mapping with at least a 'model' key"),
            ("- a\n- b\n", "must be a YAML mapping with at least a 'model' key, got list"),
            ("just text\n", "must be a YAML mapping with at least a 'model' key, got str"),
            ("model: {layers: [\n", "YAML syntax error at line 2, column 1: "),
        ],
    )
    def test_bad_files(self, write_config, content: str, message: str):
        from engine.config_io import read_raw_config

        path = write_config(content)
        with pytest.raises(ConfigError) as info:
            read_raw_config(path)
        ((loc, text),) = issues(info)
        assert loc == "" and text.startswith(message) and info.value.source == str(path)

    def test_missing_file_and_folder(self, tmp_path: Path):
        from engine.config_io import read_raw_config

        with pytest.raises(ConfigError, match="file not found"):
            read_raw_config(tmp_path / "nope.yaml")
        with pytest.raises(ConfigError, match="is a folder"):
            read_raw_config(tmp_path)
