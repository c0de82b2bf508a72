"""Settings fields whose config value is a mapping per output (loss, metrics): shown as YAML flow text, never rewritten unasked."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

from textual.widgets import Input, Label, Select

from tui.factory import make_app

SIZE = (80, 24)
TWO_INPUTS = Path(__file__).parents[2] / "sample_configs" / "two_inputs.yaml"


class RecordingEngine:
    """Stands in for ``engine.session``: keeps the config it is asked to train, trains nothing."""

    def __init__(self) -> None:
        self.configs: list[Any] = []

    def train(self, cfg: Any, *, sink: Any, control: Any = None, runs_dir: Any = None) -> None:
        self.configs.append(cfg)


def error_of(app, fid: str) -> str:
    return str(app.screen.query_one(f"#err-{fid}", Label).render())


class TestPerOutputMappings:
    """Opening the Train settings of a two-output config changes nothing; its mappings are shown and edited as YAML."""

    async def test_opening_settings_keeps_the_config_and_training_starts(self, tmp_path: Path, wait_for) -> None:
        path = Path(shutil.copy(TWO_INPUTS, tmp_path / "ti2.yaml"))
        engine = RecordingEngine()
        app = make_app(path, engine=engine, warm_up=False, cursor_blink=False)
        async with app.run_test(size=SIZE) as pilot:
            await pilot.press("3", "o")
            await pilot.pause()
            await pilot.pause()
            assert not app.workspace.modified, app.workspace.unfinished()
            assert app.workspace.raw["compile"]["metrics"] == {"label": ["accuracy"], "score": ["mae"]}
            assert app.workspace.raw["compile"]["loss"] == {"label": "sparse_categorical_crossentropy", "score": "mse"}
            # Shown as they are, no error: the loss as text in place of the list of loss names.
            metrics = app.screen.query_one("#f-compile-metrics", Input)
            assert metrics.value == "{label: [accuracy], score: [mae]}"
            assert not error_of(app, "compile-metrics").strip()
            loss = app.screen.query_one("#t-compile-loss", Input)
            assert loss.display and not app.screen.query_one("#f-compile-loss", Select).display
            assert loss.value == "{label: sparse_categorical_crossentropy, score: mse}"
            app.set_focus(None)
            await pilot.press("t")
            await wait_for(pilot, lambda: bool(engine.configs), timeout=10, what="training to start")
            assert engine.configs[0].compile.metrics == {"label": ["accuracy"], "score": ["mae"]}
        assert path.read_text(encoding="utf-8") == TWO_INPUTS.read_text(encoding="utf-8")

    async def test_editing_the_mapping_text_writes_a_mapping(self, tmp_path: Path) -> None:
        path = Path(shutil.copy(TWO_INPUTS, tmp_path / "ti2.yaml"))
        app = make_app(path, warm_up=False, cursor_blink=False, start_mode="train")
        async with app.run_test(size=SIZE) as pilot:
            await pilot.press("o")
            await pilot.pause()
            metrics = app.screen.query_one("#f-compile-metrics", Input)
            # A bad metric of one output is named with its output; the workspace keeps its value.
            metrics.value = "{label: [acuracy], score: [mae]}"
            await pilot.pause()
            assert "label[0]: unknown metric 'acuracy'" in error_of(app, "compile-metrics")
            assert app.workspace.raw["compile"]["metrics"] == {"label": ["accuracy"], "score": ["mae"]}
            assert app.workspace.modified  # typed text not valid yet: quitting would lose it
            metrics.value = "{label: [accuracy], score: [mae, mse]}"
            await pilot.pause()
            assert app.workspace.raw["compile"]["metrics"] == {"label": ["accuracy"], "score": ["mae", "mse"]}
            assert not error_of(app, "compile-metrics").strip()
            # The loss mapping, edited as text; an output left without a loss is refused.
            loss = app.screen.query_one("#t-compile-loss", Input)
            loss.value = "{label: sparse_categorical_crossentropy}"
            await pilot.pause()
            assert "no loss for output 'score'" in error_of(app, "compile-loss")
            loss.value = "{label: sparse_categorical_crossentropy, score: mae}"
            await pilot.pause()
            assert app.workspace.raw["compile"]["loss"] == {"label": "sparse_categorical_crossentropy", "score": "mae"}
            await pilot.press("ctrl+s")
            await pilot.pause()
        text = path.read_text(encoding="utf-8")
        assert "metrics: {label: [accuracy], score: [mae, mse]}" in text
        assert "loss: {label: sparse_categorical_crossentropy, score: mae}" in text

    async def test_a_single_loss_is_still_a_choice(self, tiny_config) -> None:
        app = make_app(tiny_config(), warm_up=False, cursor_blink=False, start_mode="train")
        async with app.run_test(size=SIZE) as pilot:
            await pilot.press("o")
            await pilot.pause()
            select = app.screen.query_one("#f-compile-loss", Select)
            assert select.display and select.value == "sparse_categorical_crossentropy"
            assert not app.screen.query_one("#t-compile-loss", Input).display
            assert app.screen.query_one("#f-compile-metrics", Input).value == "accuracy"
            assert not app.workspace.modified

    async def test_values_the_controls_cannot_spell_are_shown_as_written(self, tiny_config, wait_for) -> None:
        path = tiny_config()
        text = path.read_text(encoding="utf-8")
        text = text.replace("loss: sparse_categorical_crossentropy, metrics: [accuracy]",
                            "loss: mse, metrics: [accuracy, {name: auc, curve: PR}]")
        text = text.replace("learning_rate: 0.01}", "learning_rate: 0.01, beta_1: '0.8'}")  # a string, as written
        path.write_text(text, encoding="utf-8")
        app = make_app(path, warm_up=False, cursor_blink=False, start_mode="train")
        async with app.run_test(size=SIZE) as pilot:
            await pilot.press("o")
            beta_1 = "#f-compile-optimizer-beta-1"
            await wait_for(pilot, lambda: bool(app.screen.query(beta_1)), timeout=30, what="adam's arguments")
            await pilot.pause()
            assert app.screen.query_one(beta_1, Input).value == "0.8"
            assert not app.workspace.modified, app.workspace.unfinished()
            assert app.workspace.raw["compile"]["optimizer"]["beta_1"] == "0.8"
            loss = app.screen.query_one("#t-compile-loss", Input)  # an alias: no choice of the list
            assert loss.display and loss.value == "mse"
            metrics = app.screen.query_one("#f-compile-metrics", Input)
            assert metrics.value == "[accuracy, {name: auc, curve: PR}]"
            # Typing a choice's name keeps the text field (no control swapped under the cursor).
            loss.focus()
            await pilot.press("ctrl+u", *"mae")
            await pilot.pause()
            assert app.workspace.raw["compile"]["loss"] == "mae"
            assert loss.display and app.focused is loss
        assert path.read_text(encoding="utf-8") == text
