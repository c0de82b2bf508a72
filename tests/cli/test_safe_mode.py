"""A .keras file with a Lambda layer runs arbitrary code when loaded: refused unless the user says --unsafe
(verbs) or ``model.unsafe: true`` (a config's ``model.path``)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest


@pytest.fixture(scope="module")
def lambda_model(tmp_path_factory) -> Path:
    import keras

    path = tmp_path_factory.mktemp("lambda") / "lambda.keras"
    inputs = keras.Input((2,))
    doubled = keras.layers.Lambda(lambda t: t * 2, name="double")(inputs)
    keras.Model(inputs, keras.layers.Dense(2, activation="softmax")(doubled)).save(path)
    return path


def config(tmp_path: Path, model_path: Path, unsafe: bool | None = None) -> Path:
    extra = "" if unsafe is None else f"\n  unsafe: {str(unsafe).lower()}"
    text = f"""name: loaded
data: {{source: synthetic, name: moons, samples: 64}}
model:
  path: {model_path}{extra}
compile: {{loss: sparse_categorical_crossentropy, metrics: [accuracy]}}
fit: {{epochs: 1, batch_size: 16, steps_per_execution: 1}}
"""
    (tmp_path / "c.yaml").write_text(text)
    return tmp_path / "c.yaml"


class TestInspect:
    """kwb inspect refuses a Lambda model with the reason, and loads it with --unsafe."""

    def test_refused_then_loaded_with_unsafe(self, kwb, lambda_model: Path):
        refused = kwb("inspect", lambda_model)
        assert refused.code == 2, refused
        lines = refused.err.strip().splitlines()
        assert lines[0] == f"error in {lambda_model}:"
        assert "Lambda layer" in lines[1] and "arbitrary code" in lines[1] and "pass --unsafe" in lines[1]
        assert "Traceback" not in refused.err
        allowed = kwb("inspect", lambda_model, "--unsafe")
        assert allowed.code == 0 and "double" in allowed.out and "Lambda" in allowed.out, allowed


class TestModelPath:
    """A config's model.path with a Lambda layer is refused until model.unsafe is true."""

    def test_validate_refuses_then_accepts(self, kwb, lambda_model: Path, tmp_path: Path):
        refused = kwb("validate", config(tmp_path, lambda_model))
        assert refused.code == 2, refused
        assert "model.path" in refused.err and "Lambda layer" in refused.err and "model.unsafe: true" in refused.err
        allowed = kwb("validate", config(tmp_path, lambda_model, unsafe=True))
        assert allowed.code == 0, allowed


class TestRunVerbs:
    """predict and evaluate on a run whose model holds a Lambda layer need --unsafe."""

    def test_predict_and_evaluate(self, kwb, lambda_model: Path, tmp_path: Path):
        import shutil

        from engine.config_io import load_config
        from engine.runs import create_run_dir

        rd = create_run_dir(load_config(config(tmp_path, lambda_model, unsafe=True)), tmp_path / "runs")
        shutil.copy(lambda_model, rd.model)
        np.save(tmp_path / "x.npy", np.zeros((3, 2), "float32"))
        for verb in (["predict", rd.path, "x.npy"], ["evaluate", rd.path]):
            refused = kwb(*verb)
            assert refused.code == 2 and "Lambda layer" in refused.err and "--unsafe" in refused.err, refused
            allowed = kwb(*verb, "--unsafe")
            assert allowed.code == 0, allowed
