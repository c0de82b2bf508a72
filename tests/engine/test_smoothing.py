"""engine.smoothing: TensorBoard's debiased EMA, checked against hand-computed values and its properties."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from engine.smoothing import SMOOTHING_STEPS, debiased_ema, next_weight, weight_label


class TestDebiasedEma:
    """The smoothed curve matches TensorBoard's formula."""

    def test_hand_computed(self) -> None:
        # last: 0.4*1 = 0.4 -> /0.4 = 1.0; 0.6*0.4 + 0.4*3 = 1.44 -> /(1-0.36) = 2.25
        assert debiased_ema([1.0, 3.0], 0.6) == pytest.approx([1.0, 2.25])

    def test_first_point_is_not_dragged_to_zero(self) -> None:
        assert debiased_ema([5.0, 5.5, 4.5], 0.99)[0] == pytest.approx(5.0)

    def test_off_returns_values(self) -> None:
        assert debiased_ema([3.0, 1.0, 2.0], 0.0) == [3.0, 1.0, 2.0]

    def test_non_finite_passes_through_without_poisoning(self) -> None:
        out = debiased_ema([1.0, math.nan, 3.0, math.inf], 0.6)
        assert out[0] == pytest.approx(1.0) and math.isnan(out[1]) and out[3] == math.inf
        assert out[2] == pytest.approx(2.25)

    def test_constant_curve_unchanged(self) -> None:
        assert debiased_ema([0.1] * 5, 0.9) == [0.1] * 5

    def test_smooths_noise(self) -> None:
        raw = [1.0 if i % 2 else 0.0 for i in range(40)]
        out = debiased_ema(raw, 0.9)
        assert max(out[20:]) - min(out[20:]) < 0.2

    @pytest.mark.parametrize("weight", [-0.1, 1.0, 1.5, math.nan])
    def test_bad_weight(self, weight: float) -> None:
        with pytest.raises(ValueError, match="smoothing weight"):
            debiased_ema([1.0], weight)

    @given(st.lists(st.floats(-1e6, 1e6), min_size=1, max_size=50), st.sampled_from(SMOOTHING_STEPS))
    def test_stays_within_range(self, values: list[float], weight: float) -> None:
        out = debiased_ema(values, weight)
        assert len(out) == len(values)
        assert all(min(values) - 1e-6 * (1 + abs(v)) <= v <= max(values) + 1e-6 * (1 + abs(v)) for v in out)


class TestCycle:
    """The S key's cycle and the title label."""

    def test_cycle(self) -> None:
        seen = [0.0]
        for _ in range(4):
            seen.append(next_weight(seen[-1]))
        assert seen == [0.0, 0.6, 0.9, 0.99, 0.0]

    def test_unknown_goes_to_first(self) -> None:
        assert next_weight(0.42) == 0.0

    def test_label(self) -> None:
        assert weight_label(0.9) == "smooth 0.9" and weight_label(0.0) == ""
