"""The catalogue the builder offers: layers, activations, regularizers, optimizers, losses, metrics.

Nothing here imports Keras at import time, so configs can be checked and the app's
pickers filled instantly. The catalogue is what is offered first and documented; any
other Keras layer name still works and is checked against Keras itself when the model
is built (:func:`keras_layer_names` asks Keras, off the UI thread; ``engine.layer_args`` reads
every argument of a layer, the catalogue's first).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from engine.errors import format_loc, suggest
from engine.graph_spec import layer_entry, per_output

if TYPE_CHECKING:
    from engine.config import RunConfig

__all__ = [
    "ArgSpec",
    "LayerSpec",
    "LAYERS",
    "ACTIVATIONS",
    "REGULARIZERS",
    "OPTIMIZERS",
    "LOSSES",
    "LOSS_ALIASES",
    "METRICS",
    "canonical_loss",
    "canonical_optimizer",
    "check_layer",
    "check_config",
    "keras_layer_names",
]


@dataclass(frozen=True)
class ArgSpec:
    """One argument the builder knows how to edit and check.

    ``kind`` is int, float, bool, str, choice, activation, regularizer, ints (an int
    or a tuple of ints), shape (a list of ints) or any (not checked here: an argument
    read from a Keras signature, which Keras checks). ``minimum`` is inclusive unless
    ``exclusive`` is set.
    """

    name: str
    kind: str
    default: Any = None
    required: bool = False
    minimum: float | None = None
    maximum: float | None = None
    exclusive: bool = False
    choices: tuple[str, ...] = ()
    help: str = ""


@dataclass(frozen=True)
class LayerSpec:
    name: str
    category: str
    args: tuple[ArgSpec, ...] = ()
    help: str = ""

    def arg(self, name: str) -> ArgSpec | None:
        return next((a for a in self.args if a.name == name), None)


ACTIVATIONS = (
    "linear", "relu", "sigmoid", "softmax", "tanh", "elu", "selu", "softplus", "softsign",
    "hard_sigmoid", "exponential", "gelu", "swish", "silu", "relu6", "leaky_relu", "mish",
    "log_softmax", "hard_silu", "hard_swish", "celu", "glu", "sparse_plus",
    "squareplus", "tanh_shrink", "hard_tanh", "soft_shrink", "hard_shrink",
    "log_sigmoid", "sparsemax",
)  # fmt: skip
"""Activation names Keras accepts; the classic ones come first."""

REGULARIZERS = ("l1", "l2", "l1_l2")

_POSITIVE_INT = dict(kind="int", minimum=1)
_RATE = dict(kind="float", minimum=0.0, maximum=1.0)


def _a(name: str, kind: str, default: Any = None, **kw: Any) -> ArgSpec:
    return ArgSpec(name=name, kind=kind, default=default, **kw)


_REG = (
    _a("kernel_regularizer", "regularizer", help="{l2: 0.001}, {l1: 0.01} or {l1_l2: {l1: .., l2: ..}}"),
    _a("bias_regularizer", "regularizer"),
    _a("activity_regularizer", "regularizer"),
)
_ACT = _a("activation", "activation", None, help="activation applied to the output")
_PAD = _a("padding", "choice", "valid", choices=("valid", "same", "causal"))
_PAD2 = _a("padding", "choice", "valid", choices=("valid", "same"))
_RNN = (
    _a("units", "int", 32, required=True, minimum=1),
    _a("activation", "activation", "tanh"),
    _a("return_sequences", "bool", False),
    _a("dropout", "float", 0.0, minimum=0.0, maximum=1.0),
    _a("recurrent_dropout", "float", 0.0, minimum=0.0, maximum=1.0),
    *_REG,
)

LAYERS: dict[str, LayerSpec] = {
    s.name: s
    for s in (
        LayerSpec("Dense", "core", (
            _a("units", "int", 16, required=True, minimum=1, help="output size"),
            _ACT, _a("use_bias", "bool", True), *_REG,
        ), "fully connected layer"),
        LayerSpec("Dropout", "regularization", (
            _a("rate", "float", 0.2, required=True, minimum=0.0, maximum=1.0, exclusive=True),
        ), "randomly zero a fraction of inputs while training"),
        LayerSpec("BatchNormalization", "normalization", (
            _a("momentum", "float", 0.99, minimum=0.0, maximum=1.0), _a("epsilon", "float", 0.001, minimum=0.0),
        )),
        LayerSpec("LayerNormalization", "normalization", (_a("epsilon", "float", 0.001, minimum=0.0),)),
        LayerSpec("Flatten", "reshape", (), "flatten all but the batch dimension"),
        LayerSpec("Reshape", "reshape", (_a("target_shape", "shape", None, required=True),)),
        LayerSpec("Conv1D", "convolution", (
            _a("filters", "int", 32, required=True, minimum=1), _a("kernel_size", "ints", 3, required=True, minimum=1),
            _a("strides", "ints", 1, minimum=1), _PAD, _ACT, *_REG,
        )),
        LayerSpec("Conv2D", "convolution", (
            _a("filters", "int", 32, required=True, minimum=1), _a("kernel_size", "ints", 3, required=True, minimum=1),
            _a("strides", "ints", 1, minimum=1), _PAD2, _ACT, *_REG,
        )),
        LayerSpec("MaxPooling1D", "pooling", (_a("pool_size", "ints", 2, minimum=1), _PAD2)),
        LayerSpec("MaxPooling2D", "pooling", (_a("pool_size", "ints", 2, minimum=1), _PAD2)),
        LayerSpec("AveragePooling1D", "pooling", (_a("pool_size", "ints", 2, minimum=1), _PAD2)),
        LayerSpec("AveragePooling2D", "pooling", (_a("pool_size", "ints", 2, minimum=1), _PAD2)),
        LayerSpec("GlobalAveragePooling1D", "pooling"),
        LayerSpec("GlobalAveragePooling2D", "pooling"),
        LayerSpec("GlobalMaxPooling2D", "pooling"),
        LayerSpec("Embedding", "embedding", (
            _a("input_dim", "int", 1000, required=True, minimum=1, help="vocabulary size"),
            _a("output_dim", "int", 32, required=True, minimum=1), _a("mask_zero", "bool", False),
        )),
        LayerSpec("SimpleRNN", "recurrent", _RNN),
        LayerSpec("LSTM", "recurrent", _RNN),
        LayerSpec("GRU", "recurrent", _RNN),
        LayerSpec("Activation", "activation", (_a("activation", "activation", "relu", required=True),)),
        LayerSpec("LeakyReLU", "activation", (_a("negative_slope", "float", 0.3, minimum=0.0),)),
        LayerSpec("PReLU", "activation"),
        LayerSpec("ELU", "activation", (_a("alpha", "float", 1.0),)),
        LayerSpec("ReLU", "activation", (
            _a("max_value", "float", None, minimum=0.0), _a("negative_slope", "float", 0.0, minimum=0.0),
            _a("threshold", "float", 0.0, help="replaces the removed ThresholdedReLU"),
        )),
        LayerSpec("Softmax", "activation", (_a("axis", "int", -1),)),
        LayerSpec("GaussianNoise", "regularization", (_a("stddev", "float", 0.1, required=True, minimum=0.0),)),
        LayerSpec("SpatialDropout1D", "regularization", (_a("rate", "float", 0.2, required=True, **{"minimum": 0.0, "maximum": 1.0}),)),
        LayerSpec("SpatialDropout2D", "regularization", (_a("rate", "float", 0.2, required=True, **{"minimum": 0.0, "maximum": 1.0}),)),
        LayerSpec("Rescaling", "preprocessing", (_a("scale", "float", 1 / 255, required=True), _a("offset", "float", 0.0))),
    )
}  # fmt: skip
"""The builder's layer catalogue, by Keras class name."""

_OPT_COMMON = (_a("learning_rate", "float", 0.001, minimum=0.0, exclusive=True),)
_BETAS = (
    _a("beta_1", "float", 0.9, minimum=0.0, maximum=1.0),
    _a("beta_2", "float", 0.999, minimum=0.0, maximum=1.0),
    _a("epsilon", "float", 1e-7, minimum=0.0),
)
OPTIMIZERS: dict[str, tuple[str, tuple[ArgSpec, ...]]] = {
    "sgd": ("SGD", (*_OPT_COMMON, _a("momentum", "float", 0.0, minimum=0.0), _a("nesterov", "bool", False))),
    "rmsprop": ("RMSprop", (*_OPT_COMMON, _a("rho", "float", 0.9, minimum=0.0, maximum=1.0),
                            _a("momentum", "float", 0.0, minimum=0.0), _a("epsilon", "float", 1e-7, minimum=0.0),
                            _a("centered", "bool", False))),
    "adagrad": ("Adagrad", (*_OPT_COMMON, _a("initial_accumulator_value", "float", 0.1, minimum=0.0),
                            _a("epsilon", "float", 1e-7, minimum=0.0))),
    "adadelta": ("Adadelta", (*_OPT_COMMON, _a("rho", "float", 0.95, minimum=0.0, maximum=1.0),
                              _a("epsilon", "float", 1e-7, minimum=0.0))),
    "adam": ("Adam", (*_OPT_COMMON, *_BETAS, _a("amsgrad", "bool", False))),
    "adamax": ("Adamax", (*_OPT_COMMON, *_BETAS)),
    "nadam": ("Nadam", (*_OPT_COMMON, *_BETAS)),
    "adamw": ("AdamW", (*_OPT_COMMON, _a("weight_decay", "float", 0.004, minimum=0.0), *_BETAS,
                        _a("amsgrad", "bool", False))),
    "ftrl": ("Ftrl", (*_OPT_COMMON, _a("learning_rate_power", "float", -0.5, maximum=0.0),
                      _a("initial_accumulator_value", "float", 0.1, minimum=0.0),
                      _a("l1_regularization_strength", "float", 0.0, minimum=0.0),
                      _a("l2_regularization_strength", "float", 0.0, minimum=0.0),
                      _a("l2_shrinkage_regularization_strength", "float", 0.0, minimum=0.0),
                      _a("beta", "float", 0.0, minimum=0.0))),
    "lion": ("Lion", (*_OPT_COMMON, _a("beta_1", "float", 0.9), _a("beta_2", "float", 0.99))),
}  # fmt: skip
"""Lower-case config name -> (Keras class name, editable arguments)."""
_OPT_SHARED = {"clipnorm", "clipvalue", "global_clipnorm", "weight_decay", "use_ema", "ema_momentum",
               "gradient_accumulation_steps", "loss_scale_factor"}  # fmt: skip

LOSSES = (
    "mean_squared_error", "mean_absolute_error", "mean_absolute_percentage_error",
    "mean_squared_logarithmic_error", "squared_hinge", "hinge", "categorical_hinge", "log_cosh",
    "huber", "categorical_crossentropy", "sparse_categorical_crossentropy", "binary_crossentropy",
    "binary_focal_crossentropy", "categorical_focal_crossentropy", "kl_divergence", "poisson",
    "cosine_similarity",
)  # fmt: skip
LOSS_ALIASES = {
    "mse": "mean_squared_error",
    "mae": "mean_absolute_error",
    "mape": "mean_absolute_percentage_error",
    "msle": "mean_squared_logarithmic_error",
    "logcosh": "log_cosh",
    "kld": "kl_divergence",
    "kullback_leibler_divergence": "kl_divergence",
    "cosine_proximity": "cosine_similarity",
    "huber_loss": "huber",
}
"""Older or short loss names -> the Keras 3 name."""

METRICS = (
    "accuracy", "binary_accuracy", "categorical_accuracy", "sparse_categorical_accuracy",
    "top_k_categorical_accuracy", "sparse_top_k_categorical_accuracy", "mae", "mse",
    "mean_absolute_error", "mean_squared_error", "root_mean_squared_error", "mape", "auc",
    "precision", "recall", "cosine_similarity", "r2_score",
)  # fmt: skip


def canonical_loss(name: str) -> str:
    low = name.strip().lower()
    return LOSS_ALIASES.get(low, low)


def canonical_optimizer(name: str) -> str:
    return name.strip().lower().replace("-", "").replace("_", "")


# ---------------------------------------------------------------- any Keras layer
_NOT_A_LAYER_ENTRY = ("Layer", "Input", "InputLayer")
"""Classes in ``keras.layers`` that cannot be one entry of ``model.layers``."""


@functools.cache
def keras_layer_names() -> list[str]:
    """Every layer class ``keras.layers`` has, sorted: what ``model.layers`` accepts beyond the catalogue.

    Imports Keras (and TensorFlow): call it off the UI thread.
    """
    from engine.kerasapi import keras

    layers = keras().layers
    return sorted(
        name
        for name in dir(layers)
        if name[:1].isupper() and name not in _NOT_A_LAYER_ENTRY
        and isinstance(cls := getattr(layers, name), type) and issubclass(cls, layers.Layer)
    )


# ---------------------------------------------------------------- checks
def _check_value(spec: ArgSpec, value: Any) -> str | None:
    """A message when ``value`` does not fit ``spec``, else None."""
    if value is None:
        return "is required" if spec.required else None
    kind = spec.kind
    if kind == "int":
        if isinstance(value, bool) or not isinstance(value, int):
            return f"must be an integer, got {value!r}"
        if spec.minimum is not None and value < spec.minimum:
            return (
                f"must be a positive integer, got {value}"
                if spec.minimum == 1
                else f"must be at least {spec.minimum:g}, got {value}"
            )
    elif kind == "float":
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            return f"must be a number, got {value!r}"
        low, high = spec.minimum, spec.maximum
        if low is not None and high is not None:
            bad = value < low or value > high or (spec.exclusive and value >= high)
            if bad:
                end = ")" if spec.exclusive else "]"
                return f"must be in [{low:g}, {high:g}{end}, got {value}"
        elif low is not None and (value < low or (spec.exclusive and value == low)):
            return f"must be {'greater than' if spec.exclusive else 'at least'} {low:g}, got {value}"
    elif kind == "bool":
        if not isinstance(value, bool):
            return f"must be true or false, got {value!r}"
    elif kind == "choice":
        if value not in spec.choices:
            return f"must be one of {', '.join(spec.choices)}, got {value!r}{suggest(str(value), spec.choices)}"
    elif kind == "activation":
        if not isinstance(value, str):
            return f"must be an activation name, got {value!r}"
        if value not in ACTIVATIONS:
            return f"unknown activation {value!r}{suggest(value, ACTIVATIONS)}"
    elif kind == "ints":
        items = value if isinstance(value, (list, tuple)) else [value]
        if not items or any(isinstance(v, bool) or not isinstance(v, int) or v < 1 for v in items):
            return f"must be a positive integer or a list of them, got {value!r}"
    elif kind == "shape":
        if not isinstance(value, (list, tuple)) or not value:
            return f"must be a list of dimensions, got {value!r}"
        if any(isinstance(v, bool) or not isinstance(v, int) or (v < 1 and v != -1) for v in value):
            return f"every dimension must be a positive integer (or -1), got {value!r}"
    elif kind == "regularizer":
        return _check_regularizer(value)
    return None


def _check_regularizer(value: Any) -> str | None:
    if isinstance(value, str):
        return None if value in REGULARIZERS else f"unknown regularizer {value!r}{suggest(value, REGULARIZERS)}"
    if not isinstance(value, dict) or len(value) != 1:
        return f"must be like {{l2: 0.001}}, {{l1: 0.01}} or {{l1_l2: {{l1: 0.01, l2: 0.01}}}}, got {value!r}"
    (kind, arg), = value.items()
    if kind not in REGULARIZERS:
        return f"unknown regularizer {kind!r}{suggest(str(kind), REGULARIZERS)}"
    if kind == "l1_l2":
        if not isinstance(arg, dict) or set(arg) - {"l1", "l2"}:
            return f"l1_l2 takes {{l1: .., l2: ..}}, got {arg!r}"
        numbers = list(arg.values())
    else:
        numbers = [arg]
    for n in numbers:
        if isinstance(n, bool) or not isinstance(n, (int, float)) or n < 0:
            return f"regularization factor must be a number ≥ 0, got {n!r}"
    return None


def check_layer(index: int, entry: Any) -> list[tuple[str, str]]:
    """Issues with one ``{Name: kwargs}`` entry of ``model.layers`` (catalogue level)."""
    base = f"model.layers[{index}]"
    parsed, problems = layer_entry(index, entry)  # the layer key beside a graph entry's name and inputs
    if parsed is None:
        return problems
    name, kwargs = parsed.class_name, parsed.kwargs
    spec = LAYERS.get(name)
    if spec is None:
        # Not in the catalogue: Keras decides when the model is built (model.py).
        return []
    issues = []
    for arg in spec.args:
        if arg.required and arg.name not in kwargs:
            issues.append((f"{base}.{name}.{arg.name}", "is required"))
    for key, value in kwargs.items():
        arg = spec.arg(key)
        if arg is None:
            continue
        msg = _check_value(arg, value)
        if msg:
            issues.append((f"{base}.{name}.{key}", msg))
    return issues


def check_config(cfg: "RunConfig") -> list[tuple[str, str]]:
    """Catalogue checks for a schema-valid config: layers, optimizer, loss, metrics."""
    issues: list[tuple[str, str]] = []
    for i, entry in enumerate(cfg.model.layers):
        issues += check_layer(i, entry)

    opt = cfg.compile.optimizer
    key = canonical_optimizer(opt.name)
    if key not in OPTIMIZERS:
        names = [v[0] for v in OPTIMIZERS.values()]
        issues.append(("compile.optimizer.name", f"unknown optimizer {opt.name!r}{suggest(opt.name, names)}"))
    else:
        specs = {a.name: a for a in OPTIMIZERS[key][1]}
        for arg, value in (opt.model_extra or {}).items():
            spec = specs.get(arg)
            if spec is None and arg not in _OPT_SHARED:
                choices = sorted(set(specs) | _OPT_SHARED)
                issues.append((
                    f"compile.optimizer.{arg}",
                    f"{OPTIMIZERS[key][0]} has no argument {arg!r}{suggest(arg, choices)}",
                ))
            elif spec is not None:
                msg = _check_value(spec, value)
                if msg:
                    issues.append((f"compile.optimizer.{arg}", msg))

    loss = cfg.compile.loss
    losses = loss.items() if per_output(loss) else [("", loss)]
    for output, one in losses:
        key = f"compile.loss.{output}" if output else "compile.loss"
        loss_name = one if isinstance(one, str) else one.get("name") if isinstance(one, dict) else None
        if not isinstance(loss_name, str):
            issues.append((key, "must be a loss name, or {name: .., <arguments>}"))
        elif canonical_loss(loss_name) not in LOSSES:
            issues.append((key, f"unknown loss {loss_name!r}{suggest(loss_name, LOSSES + tuple(LOSS_ALIASES))}"))

    metrics = cfg.compile.metrics
    for output, listed in metrics.items() if isinstance(metrics, dict) else [("", metrics)]:
        for i, metric in enumerate(listed):
            name = metric if isinstance(metric, str) else metric.get("name") if isinstance(metric, dict) else None
            loc = format_loc(("compile", "metrics", *([output] if output else []), i))
            if not isinstance(name, str):
                issues.append((loc, "must be a metric name, or {name: .., <arguments>}"))
            elif name.lower() not in METRICS:
                issues.append((loc, f"unknown metric {name!r}{suggest(name, METRICS)}"))
    return issues
