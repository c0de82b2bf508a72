"""engine.layer_args: every argument of a Keras layer with its default and description, cached per Keras version."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from engine.layer_args import arg_descriptions, cached_layer_arguments, choices_for, keras_version, layer_arguments


class TestArgumentsFromKeras:
    """Signature and docstring of the Keras class, the catalogue's arguments first."""

    def test_dense_has_every_argument_described(self, tmp_path: Path) -> None:
        spec = layer_arguments("Dense", tmp_path)
        assert spec is not None
        names = [a.name for a in spec.args]
        assert names[:3] == ["units", "activation", "use_bias"]  # the catalogue's, checked
        assert spec.arg("units").kind == "int" and spec.arg("units").required
        init = spec.arg("kernel_initializer")
        assert init.kind == "any" and init.default == "glorot_uniform"
        assert init.help == "Initializer for the kernel weights matrix."
        assert spec.arg("use_bias").help == "Boolean, whether the layer uses a bias vector."  # Keras' words beside the catalogue's check
        assert "name" not in names  # the entry's own key

    def test_a_layer_outside_the_catalogue(self, tmp_path: Path) -> None:
        spec = layer_arguments("Concatenate", tmp_path)
        assert spec is not None and spec.arg("axis").default == -1
        assert spec.arg("axis").help == "Axis along which to concatenate."
        assert layer_arguments("Dens", tmp_path) is None

    def test_a_spec_from_the_signature(self) -> None:
        spec = layer_arguments("GaussianDropout")
        assert spec is not None and spec.category == "keras"
        assert [(a.name, a.required, a.default) for a in spec.args] == [("rate", True, None), ("seed", False, None)]

    def test_the_names_an_argument_takes(self) -> None:
        assert "he_normal" in choices_for("kernel_initializer")
        assert "relu" in choices_for("recurrent_activation")
        assert choices_for("bias_regularizer") == ("l1", "l2", "l1_l2")
        assert choices_for("units") == ()

    def test_docstring_args_section(self) -> None:
        doc = """Does things.

        Args:
            units: Positive integer, dimensionality of the output space. More text
                on the next line.
            activation (str): Activation function
                to use.

        Input shape:
            whatever: not an argument.
        """
        assert arg_descriptions(doc) == {
            "units": "Positive integer, dimensionality of the output space.",
            "activation": "Activation function to use.",
        }


class TestCachePerKerasVersion:
    """Read once from Keras, then from a file named by the Keras version, without importing Keras."""

    def test_written_once_then_read_without_keras(self, tmp_path: Path) -> None:
        assert cached_layer_arguments("Dense", tmp_path) is None
        layer_arguments("Dense", tmp_path)
        path = tmp_path / f"keras-{keras_version()}" / "layer_args.json"
        assert "Dense" in json.loads(path.read_text(encoding="utf-8"))
        code = (
            "import sys; from pathlib import Path; from engine.layer_args import cached_layer_arguments; "
            f"spec = cached_layer_arguments('Dense', Path({str(tmp_path)!r})); "
            "assert spec is not None and spec.arg('kernel_initializer') is not None; "
            "print(sorted(m for m in ('keras', 'tensorflow') if m in sys.modules))"
        )
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
        assert out.stdout.strip() == "[]"
