"""Bad data refused before training: NaN/Inf (whole arrays, a sample of streamed HDF5), labels the loss cannot take,
empty splits, and the one-batch probe (engine.data.checks, engine.fit_checks.check_labels, engine.batch_probe)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

from engine.config import DataConfig
from engine.config_io import parse_config
from engine.data import load_data
from engine.data.checks import SAMPLE_BLOCKS, SAMPLE_ROWS, _blocks, check_splits, non_finite
from engine.errors import DataError, ModelError
from engine.session import prepare

DENSE3 = [{"Dense": {"units": 3, "activation": "softmax"}}]


def config(data: dict[str, Any], layers: list | None = None, base: Path | None = None, **compile_: Any):
    raw = {
        "name": "checks", "seed": 1, "data": data, "model": {"layers": layers or DENSE3},
        "compile": {"loss": "sparse_categorical_crossentropy", "metrics": ["accuracy"], **compile_},
        "fit": {"epochs": 1, "batch_size": 8},
    }  # fmt: skip
    return parse_config(raw, source="checks.yaml", base_dir=base)


def npz(path: Path, x: np.ndarray, y: np.ndarray, **more: np.ndarray) -> str:
    np.savez(path, x=x, y=y, **more)
    return str(path)


def arrays(n: int = 60, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    return rng.random((n, 4), dtype=np.float32), rng.integers(0, 3, n)


class TestNonFinite:
    """NaN or Inf in inputs or targets is refused, naming the file, the key or column, and the row."""

    def test_non_finite_counts_and_finds_the_first(self):
        a = np.zeros((5, 3), dtype="float32")
        a[3, 1], a[4, 2] = np.nan, np.inf
        assert non_finite(a) == (2, (3, 1), "NaN and Inf")
        assert non_finite(np.arange(4)) is None  # integers cannot hold NaN
        assert non_finite(np.ones(3)) is None

    def test_nan_in_npz_inputs_names_file_key_and_row(self, tmp_path: Path):
        x, y = arrays()
        x[41, 2] = np.nan
        path = npz(tmp_path / "d.npz", x, y)
        with pytest.raises(DataError) as info:
            load_data(config({"source": "npz", "path": path}).data)
        err = info.value
        assert (err.key, err.source) == ("data.x", path)
        assert "holds NaN: 1 value in 1 row, the first in data row 42, feature [2]" in err.message

    def test_inf_in_regression_targets(self, tmp_path: Path):
        x, _ = arrays()
        y = np.linspace(0, 1, len(x)).astype("float32")
        y[7] = -np.inf
        path = npz(tmp_path / "r.npz", x, y)
        with pytest.raises(DataError) as info:
            load_data(config({"source": "npz", "path": path}).data)
        assert info.value.key == "data.y" and "holds Inf" in info.value.message and "row 8" in info.value.message

    def test_csv_inf_cell_names_the_column(self, tmp_path: Path):
        rows = ["a,b,c,label"] + [f"{i},{i * 2},{i % 5},{i % 3}" for i in range(30)]
        rows[12] = "1,inf,3,0"
        path = tmp_path / "t.csv"
        path.write_text("\n".join(rows) + "\n")
        with pytest.raises(DataError) as info:
            load_data(config({"source": "csv", "path": str(path)}).data)
        assert info.value.source == str(path)
        assert "column 'b' holds Inf" in info.value.message and "the first on line 13" in info.value.message
        # with a text column, every column is its own input: the message still names b, keyed as a feature
        with_city = ["a,b,c,city,label"] + [r.rsplit(",", 1)[0] + ",paris," + r.rsplit(",", 1)[1] for r in rows[1:]]
        path.write_text("\n".join(with_city) + "\n")
        with pytest.raises(DataError) as info:
            load_data(config({"source": "csv", "path": str(path)}).data)
        assert "column 'b' holds Inf" in info.value.message and "the first on line 13" in info.value.message
        assert info.value.key == "data.features"

    def test_a_validation_file_is_checked_under_its_own_key(self, tmp_path: Path):
        x, y = arrays()
        xv, yv = arrays(20, seed=1)
        xv[3, 0] = np.nan
        cfg = config({"source": "npz", "path": npz(tmp_path / "t.npz", x, y),
                      "validation": {"path": npz(tmp_path / "v.npz", xv, yv)}})  # fmt: skip
        with pytest.raises(DataError) as info:
            load_data(cfg.data)
        assert info.value.key == "data.validation.x" and info.value.source.endswith("v.npz")

    def test_named_inputs_name_the_input(self, tmp_path: Path):
        x, y = arrays()
        meta = np.ones((len(x), 2), dtype="float32")
        meta[5, 1] = np.nan
        path = npz(tmp_path / "n.npz", x, y, meta=meta)
        data = DataConfig(source="npz", path=path, x={"signal": "x", "extra": "meta"})
        with pytest.raises(DataError) as info:
            load_data(data)
        assert info.value.key == "data.x.extra" and "input 'extra' (key 'meta')" in info.value.message

    def test_streamed_hdf5_is_sampled_in_spread_blocks(self, tmp_path: Path):
        import h5py

        n = SAMPLE_BLOCKS * SAMPLE_ROWS * 2
        blocks = _blocks(n)
        assert len(blocks) == SAMPLE_BLOCKS and blocks[0][0] == 0 and blocks[-1][1] == n
        x, y = arrays(n)
        x[blocks[-1][0] + 3, 1] = np.inf  # the last split's sampled block: validation
        path = tmp_path / "s.h5"
        with h5py.File(path, "w") as f:
            f["x"], f["y"] = x, y
        cfg = config({"source": "hdf5", "path": str(path), "x": "x", "y": "y", "stream": True, "validation_split": 0.2})
        with pytest.raises(DataError) as info:
            load_data(cfg.data, batch_size=64)
        assert info.value.key == "data.x" and f"data row {blocks[-1][0] + 4}" in info.value.message


class TestLabels:
    """Targets against the loss and the output units, before fit."""

    def test_negative_sparse_label(self, tmp_path: Path):
        x, y = arrays()
        y[9] = -1
        with pytest.raises(DataError) as info:
            prepare(config({"source": "npz", "path": npz(tmp_path / "d.npz", x, y)}))
        assert info.value.key == "data.y"
        assert "class numbers 0 to 2 (the last layer has 3 units)" in info.value.message and "-1" in info.value.message

    def test_one_hot_targets_with_sparse_loss(self, tmp_path: Path):
        x, y = arrays()
        path = npz(tmp_path / "d.npz", x, np.eye(3, dtype="float32")[y])
        with pytest.raises(ModelError) as info:
            prepare(config({"source": "npz", "path": path}))
        assert info.value.key == "compile.loss" and "one-hot (3 columns)" in info.value.message

    def test_one_hot_width_against_the_output(self, tmp_path: Path):
        x, y = arrays()
        path = npz(tmp_path / "d.npz", x, np.eye(3, dtype="float32")[y])
        layers = [{"Dense": {"units": 4, "activation": "softmax"}}]
        with pytest.raises(ModelError) as info:
            prepare(config({"source": "npz", "path": path}, layers, loss="categorical_crossentropy"))
        assert info.value.key == "model.layers[0].Dense.units"

    def test_binary_target_outside_0_1(self, tmp_path: Path):
        x, _ = arrays()
        y = np.where(np.arange(len(x)) % 2 == 0, 0.0, 1.0).astype("float32")
        y[4] = 2.5
        layers = [{"Dense": {"units": 1, "activation": "sigmoid"}}]
        with pytest.raises(DataError) as info:
            prepare(config({"source": "npz", "path": npz(tmp_path / "d.npz", x, y)}, layers,
                           loss="binary_crossentropy"))  # fmt: skip
        assert "between 0 and 1" in info.value.message and "2.5" in info.value.message


class TestSplits:
    """A split that was asked for and came out empty is refused with its key."""

    def test_validation_split_that_rounds_to_nothing(self):
        cfg = config({"source": "synthetic", "name": "xor", "samples": 10, "validation_split": 0.01})
        with pytest.raises(DataError) as info:
            check_splits(cfg.data, load_data(cfg.data, seed=1))
        assert info.value.key == "data.validation_split" and "leaves 0 of the 10 samples" in info.value.message

    def test_prepare_refuses_it_too(self):
        cfg = config({"source": "synthetic", "name": "xor", "samples": 10, "test_split": 0.02},
                     [{"Dense": {"units": 2, "activation": "softmax"}}])  # fmt: skip
        with pytest.raises(DataError) as info:
            prepare(cfg)
        assert info.value.key == "data.test_split"


class TestOneBatchProbe:
    """prepare runs one real batch through the compiled model: what would fail in fit fails there, nothing changes."""

    def test_auc_on_a_multi_class_model_names_the_metric(self, tmp_path: Path):
        x, y = arrays()
        cfg = config({"source": "npz", "path": npz(tmp_path / "d.npz", x, y)}, metrics=["accuracy", "auc"])
        with pytest.raises(ModelError) as info:
            prepare(cfg)
        assert info.value.key == "compile.metrics[1]"
        # The sentence a failed fit gives (engine.diagnose), with the key found by the probe.
        assert info.value.message.startswith("auc compares the labels with each of the model's 3 outputs")
        assert "data.one_hot: true with loss categorical_crossentropy" in info.value.message
        assert "Traceback" not in info.value.message and len(info.value.message) < 400

    def test_auc_with_one_hot_targets_passes_and_leaves_the_model_untouched(self, tmp_path: Path):
        from engine.batch_probe import probe_one_batch

        x, y = arrays()
        cfg = config({"source": "npz", "path": npz(tmp_path / "d.npz", x, y), "one_hot": True},
                     loss="categorical_crossentropy", metrics=["accuracy", "auc"])  # fmt: skip
        prep = prepare(cfg)
        before = [w.copy() for w in prep.model.get_weights()]
        probe_one_batch(prep.model, cfg, prep.data)
        assert all(np.array_equal(a, b) for a, b in zip(before, prep.model.get_weights()))
        assert all(np.all(v.numpy() == 0) for m in prep.model.metrics for v in m.variables)  # reset after the probe

    def test_a_failed_fit_gives_the_same_sentence(self, tmp_path: Path):
        from engine.diagnose import explain

        x, y = arrays()
        cfg = config({"source": "npz", "path": npz(tmp_path / "d.npz", x, y)}, metrics=["accuracy", "auc"])
        with pytest.raises(ModelError) as info:
            prepare(cfg)
        model = _compiled(cfg)
        with pytest.raises(Exception) as failed:  # noqa: PT011 - whatever TensorFlow raises from inside fit
            model.fit(x, y, epochs=1, batch_size=8, verbose=0)
        assert explain(failed.value, model).hint == info.value.message


def _compiled(cfg: Any) -> Any:
    """The config's model, built and compiled as prepare does, without the probe."""
    from engine.model import build_model, compile_model

    model = build_model(cfg, (4,))
    compile_model(model, cfg)
    return model
