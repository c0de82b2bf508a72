"""``QuietTerminateOnNaN``: stop at the first non-finite loss without printing anything."""

from __future__ import annotations

import math
from typing import Any

from engine.kerasapi import keras as _keras_module

keras = _keras_module()

__all__ = ["QuietTerminateOnNaN"]


class QuietTerminateOnNaN(keras.callbacks.Callback):
    """Stops training at the first batch whose loss is NaN or infinite, and prints nothing.

    Keras' ``TerminateOnNaN`` writes "Batch N: Invalid loss" to stdout, which breaks
    ``kwb train --json`` and draws over the app; the bridge reports the stop as events.
    Setting a flag is thread-safe, so Keras may run this hook off the training thread.
    It keeps no state between batches. A batch without a ``loss`` is not judged.
    """

    async_safe = True

    def on_train_batch_end(self, batch: int, logs: dict[str, Any] | None = None) -> None:
        loss = (logs or {}).get("loss")
        if loss is not None and not math.isfinite(float(loss)):
            self.model.stop_training = True
