"""engine.optimizer_args: an optimizer's own arguments come from its Keras class, and the config check accepts them."""

from __future__ import annotations

import pytest

from engine.config_io import parse_config
from engine.layers import OPTIMIZERS
from engine.optimizer_args import optimizer_arguments


class TestOptimizerArguments:
    """What the Train settings offer for each optimizer."""

    def test_sgd(self):
        assert [(a.name, a.kind, a.default) for a in optimizer_arguments("SGD")] == [
            ("momentum", "float", 0.0), ("nesterov", "bool", False), ("weight_decay", "any", None),
        ]  # fmt: skip

    def test_shared_arguments_are_left_out_but_adamw_s_weight_decay_stays(self):
        adamw = {a.name: a.default for a in optimizer_arguments("adamw")}
        assert adamw["weight_decay"] == 0.004 and "clipnorm" not in adamw and "learning_rate" not in adamw

    def test_an_unknown_optimizer_has_none(self):
        assert optimizer_arguments("nope") == ()

    @pytest.mark.parametrize("name", list(OPTIMIZERS))
    def test_every_offered_argument_passes_the_config_check(self, name: str):
        """The form offers what Keras has; kwb's catalogue must not refuse it (Ftrl's arguments once were)."""
        args = {a.name: a.default for a in optimizer_arguments(name) if a.default is not None}
        cfg = parse_config({"model": {"layers": [{"Dense": {"units": 1}}]}, "compile": {"optimizer": {"name": name, **args}}})
        assert cfg.compile.optimizer.model_extra == args
