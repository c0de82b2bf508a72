"""The typed run config: one pydantic model per YAML section, every default and range check.

Layering (no module imports one above it): ``engine.errors`` (error types, suggestions)
← this schema ← ``engine.config_issues`` (pydantic errors in the user's words) ←
``engine.config_io`` (YAML load/save, ``--set``, path resolution: ``load_config``).
A config error names the file, the key path and what was expected
(``model.layers[2].Dense.units: must be a positive integer, got -4``) and suggests the
closest valid name for a typo; the CLI turns it into exit status 2.
"""

from __future__ import annotations

import re
from typing import Any, Literal, Union

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from engine.graph_spec import DEFAULT_INPUT, per_output, resolve_graph, uses_graph, wiring_issues

__all__ = [
    "KeyedIssues",
    "DataKeys",
    "per_output",
    "RunConfig",
    "DataConfig",
    "DataRef",
    "ModelConfig",
    "OptimizerConfig",
    "CompileConfig",
    "FitConfig",
    "EarlyStoppingConfig",
    "ReduceLROnPlateauConfig",
    "ModelCheckpointConfig",
    "LrScheduleConfig",
    "TensorBoardConfig",
    "CallbacksConfig",
    "RuntimeConfig",
    "ControlsConfig",
    "OutputConfig",
]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_assignment=True)


class KeyedIssues(ValueError):
    """Problems a validator found, each with its full key path (``engine.config_issues`` reports them as given)."""

    def __init__(self, issues: list[tuple[str, str]]) -> None:
        self.issues = issues
        super().__init__("; ".join(f"{key}: {msg}" for key, msg in issues))


DataKeys = Union[str, dict[str, Union[str, list[str]]], None]
"""One source key (npz key, HDF5 dataset path), or input/output name -> key (CSV: a list of columns)."""


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
    x: DataKeys = None
    y: DataKeys = None
    target: Union[str, int, None] = None


class DataConfig(_Strict):
    source: Literal["synthetic", "keras", "csv", "npz", "hdf5", "directory", "sklearn"] = "synthetic"
    """Where the data comes from."""
    name: str | None = None
    """Per source: spirals, moons, circles, xor, blobs, sine; mnist, cifar10 …; digits, iris …"""
    path: str | None = None
    """File or folder for csv, npz, hdf5 and directory sources."""
    x: DataKeys = None
    """npz key or HDF5 dataset path of the inputs (e.g. ``train/x``); for several inputs, input name -> key
    (CSV: input name -> feature columns)."""
    y: DataKeys = None
    """npz key or HDF5 dataset path of the targets; for several outputs, output name -> key (CSV: -> columns)."""
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
    inputs: dict[str, list[int]] | None = None
    """Several named inputs: name -> shape of one sample (instead of ``input_shape``)."""
    layers: list[dict[str, Any]] = Field(default_factory=list)
    """``{KerasLayerName: {kwargs}}`` entries, checked against Keras itself; each may add ``name: str`` and
    ``inputs: [names]`` (model inputs or earlier layers; default: the layer above)."""
    outputs: list[str] | None = None
    """Names of the output layers. Defaults to the last layer."""
    path: str | None = None
    """Load this ``.keras`` / ``.h5`` model instead of building from layers (safe_mode)."""
    unsafe: bool = False
    """Load ``path`` even when it holds a Lambda layer, whose Python code then runs (trust the file). Defaults to False."""

    @field_validator("input_shape")
    @classmethod
    def _positive_dims(cls, v: list[int] | None) -> list[int] | None:
        if v is not None:
            _check_shape(v)
        return v

    @field_validator("inputs")
    @classmethod
    def _input_shapes(cls, v: dict[str, list[int]] | None) -> dict[str, list[int]] | None:
        if v is not None:
            if not v:
                raise ValueError("must name at least one input")
            issues = []
            for name, shape in v.items():
                try:
                    _check_shape(shape)
                except ValueError as exc:
                    issues.append((f"model.inputs.{name}", str(exc)))
            if issues:
                raise KeyedIssues(issues)
        return v

    @model_validator(mode="after")
    def _layers_or_path(self) -> "ModelConfig":
        if not self.layers and not self.path:
            raise ValueError("give either model.layers or model.path")
        if self.layers and self.path:
            raise ValueError("give model.layers or model.path, not both")
        if self.inputs and self.input_shape:
            raise KeyedIssues([("model.inputs", "give model.inputs or model.input_shape, not both")])
        if self.path and (self.inputs or self.outputs):
            raise KeyedIssues([("model.path", "a loaded model brings its own inputs and outputs; "
                                              "remove model.inputs and model.outputs")])  # fmt: skip
        if self.layers and uses_graph(self.inputs, self.layers, self.outputs):
            _, issues = resolve_graph(self.inputs, self.input_shape, self.layers, self.outputs)
            if issues:
                raise KeyedIssues(issues)
        return self

    def output_names(self) -> list[str]:
        """The names the outputs go by in ``fit``'s ``y``, the losses and the logs ([] for an unnamed last layer)."""
        if self.outputs:
            return list(self.outputs)
        last = self.layers[-1] if self.layers else None
        return [last["name"]] if isinstance(last, dict) and isinstance(last.get("name"), str) else []

    def input_names(self) -> list[str]:
        """The model's input names (``model.inputs``' keys; a plain stack's one input is ``input``)."""
        return list(self.inputs) if self.inputs else [DEFAULT_INPUT]


def _check_shape(v: list[int]) -> None:
    if not v:
        raise ValueError("must list at least one dimension")
    for d in v:
        if d is not None and d <= 0:
            raise ValueError(f"every dimension must be a positive integer, got {d}")


# ---------------------------------------------------------------- compile
class OptimizerConfig(BaseModel):
    model_config = ConfigDict(extra="allow")
    name: str = "adam"
    learning_rate: float = Field(0.001, gt=0)


class CompileConfig(_Strict):
    optimizer: OptimizerConfig = Field(default_factory=OptimizerConfig)
    loss: Union[str, dict[str, Any]] = "sparse_categorical_crossentropy"
    """A loss name, ``{name: .., <arguments>}``, or output name -> either of those."""
    metrics: Union[list[Union[str, dict[str, Any]]], dict[str, list[Union[str, dict[str, Any]]]]] = Field(
        default_factory=lambda: ["accuracy"]
    )
    """Metrics for every output, or output name -> that output's metrics."""
    loss_weights: Union[list[float], dict[str, float], None] = None
    """How much each output's loss counts in the total: one per output, or output name -> weight."""

    @field_validator("optimizer", mode="before")
    @classmethod
    def _optimizer_by_name(cls, v: Any) -> Any:
        return {"name": v} if isinstance(v, str) else v


# ---------------------------------------------------------------- fit
class FitConfig(_Strict):
    epochs: int = Field(30, gt=0, le=1_000_000)
    """At most 1,000,000, so a stray exponent (1e30) is a config error rather than a run that never ends."""
    batch_size: int = Field(32, gt=0, le=2**31 - 1)
    """Global batch size (split across replicas under a distribution strategy)."""
    shuffle: bool = True
    class_weight: Union[dict[int, float], Literal["balanced"], None] = None
    validation_freq: int = Field(1, gt=0)
    initial_epoch: int = Field(0, ge=0)
    steps_per_epoch: int | None = Field(None, gt=0)
    steps_per_execution: Union[Literal["auto"], int] = "auto"
    """Training steps per call into TensorFlow. "auto": kwb times a step before ``fit`` and picks N
    so one execution lasts about ``execution_ms`` (at most a quarter of an epoch), re-tuning once
    if the step time changes a lot (``engine.callbacks.steps``); an integer is used as given, 1 is
    per-step."""
    execution_ms: float = Field(25.0, gt=0, le=10_000)
    """With ``steps_per_execution: auto``, the wall time one execution aims at, in milliseconds;
    a command acts at the end of the execution in flight, so this is also its latency."""

    @field_validator("steps_per_execution", mode="before")
    @classmethod
    def _auto_or_steps(cls, v: Any) -> Any:
        if v == "auto" or (isinstance(v, int) and not isinstance(v, bool) and v >= 1):
            return v
        raise ValueError(f"must be auto or a whole number of steps (at least 1), got {v!r}")

    @model_validator(mode="after")
    def _initial_before_end(self) -> "FitConfig":
        if self.initial_epoch >= self.epochs:
            raise KeyedIssues([("fit.initial_epoch", f"must be below fit.epochs ({self.epochs}), got {self.initial_epoch}")])
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
    worker_timeout: float = Field(300.0, gt=0)
    """multi_worker: seconds a worker waits for the others to start before it gives up (engine.cluster)."""


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

    @model_validator(mode="after")
    def _names_match(self) -> "RunConfig":
        if self.model.path:
            return self
        issues = wiring_issues(
            self.model.input_names(), self.model.output_names(), self.compile.model_dump(), self.data.model_dump()
        )
        if issues:
            raise KeyedIssues(issues)
        return self
