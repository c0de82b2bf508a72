"""Typed run config: YAML load (safe_load), defaults, ``--set`` overrides, save, clear errors.

A config error is a ``ConfigError``: it names the file, the key path and what was
expected (``model.layers[2].Dense.units: must be a positive integer, got -4``),
suggests the closest valid name for a typo, and the CLI turns it into exit status 2.
Relative data and model paths are resolved against the config file's folder, so the
resolved copy saved in a run directory trains identically from anywhere.
"""

from __future__ import annotations

import difflib
import re
from typing import Any, Literal, Union

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

__all__ = [
    "ConfigError",
    "RunConfig",
    "load_config",
    "parse_config",
    "apply_overrides",
    "save_config",
    "dump_config",
    "format_loc",
    "suggest",
    "yaml_load",
    "atomic_write_text",
]


class ConfigError(Exception):
    """A user mistake in a config: one or more ``(key path, message)`` issues."""

    def __init__(self, source: str | None, issues: list[tuple[str, str]]) -> None:
        self.source = source
        self.issues = issues
        super().__init__(self.render())

    def render(self) -> str:
        head = f"error in {self.source}" if self.source else "error in config"
        lines = [head + ":"]
        for loc, msg in self.issues[:12]:
            lines.append(f"  {loc}: {msg}" if loc else f"  {msg}")
        if len(self.issues) > 12:
            lines.append(f"  … and {len(self.issues) - 12} more")
        return "\n".join(lines)


def suggest(name: str, choices: list[str] | tuple[str, ...]) -> str:
    """' (did you mean X?)' for the closest choice, or ''."""
    lowered = {c.lower(): c for c in choices}
    # A transposed or re-cased name ("adma", "dense") beats a merely similar one.
    same_letters = [c for c in lowered if sorted(c) == sorted(name.lower())]
    if same_letters:
        return f" (did you mean {lowered[same_letters[0]]!r}?)"
    match = difflib.get_close_matches(name.lower(), list(lowered), n=1, cutoff=0.6)
    return f" (did you mean {lowered[match[0]]!r}?)" if match else ""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_assignment=True)


def _true_means_defaults(value: Any) -> Any:
    # `csv_logger: true` means "on, with the defaults"; `false` or null means off.
    if value is True:
        return {}
    if value is False:
        return None
    return value


# ---------------------------------------------------------------- data
class DataRef(_Strict):
    """Explicit validation or test data: a file of the same kind as the main source."""

    path: str
    x: str | None = None
    y: str | None = None
    target: Union[str, int, None] = None


class DataConfig(_Strict):
    source: Literal["synthetic", "keras", "csv", "npz", "hdf5", "directory", "sklearn"] = "synthetic"
    """Where the data comes from."""
    name: str | None = None
    """Per source: spirals, moons, circles, xor, blobs, sine; mnist, cifar10 …; digits, iris …"""
    path: str | None = None
    """File or folder for csv, npz, hdf5 and directory sources."""
    x: str | None = None
    """npz key or HDF5 dataset path of the inputs (e.g. ``train/x``)."""
    y: str | None = None
    """npz key or HDF5 dataset path of the targets."""
    target: Union[str, int, None] = None
    """CSV target column, by name or index. Defaults to the last column."""
    features: list[str] | None = None
    """CSV feature columns. Defaults to every column but the target."""
    header: bool = True
    delimiter: str = ","
    samples: int = Field(1000, gt=0)
    """Synthetic: number of samples."""
    noise: float = Field(0.1, ge=0)
    """Synthetic: noise level."""
    classes: int = Field(2, ge=2)
    """Synthetic spirals and blobs: number of classes."""
    features_count: int = Field(2, ge=1)
    """Synthetic blobs: input dimension."""
    validation_split: float = Field(0.2, ge=0, lt=1)
    test_split: float = Field(0.0, ge=0, lt=1)
    validation: DataRef | None = None
    test: DataRef | None = None
    scale: Literal["none", "minmax", "standard", "pixels"] = "none"
    """none, minmax (to [0, 1]), standard (zero mean, unit variance) or pixels (÷255)."""
    one_hot: bool = False
    """One-hot encode integer class targets (for categorical_crossentropy)."""
    shuffle: bool = True
    seed: int | None = None
    """Defaults to the run's seed."""
    limit: int | None = Field(None, gt=0)
    """Keep only the first N training samples (quick experiments)."""
    image_size: tuple[int, int] = (64, 64)
    color_mode: Literal["rgb", "grayscale"] = "rgb"
    num_words: int | None = Field(None, gt=0)
    """imdb/reuters: vocabulary size."""
    maxlen: int | None = Field(None, gt=0)
    """imdb/reuters: pad or cut sequences to this length."""
    stream: bool = False
    """hdf5/directory: read batches from disk instead of loading everything."""
    cache: bool = False
    prefetch: bool = True

    @model_validator(mode="after")
    def _splits(self) -> "DataConfig":
        if self.validation_split + self.test_split >= 1:
            raise ValueError("validation_split + test_split must be below 1")
        return self


# ---------------------------------------------------------------- model
class ModelConfig(_Strict):
    name: str | None = None
    input_shape: list[int] | None = None
    """Shape of one sample, without the batch dimension. Defaults to the data's."""
    layers: list[dict[str, Any]] = Field(default_factory=list)
    """``{KerasLayerName: {kwargs}}`` entries, checked against Keras itself."""
    path: str | None = None
    """Load this ``.keras`` / ``.h5`` model instead of building from layers (safe_mode)."""

    @field_validator("input_shape")
    @classmethod
    def _positive_dims(cls, v: list[int] | None) -> list[int] | None:
        if v is not None:
            if not v:
                raise ValueError("must list at least one dimension")
            for d in v:
                if d is not None and d <= 0:
                    raise ValueError(f"every dimension must be a positive integer, got {d}")
        return v

    @model_validator(mode="after")
    def _layers_or_path(self) -> "ModelConfig":
        if not self.layers and not self.path:
            raise ValueError("give either model.layers or model.path")
        if self.layers and self.path:
            raise ValueError("give model.layers or model.path, not both")
        return self


# ---------------------------------------------------------------- compile
class OptimizerConfig(BaseModel):
    model_config = ConfigDict(extra="allow")
    name: str = "adam"
    learning_rate: float = Field(0.001, gt=0)


class CompileConfig(_Strict):
    optimizer: OptimizerConfig = Field(default_factory=OptimizerConfig)
    loss: Union[str, dict[str, Any]] = "sparse_categorical_crossentropy"
    metrics: list[Union[str, dict[str, Any]]] = Field(default_factory=lambda: ["accuracy"])

    @field_validator("optimizer", mode="before")
    @classmethod
    def _optimizer_by_name(cls, v: Any) -> Any:
        return {"name": v} if isinstance(v, str) else v


# ---------------------------------------------------------------- fit
class FitConfig(_Strict):
    epochs: int = Field(30, gt=0)
    batch_size: int = Field(32, gt=0)
    """Global batch size (split across replicas under a distribution strategy)."""
    shuffle: bool = True
    class_weight: Union[dict[int, float], Literal["balanced"], None] = None
    validation_freq: int = Field(1, gt=0)
    initial_epoch: int = Field(0, ge=0)
    steps_per_epoch: int | None = Field(None, gt=0)
    steps_per_execution: int = Field(1, gt=0)

    @model_validator(mode="after")
    def _initial_before_end(self) -> "FitConfig":
        if self.initial_epoch >= self.epochs:
            raise ValueError(f"initial_epoch ({self.initial_epoch}) must be below epochs ({self.epochs})")
        return self


# ---------------------------------------------------------------- callbacks
Mode = Literal["auto", "min", "max"]


class EarlyStoppingConfig(_Strict):
    monitor: str = "val_loss"
    patience: int = Field(5, ge=0)
    min_delta: float = Field(0.0, ge=0)
    mode: Mode = "auto"
    restore_best_weights: bool = True
    start_from_epoch: int = Field(0, ge=0)


class ReduceLROnPlateauConfig(_Strict):
    monitor: str = "val_loss"
    factor: float = Field(0.5, gt=0, lt=1)
    patience: int = Field(2, ge=0)
    min_lr: float = Field(0.0, ge=0)
    mode: Mode = "auto"
    min_delta: float = Field(1e-4, ge=0)
    cooldown: int = Field(0, ge=0)


class ModelCheckpointConfig(_Strict):
    monitor: str = "val_loss"
    mode: Mode = "auto"
    save_best_only: bool = True
    """True: keep ``checkpoints/best.keras``; False: one ``epoch-NNN.keras`` per epoch."""


class StepDecay(_Strict):
    initial: float = Field(gt=0)
    drop: float = Field(0.5, gt=0)
    every: int = Field(10, gt=0)


class ExponentialDecay(_Strict):
    initial: float = Field(gt=0)
    rate: float = Field(0.96, gt=0)
    """Multiplier per epoch: lr = initial * rate ** epoch."""


class CosineDecay(_Strict):
    initial: float = Field(gt=0)
    epochs: int | None = Field(None, gt=0)
    """Length of the decay; defaults to fit.epochs."""
    alpha: float = Field(0.0, ge=0, le=1)
    warmup_epochs: int = Field(0, ge=0)


class Piecewise(_Strict):
    boundaries: list[int]
    """Epochs at which the rate changes."""
    values: list[float]
    """One more value than boundaries."""

    @model_validator(mode="after")
    def _lengths(self) -> "Piecewise":
        if len(self.values) != len(self.boundaries) + 1:
            raise ValueError(
                f"values must have one more entry than boundaries "
                f"(got {len(self.values)} values for {len(self.boundaries)} boundaries)"
            )
        if any(b2 <= b1 for b1, b2 in zip(self.boundaries, self.boundaries[1:])):
            raise ValueError("boundaries must increase")
        if any(v <= 0 for v in self.values):
            raise ValueError("every value must be a positive learning rate")
        return self


class LrScheduleConfig(_Strict):
    step_decay: StepDecay | None = None
    exponential: ExponentialDecay | None = None
    cosine: CosineDecay | None = None
    piecewise: Piecewise | None = None

    @model_validator(mode="after")
    def _exactly_one(self) -> "LrScheduleConfig":
        chosen = [k for k in ("step_decay", "exponential", "cosine", "piecewise") if getattr(self, k) is not None]
        if len(chosen) != 1:
            raise ValueError("choose exactly one of step_decay, exponential, cosine, piecewise")
        return self


class TensorBoardConfig(_Strict):
    update_freq: Union[Literal["epoch", "batch"], int] = "epoch"
    histogram_freq: int = Field(0, ge=0)


class CallbacksConfig(_Strict):
    early_stopping: EarlyStoppingConfig | None = None
    reduce_lr_on_plateau: ReduceLROnPlateauConfig | None = None
    model_checkpoint: ModelCheckpointConfig | None = Field(default_factory=ModelCheckpointConfig)
    lr_schedule: LrScheduleConfig | None = None
    csv_logger: bool = True
    terminate_on_nan: bool = True
    backup_and_restore: bool = True
    tensorboard: TensorBoardConfig | None = None

    @field_validator(
        "early_stopping", "reduce_lr_on_plateau", "model_checkpoint", "tensorboard", mode="before"
    )
    @classmethod
    def _bool_toggle(cls, v: Any) -> Any:
        return _true_means_defaults(v)

    @model_validator(mode="after")
    def _no_conflict(self) -> "CallbacksConfig":
        if self.lr_schedule is not None and self.reduce_lr_on_plateau is not None:
            raise ValueError(
                "lr_schedule and reduce_lr_on_plateau both set the learning rate every epoch; choose one"
            )
        return self


# ---------------------------------------------------------------- runtime, output
class RuntimeConfig(_Strict):
    device: Literal["auto", "cpu", "gpu"] = "auto"
    strategy: Literal["default", "mirrored", "multi_worker"] = "default"
    devices: list[str] | None = None
    """mirrored: the devices to mirror over (e.g. ['/gpu:0', '/gpu:1']); default all GPUs."""
    mixed_precision: Literal["mixed_float16", "mixed_bfloat16"] | None = None
    jit_compile: bool | Literal["auto"] = "auto"
    """XLA for the train step. "auto" is Keras' own default: on when TensorFlow sees a GPU, off on a CPU
    (where XLA measured 0.35-0.52x here: benchmarks/levers.py)."""


class ControlsConfig(_Strict):
    lr_factor: float = Field(0.5, gt=0)
    """What ``l`` / ``kwb control RUN lr-drop`` multiplies the learning rate by."""


class OutputConfig(_Strict):
    runs_dir: str = "runs"


class RunConfig(_Strict):
    """One run, as written in YAML. Every field has a default but ``model``."""

    name: str = "run"
    seed: int | None = 42
    data: DataConfig = Field(default_factory=DataConfig)
    model: ModelConfig
    compile: CompileConfig = Field(default_factory=CompileConfig)
    fit: FitConfig = Field(default_factory=FitConfig)
    callbacks: CallbacksConfig = Field(default_factory=CallbacksConfig)
    runtime: RuntimeConfig = Field(default_factory=RuntimeConfig)
    controls: ControlsConfig = Field(default_factory=ControlsConfig)
    output: OutputConfig = Field(default_factory=OutputConfig)

    @field_validator("name")
    @classmethod
    def _safe_name(cls, v: str) -> str:
        if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}", v):
            raise ValueError(
                "must be 1-64 letters, digits, '.', '_' or '-', starting with a letter or digit, "
                f"got {v!r}"
            )
        return v


# ---------------------------------------------------------------- errors
def format_loc(loc: tuple[Any, ...] | list[Any]) -> str:
    """('model', 'layers', 2, 'Dense') -> 'model.layers[2].Dense'."""
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + str(part)
    return out


def _model_at(loc: tuple[Any, ...]) -> type[BaseModel] | None:
    """The pydantic model class that owns the key at ``loc`` (for suggestions)."""
    model: Any = RunConfig
    for part in loc[:-1]:
        if isinstance(part, int):
            continue
        fields = getattr(model, "model_fields", None)
        if not fields or part not in fields:
            return None
        ann = fields[part].annotation
        nxt = None
        for cand in (ann, *getattr(ann, "__args__", ())):
            if isinstance(cand, type) and issubclass(cand, BaseModel):
                nxt = cand
                break
        if nxt is None:
            return None
        model = nxt
    return model


def _describe(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _translate(err: dict[str, Any]) -> tuple[str, str]:
    loc = tuple(p for p in err["loc"] if not (isinstance(p, str) and ("[" in p or p.startswith("function-"))))
    kind = err["type"]
    got = err.get("input")
    if kind == "extra_forbidden":
        owner = _model_at(loc)
        choices = list(owner.model_fields) if owner else []
        key = str(loc[-1])
        hint = suggest(key, choices)
        expected = f"; expected one of: {', '.join(choices)}" if choices and not hint else ""
        return format_loc(loc), f"unknown key {key!r}{hint}{expected}"
    if kind == "missing":
        return format_loc(loc), "is required"
    if kind == "literal_error":
        expected = err.get("ctx", {}).get("expected", "")
        options = re.findall(r"'([^']*)'", expected)
        hint = suggest(str(got), options) if isinstance(got, str) else ""
        return format_loc(loc), f"must be one of {expected}, got {_describe(got)}{hint}"
    if kind in ("greater_than", "greater_than_equal", "less_than", "less_than_equal"):
        ctx = err.get("ctx", {})
        words = {
            "greater_than": "greater than {gt}",
            "greater_than_equal": "at least {ge}",
            "less_than": "less than {lt}",
            "less_than_equal": "at most {le}",
        }[kind].format(**ctx)
        return format_loc(loc), f"must be {words}, got {_describe(got)}"
    if kind.startswith("int_") or kind == "int_type":
        return format_loc(loc), f"must be an integer, got {_describe(got)}"
    if kind.startswith("float_"):
        return format_loc(loc), f"must be a number, got {_describe(got)}"
    if kind.startswith("bool_"):
        return format_loc(loc), f"must be true or false, got {_describe(got)}"
    if kind in ("string_type",):
        return format_loc(loc), f"must be a string, got {_describe(got)}"
    if kind in ("list_type", "tuple_type"):
        return format_loc(loc), f"must be a list, got {_describe(got)}"
    if kind in ("model_type", "dict_type", "model_attributes_type"):
        return format_loc(loc), f"must be a mapping of keys, got {_describe(got)}"
    msg = err["msg"]
    if msg.startswith("Value error, "):
        msg = msg[len("Value error, ") :]
    return format_loc(loc), msg


def _dedupe(issues: list[tuple[str, str]]) -> list[tuple[str, str]]:
    seen: dict[str, tuple[str, str]] = {}
    for loc, msg in issues:
        # pydantic reports each arm of a Union; keep the first message per key.
        seen.setdefault(loc, (loc, msg))
    return list(seen.values())


# Load and save live in their own module; they are part of this module's API.
from engine.config_io import (  # noqa: E402
    apply_overrides,
    atomic_write_text,
    dump_config,
    load_config,
    parse_config,
    save_config,
    yaml_load,
)
