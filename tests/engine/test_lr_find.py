"""engine.lr_find: the range test on a tiny model (suggestion in range, early stop, nothing touched) and the rules."""

from __future__ import annotations

import hashlib
import math
from pathlib import Path

import numpy as np
import pytest

from engine.config_io import load_config
from engine.errors import UserError
from engine.lr_find import DIVERGE, check_range, lr_at, lr_range_test, steepest, valley

ROOT = Path(__file__).resolve().parents[2]
TINY = ["data.samples=300", "data.test_split=0", "fit.batch_size=16"]


class TestRules:
    """The suggestion rules on curves whose answer is known."""

    def test_valley_lands_on_the_long_fall_not_on_a_noisy_dip(self) -> None:
        lrs = [lr_at(i, 1e-6, 1.0, 60) for i in range(60)]
        # flat, one sharp noisy dip early, then a long steady fall, then a blow-up
        losses = [1.0] * 10 + [0.7, 1.0] + [1.0 - 0.015 * i for i in range(40)] + [2.0 + i for i in range(8)]
        suggestion = valley(lrs, losses)
        fall = lrs[12:52]
        assert fall[0] <= suggestion <= fall[len(fall) // 2]
        assert steepest(lrs, losses) != suggestion  # steepest is taken in by the single noisy step (or the cliff)

    def test_lr_rises_exponentially_from_min_to_max(self) -> None:
        lrs = [lr_at(i, 1e-7, 1.0, 100) for i in range(100)]
        assert lrs[0] == pytest.approx(1e-7) and lrs[-1] == pytest.approx(1.0)
        ratios = np.diff(np.log(lrs))
        assert np.allclose(ratios, ratios[0])

    @pytest.mark.parametrize(("low", "high", "steps", "key"), [
        (0.0, 1.0, 100, "--min-lr"), (1e-3, 1e-4, 100, "--max-lr"), (1e-7, math.nan, 100, "--max-lr"),
        (1e-7, 1.0, 3, "--steps"),
    ])  # fmt: skip
    def test_bad_range_is_refused_naming_the_option(self, low: float, high: float, steps: int, key: str) -> None:
        with pytest.raises(UserError) as caught:
            check_range(low, high, steps)
        assert caught.value.key == key


class TestRangeTest:
    """A real range test on a tiny model."""

    def test_suggestion_inside_the_swept_range_and_the_model_file_untouched(self, tmp_path: Path) -> None:
        import keras

        model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(16, activation="relu"),
                                  keras.layers.Dense(2, activation="softmax")])  # fmt: skip
        path = tmp_path / "start.keras"
        model.save(path)
        digest = hashlib.sha256(path.read_bytes()).hexdigest()
        cfg = load_config(ROOT / "sample_configs" / "moons.yaml", [*TINY, f"model.path={path}", "model.layers=[]"])
        before = cfg.model_dump()
        result = lr_range_test(cfg, min_lr=1e-5, max_lr=10.0, steps=40)
        assert result.suggestion is not None
        assert 1e-5 <= result.suggestion <= 10.0
        assert min(result.lrs) >= 1e-5 * (1 - 1e-9) and max(result.lrs) <= 10.0 * (1 + 1e-9)
        assert len(result.lrs) == len(result.losses) == len(result.smoothed) <= 40
        assert hashlib.sha256(path.read_bytes()).hexdigest() == digest  # the config's model is not touched
        assert cfg.model_dump() == before
        assert sorted(p.name for p in tmp_path.iterdir()) == ["start.keras"]  # no run directory, nothing else

    def test_stops_early_once_the_smoothed_loss_passes_four_times_its_minimum(self) -> None:
        cfg = load_config(ROOT / "sample_configs" / "moons.yaml", [*TINY, "compile.optimizer.name=sgd"])
        result = lr_range_test(cfg, min_lr=1e-3, max_lr=1e6, steps=60)
        assert result.stopped_early and len(result.lrs) < 60
        finite = [s for s in result.smoothed if math.isfinite(s)]
        last = result.smoothed[-1]
        assert not math.isfinite(last) or last > DIVERGE * min(finite)


def test_a_csv_with_a_text_column_is_swept(tmp_path: Path) -> None:
    """Its text column is a tensor, not a numpy array: batches are gathered from it (it raised a TypeError)."""
    from text_csv import homes_config

    result = lr_range_test(homes_config(tmp_path), min_lr=1e-4, max_lr=1.0, steps=20)
    assert len(result.losses) > 5 and all(math.isfinite(v) for v in result.losses[:5])
