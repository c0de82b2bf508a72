"""``TrainSettings``: the Train screen's compile, fit, callback and control settings (the ``o`` panel)."""

from __future__ import annotations

from engine.config import EarlyStoppingConfig, ModelCheckpointConfig, ReduceLROnPlateauConfig, TensorBoardConfig
from engine.layers import LOSSES, OPTIMIZERS
from textual.app import ComposeResult

from tui.widgets.optimizer_extras import OptimizerExtras
from tui.widgets.settings_form import ConfigForm, FormField

__all__ = ["TrainSettings"]

_ES = "callbacks.early_stopping"
_RLR = "callbacks.reduce_lr_on_plateau"


class TrainSettings(ConfigForm):
    """Every edit is validated like ``kwb train`` would, and goes into the workspace config."""

    FIELDS = (
        FormField("h-compile", "Compile", kind="heading"),
        FormField("compile.optimizer.name", "optimizer", kind="select", options=tuple(OPTIMIZERS)),
        FormField("compile.optimizer.learning_rate", "learning rate"),
        FormField("compile.loss", "loss", kind="select", options=tuple(LOSSES), free=True),
        FormField("compile.metrics", "metrics", kind="list"),
        FormField("h-fit", "Fit", kind="heading"),
        FormField("fit.epochs", "epochs"),
        FormField("fit.batch_size", "batch size"),
        FormField("fit.validation_freq", "validation freq"),
        FormField("fit.steps_per_execution", "steps/execution"),
        FormField("h-callbacks", "Callbacks", kind="heading"),
        FormField(_ES, "early stopping", kind="toggle", default=lambda: EarlyStoppingConfig().model_dump()),
        FormField(f"{_ES}.monitor", "  monitor", kind="text", enabled_by=_ES),
        FormField(f"{_ES}.patience", "  patience", enabled_by=_ES),
        FormField(_RLR, "reduce LR", kind="toggle", default=lambda: ReduceLROnPlateauConfig().model_dump()),
        FormField(f"{_RLR}.factor", "  factor", enabled_by=_RLR),
        FormField(f"{_RLR}.patience", "  patience", enabled_by=_RLR),
        FormField("callbacks.model_checkpoint", "checkpoint", kind="toggle",
                  default=lambda: ModelCheckpointConfig().model_dump()),
        FormField("callbacks.csv_logger", "CSV logger", kind="switch"),
        FormField("callbacks.terminate_on_nan", "stop on NaN", kind="switch"),
        FormField("callbacks.backup_and_restore", "backup/restore", kind="switch"),
        FormField("callbacks.tensorboard", "TensorBoard", kind="toggle",
                  default=lambda: TensorBoardConfig().model_dump()),
        FormField("h-runtime", "Runtime", kind="heading"),
        FormField("runtime.device", "device", kind="select", options=("auto", "cpu", "gpu")),
        FormField("runtime.strategy", "strategy", kind="select", options=("default", "mirrored")),
        FormField("runtime.mixed_precision", "mixed precision", kind="select",
                  options=(None, "mixed_float16", "mixed_bfloat16")),
        FormField("runtime.jit_compile", "XLA (jit_compile)", kind="select", options=("auto", True, False)),
        FormField("h-controls", "Controls", kind="heading"),
        FormField("controls.lr_factor", "l: LR × factor"),
    )  # fmt: skip
    """Compile, fit, callbacks, runtime and controls, in the order of the YAML. (multi_worker is not
    offered: it is started with ``kwb train`` on every worker.)"""

    def compose(self) -> ComposeResult:
        for field in self.FIELDS:
            yield from self._row(field)
            if field.path == "compile.optimizer.learning_rate":
                yield OptimizerExtras(id="optimizer-extras")  # the optimizer's own arguments, from Keras
