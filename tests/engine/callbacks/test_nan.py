"""engine.callbacks.nan: the first non-finite loss stops training, and nothing is printed."""

from __future__ import annotations

from typing import Any

import keras
import numpy as np

from engine.callbacks.nan import QuietTerminateOnNaN


class CountBatches(keras.callbacks.Callback):
    """Counts the batches that ran."""

    def __init__(self) -> None:
        super().__init__()
        self.batches = 0

    def on_train_batch_end(self, batch: int, logs: Any = None) -> None:
        self.batches += 1


class TestQuietTerminateOnNaN:
    """A NaN loss ends fit at that batch without a word on stdout (which would break --json)."""

    def test_stops_at_the_first_nan_batch_silently(self, tiny_model, capfd):
        model, x, y = tiny_model()
        x[20, 0] = np.nan  # batch 2 of 8 samples
        counter = CountBatches()
        history = model.fit(x, y, batch_size=8, epochs=3, shuffle=False, verbose=0,
                            callbacks=[QuietTerminateOnNaN(), counter])  # fmt: skip
        assert counter.batches == 3 and len(history.history["loss"]) == 1
        assert capfd.readouterr().out == ""

    def test_finite_losses_train_on(self, tiny_model):
        model, x, y = tiny_model()
        history = model.fit(x, y, batch_size=32, epochs=2, verbose=0, callbacks=[QuietTerminateOnNaN()])
        assert len(history.history["loss"]) == 2
