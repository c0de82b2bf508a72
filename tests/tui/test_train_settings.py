"""Train settings pilot tests: edits validated inline, applied to the workspace, saved by ctrl+s."""

from __future__ import annotations

from textual.message import Message
from textual.widgets import Input, Label, Select, Switch

from tui.factory import make_app
from tui.widgets.train_settings import TrainSettings
from tui.workspace import Workspace

SIZE = (80, 24)


def error_of(app, fid: str) -> str:
    return str(app.screen.query_one(f"#err-{fid}", Label).render())


class TestTrainSettings:
    """The Train settings validate each edit inline, apply it to the workspace and save with ctrl+s."""

    async def test_settings_edit_validate_save(self, tiny_config) -> None:
        changes: list[Workspace.Changed] = []

        def hook(message: Message) -> None:
            if isinstance(message, Workspace.Changed):
                changes.append(message)

        from engine.config_io import load_config

        path = tiny_config()
        app = make_app(path, warm_up=False, cursor_blink=False, start_mode="train")
        async with app.run_test(size=SIZE, message_hook=hook) as pilot:
            await pilot.press("o")
            await pilot.pause()
            settings = app.screen.query_one(TrainSettings)
            assert settings.display
            assert app.focused is app.screen.query_one("#f-compile-optimizer-name", Select)
            app.screen.query_one("#f-compile-optimizer-name", Select).value = "sgd"
            await pilot.pause()
            assert app.workspace.raw["compile"]["optimizer"]["name"] == "sgd"
            # Bad epochs, typed: inline error, config untouched.
            epochs = app.screen.query_one("#f-fit-epochs", Input)
            epochs.focus()
            await pilot.press("-", "1")
            await pilot.pause()
            assert epochs.value == "-1"
            assert "must be greater than 0, got -1" in error_of(app, "fit-epochs")
            assert app.workspace.raw["fit"]["epochs"] == 40
            await pilot.press("backspace", "backspace", "3")
            await pilot.pause()
            assert app.workspace.raw["fit"]["epochs"] == 3
            assert not error_of(app, "fit-epochs").strip()
            # An unknown metric is named; a callback switched on gets its defaults.
            metrics = app.screen.query_one("#f-compile-metrics", Input)
            metrics.value = "accuracy, acuracy"
            await pilot.pause()
            assert "acuracy" in error_of(app, "compile-metrics")
            assert app.workspace.raw["compile"]["metrics"] == ["accuracy"]
            assert app.screen.query_one("#f-callbacks-early-stopping-patience", Input).disabled
            app.screen.query_one("#f-callbacks-early-stopping", Switch).value = True
            await pilot.pause()
            assert app.workspace.raw["callbacks"]["early_stopping"]["patience"] == 5
            patience = app.screen.query_one("#f-callbacks-early-stopping-patience", Input)
            assert not patience.disabled
            patience.value = "2"
            await pilot.pause()
            app.screen.query_one("#f-controls-lr-factor", Input).value = "0.25"
            await pilot.pause()
            assert app.lr_factor == 0.25
            # The throughput levers: shown with their current values, set like any field.
            jit = app.screen.query_one("#f-runtime-jit-compile", Select)
            precision = app.screen.query_one("#f-runtime-mixed-precision", Select)
            assert (jit.value, precision.value) == ("auto", "none")
            jit.value = "false"
            await pilot.pause()
            precision.value = "mixed_bfloat16"
            await pilot.pause()
            assert app.workspace.raw["runtime"]["jit_compile"] is False
            # Settled: no stale Changed event keeps two values flapping (it once did, thousands of times).
            assert changes and changes[-1].paths == ("runtime.mixed_precision",)
            seen = len(changes)
            for _ in range(5):
                await pilot.pause()
            assert len(changes) == seen
            metrics.value = "accuracy"  # an invalid field blocks ctrl+s (tests/tui/test_saving.py)
            await pilot.pause()
            await pilot.press("ctrl+s")
            await pilot.pause()
        cfg = load_config(path)
        assert cfg.compile.optimizer.name == "sgd"
        assert cfg.fit.epochs == 3
        assert cfg.callbacks.early_stopping is not None and cfg.callbacks.early_stopping.patience == 2
        assert cfg.controls.lr_factor == 0.25
        assert (cfg.runtime.jit_compile, cfg.runtime.mixed_precision) == (False, "mixed_bfloat16")
