"""Every deliberately broken config: exit status 2 from ``validate`` and ``train``, the exact message, nothing written."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
INVALID = ROOT / "sample_configs" / "invalid"

# file -> the message lines after "error in invalid/<file>:" ({dir} is the copied invalid/ folder).
EXPECTED: dict[str, list[str]] = {
    "binary.yaml": ["is a binary file, expected YAML text"],
    "class_weight_outputs.yaml": [
        "fit.class_weight: Keras weighs classes only for a model with one target array, and this data has one per "
        "output (label, score); leave fit.class_weight out, or give data.y as one key for a single-output model"
    ],
    "data_unknown_key.yaml": [
        "data.x.image: 'imgae' is not a key of synthetic two_inputs (keys: image, meta); did you mean 'image'?"
    ],
    "empty.yaml": ["is empty, expected a YAML mapping with at least a 'model' key"],
    "graph_add_shapes.yaml": ["model.layers[2]: Add needs inputs of one shape, got (None, 28, 28, 16) and (None, 28, 28, 8)"],
    "graph_bad_output.yaml": ["model.outputs[1]: 'scroe' is not a layer (did you mean 'score'?)"],
    "graph_cycle.yaml": [
        "model.layers[0].inputs: 'b' is not an input or an earlier layer: it is model.layers[1], below this one "
        "(inputs come only from layers above, so the graph has no cycles)"
    ],
    "graph_duplicate_name.yaml": ["model.layers[1].name: 'hidden' is already the name of model.layers[0]"],
    "graph_no_data.yaml": ["data.x: no data for input 'meta'"],
    "graph_unknown_input.yaml": ["model.layers[4].inputs: 'c9' is not an input or an earlier layer (did you mean 'c1'?)"],
    "missing_file.yaml": ["data.path: file not found", "file: {dir}/no_such_file.csv"],
    "negative_units.yaml": ["model.layers[2].Dense.units: must be a positive integer, got -4"],
    "shape_mismatch.yaml": [
        "model.layers[1].Conv2D: does not fit its input of shape (None, 16): "
        "expected min_ndim=4, found ndim=2. Full shape received: (None, 16)"
    ],
    "syntax_error.yaml": ["YAML syntax error at line 7, column 1: expected ',' or '}', but got '<stream end>'"],
    "unknown_key.yaml": ["compile.optimiser: unknown key 'optimiser' (did you mean 'optimizer'?)"],
    "unknown_layer.yaml": ["model.layers[1]: unknown layer 'Dnese' (did you mean 'Dense'?)"],
    "unknown_loss.yaml": ["compile.loss: unknown loss 'categorical_crossentropi' (did you mean 'categorical_crossentropy'?)"],
    "unknown_optimizer.yaml": ["compile.optimizer.name: unknown optimizer 'adma' (did you mean 'Adam'?)"],
    "wrong_output_size.yaml": [
        "model.layers[1].Dense.units: the last layer outputs 3 values but the data has 2 classes (set its units to 2)"
    ],
    "wrong_type.yaml": ["fit.epochs: must be an integer, got 'ten'"],
}


class TestInvalidSamples:
    """Every broken sample config has its expected message, and kwb validate/train exit 2 with it."""

    def test_every_invalid_sample_has_an_expected_message(self):
        assert sorted(p.name for p in INVALID.iterdir() if p.is_file()) == sorted(EXPECTED)

    def test_every_invalid_sample_says_what_is_broken(self):
        for name in EXPECTED:
            if name not in ("binary.yaml", "empty.yaml"):
                assert (INVALID / name).read_text().startswith("# "), name

    @pytest.mark.parametrize("verb", ["validate", "train"])
    @pytest.mark.parametrize("name", sorted(EXPECTED))
    def test_invalid_config_exits_2_with_the_exact_message(self, kwb, tmp_path: Path, name: str, verb: str):
        shutil.copytree(INVALID, tmp_path / "invalid")
        result = kwb(verb, f"invalid/{name}")
        assert result.code == 2, result
        assert result.exception is None, result
        folder = (tmp_path / "invalid").resolve()
        expected = [f"error in invalid/{name}:"] + ["  " + line.replace("{dir}", str(folder)) for line in EXPECTED[name]]
        assert result.err.strip("\n").splitlines() == expected, result
        assert "Traceback" not in result.out + result.err
        assert result.out == ""
        assert sorted(p.name for p in tmp_path.iterdir()) == ["invalid"]  # no runs/, nothing written
