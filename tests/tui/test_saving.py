"""The app never loses the user's config: broken files are not written over, unsaved edits are marked and asked about, invalid fields block saving and training, ctrl+s keeps the file as written."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from textual import events
from textual.message import Message
from textual.notifications import Notify
from textual.widgets import DataTable, Input, Label

from tui.factory import make_app
from tui.screens.dialogs import ConfirmDialog
from tui.screens.save_dialogs import PathDialog, UnsavedDialog
from tui.widgets.nav import NavBar

ROOT = Path(__file__).parents[2]
INVALID = ROOT / "sample_configs" / "invalid"
SIZE = (100, 30)

COMMENTED = """\
# My experiment: keep this comment
name: tiny   # why this name
seed: 1
data: {source: synthetic, name: spirals, samples: 600, noise: 0.2, validation_split: 0.2}
model:
  input_shape: [2]
  layers:
    # the hidden layer
    - Dense: {units: 16, activation: relu}
    - Dense: {units: 2, activation: softmax}  # output
compile: {optimizer: {name: adam, learning_rate: 0.01}, loss: sparse_categorical_crossentropy, metrics: [accuracy]}
fit:
  epochs: 40
output: {runs_dir: my_runs}
"""


class Notes(list):
    """The notifications an app posted, as ``title: message``: pass ``run_test(message_hook=notes.hook)``."""

    def hook(self, message: Message) -> None:
        if isinstance(message, Notify):
            self.append(f"{message.notification.title}: {message.notification.message}")


def top_bar(app) -> str:
    return str(app.screen.query_one(NavBar).render())


async def at_once(pilot, *keys: str) -> None:
    """Send ``keys`` as one write from the terminal does (a paste, a laggy link): all queued before any is handled."""
    for key in keys:
        char = key if len(key) == 1 else None
        pilot.app.post_message(events.Key(key, char))
    await pilot.pause()
    await pilot.pause()


async def focus_epochs(pilot) -> Input:
    """Train screen → ``o`` → the epochs field, reached with tab as a user does."""
    await pilot.press("3", "o")
    await pilot.pause()
    app = pilot.app
    epochs = app.screen.query_one("#f-fit-epochs", Input)
    while app.focused is not epochs:
        await pilot.press("tab")
    return epochs


@pytest.fixture
def commented(tmp_path: Path) -> Path:
    path = tmp_path / "long.yaml"
    path.write_text(COMMENTED, encoding="utf-8")
    return path


class TestBrokenConfig:
    """A config the app cannot load opens as an error for that file, and is never written over."""

    @pytest.mark.parametrize(
        "name, shown",
        [("syntax_error.yaml", "YAML syntax error at line 7"), ("binary.yaml", "is a binary file"), ("empty.yaml", "is empty")],
    )
    async def test_it_shows_the_error_no_sample_and_ctrl_s_does_not_write_over_it(self, tmp_path: Path, name: str, shown: str) -> None:
        path = tmp_path / name
        shutil.copy(INVALID / name, path)
        before = path.read_bytes()
        app = make_app(path, warm_up=False, cursor_blink=False)
        async with app.run_test(size=SIZE) as pilot:
            await pilot.pause()
            assert f"{name} ✗ not loaded: " in top_bar(app) and shown in top_bar(app)
            assert app.screen.query_one("#layers", DataTable).row_count == 0  # not the spirals sample's layers
            await pilot.press("ctrl+s")
            await pilot.pause()
            # ctrl+s asks for another file; the broken one, entered anyway, is refused with the reason.
            assert isinstance(app.screen, PathDialog)
            await pilot.press("ctrl+u", *str(path), "enter")
            await pilot.pause()
            assert isinstance(app.screen, PathDialog)
            assert "could not be loaded" in str(app.screen.query_one("#path-error", Label).render())
            await pilot.press("escape")
        assert path.read_bytes() == before

    async def test_an_invalid_config_opens_as_written_with_its_problem_named(self, tmp_path: Path) -> None:
        path = tmp_path / "wrong_type.yaml"
        shutil.copy(INVALID / "wrong_type.yaml", path)
        app = make_app(path, warm_up=False, cursor_blink=False, check_config=False)  # as kwb ui opens it
        async with app.run_test(size=SIZE) as pilot:
            await pilot.pause()
            assert "wrong_type.yaml ✗ fit.epochs: must be an integer, got 'ten'" in top_bar(app)
            assert "not loaded" not in top_bar(app)
            # Its own layer, to fix here; fixed and saved, the mark goes and only the edit is written.
            assert app.screen.query_one("#layers", DataTable).row_count == 1
            app.workspace.set("fit.epochs", 10)
            await pilot.press("ctrl+s")
            await pilot.pause()
            assert top_bar(app).rstrip().endswith("wrong_type.yaml")
        assert path.read_text(encoding="utf-8") == (INVALID / "wrong_type.yaml").read_text(encoding="utf-8").replace("epochs: ten", "epochs: 10")

    async def test_the_work_done_on_it_can_be_saved_as_another_file(self, tmp_path: Path) -> None:
        path = tmp_path / "broken.yaml"
        shutil.copy(INVALID / "syntax_error.yaml", path)
        app = make_app(path, warm_up=False, cursor_blink=False)
        async with app.run_test(size=SIZE) as pilot:
            app.workspace.update({"model.input_shape": [2], "model.layers": [{"Dense": {"units": 2}}]})
            await pilot.press("ctrl+s")
            await pilot.pause()
            assert isinstance(app.screen, PathDialog)
            await pilot.press("enter")  # the suggested name, next to the broken file
            await pilot.pause()
            assert not isinstance(app.screen, PathDialog)
        saved = tmp_path / "broken-new.yaml"
        assert "Dense" in saved.read_text(encoding="utf-8")
        assert path.read_bytes() == (INVALID / "syntax_error.yaml").read_bytes()


class TestUnsavedEdits:
    """Unsaved edits are marked in the top bar; quitting or opening another config asks save / discard / cancel."""

    async def test_an_edit_marks_the_file_and_saving_clears_the_mark(self, commented: Path) -> None:
        app = make_app(commented, warm_up=False, cursor_blink=False)
        async with app.run_test(size=SIZE) as pilot:
            assert "long.yaml" in top_bar(app) and "•" not in top_bar(app)
            await focus_epochs(pilot)
            await pilot.press("end", "backspace", "backspace", *"12")
            await pilot.pause()
            assert "long.yaml •" in top_bar(app)
            await pilot.press("ctrl+s")
            await pilot.pause()
            assert "long.yaml" in top_bar(app) and "•" not in top_bar(app)
        assert "  epochs: 12\n" in commented.read_text(encoding="utf-8")

    async def test_ctrl_q_with_no_edits_quits_at_once(self, commented: Path) -> None:
        app = make_app(commented, warm_up=False, cursor_blink=False)
        async with app.run_test(size=SIZE) as pilot:
            await pilot.press("ctrl+q")
            await pilot.pause()
            assert not app.is_running or app._exit

    async def test_ctrl_q_asks_and_cancel_keeps_the_edits(self, commented: Path) -> None:
        app = make_app(commented, warm_up=False, cursor_blink=False)
        async with app.run_test(size=SIZE) as pilot:
            epochs = await focus_epochs(pilot)
            await pilot.press("end", "backspace", "backspace", *"12")
            await pilot.press("ctrl+q")
            await pilot.pause()
            assert isinstance(app.screen, UnsavedDialog)
            assert "long.yaml has unsaved changes" in str(app.screen.query_one("#unsaved-question", Label).render())
            await pilot.press("escape")
            await pilot.pause()
            assert app.is_running and not isinstance(app.screen, UnsavedDialog)
            assert epochs.value == "12" and app.workspace.get("fit.epochs") == 12
        assert commented.read_text(encoding="utf-8") == COMMENTED

    async def test_ctrl_q_then_discard_quits_without_writing(self, commented: Path) -> None:
        app = make_app(commented, warm_up=False, cursor_blink=False)
        async with app.run_test(size=SIZE) as pilot:
            await focus_epochs(pilot)
            await pilot.press("end", "backspace", "backspace", *"12")
            await at_once(pilot, "ctrl+q", "ctrl+q", "d")  # pressed twice: still one question
            assert not app.is_running or app._exit
            assert not any(isinstance(screen, UnsavedDialog) for screen in app.screen_stack)
        assert commented.read_text(encoding="utf-8") == COMMENTED

    async def test_ctrl_q_then_save_writes_then_quits(self, commented: Path) -> None:
        app = make_app(commented, warm_up=False, cursor_blink=False)
        async with app.run_test(size=SIZE) as pilot:
            await focus_epochs(pilot)
            await pilot.press("end", "backspace", "backspace", *"12")
            await pilot.press("ctrl+q")
            await pilot.pause()
            await pilot.press("s")
            await pilot.pause()
            assert not app.is_running or app._exit
        assert commented.read_text(encoding="utf-8") == COMMENTED.replace("epochs: 40", "epochs: 12")

    async def test_opening_a_runs_config_asks_then_save_asks_for_a_new_file(self, commented: Path, fixture_runs: Path) -> None:
        app = make_app(commented, warm_up=False, cursor_blink=False, runs_dir=fixture_runs)
        async with app.run_test(size=SIZE) as pilot:
            app.workspace.set("fit.epochs", 12)
            await pilot.press("4")
            await pilot.pause()
            await pilot.press("E")
            await pilot.pause()
            assert isinstance(app.screen, UnsavedDialog)
            await pilot.press("c")  # cancel: the edit stays, the run's config is not loaded
            await pilot.pause()
            assert app.workspace.get("fit.epochs") == 12 and "long.yaml •" in top_bar(app)
            await pilot.press("E")
            await pilot.pause()
            await pilot.press("d")
            await pilot.pause()
            run_id = (app.workspace.origin or "").removeprefix("run ")
            assert (fixture_runs / run_id / "config.yaml").is_file() and f"config of run {run_id}" in top_bar(app)
            assert app.workspace.get("name") != "tiny"
            await pilot.press("ctrl+s")
            await pilot.pause()
            # Not the file the app was opened on: a new one, next to it, named after the run.
            assert isinstance(app.screen, PathDialog)
            assert app.screen.query_one(Input).value == str(commented.parent / f"{run_id}.yaml")
            await pilot.press("enter")
            await pilot.pause()
            assert f"{run_id}.yaml" in top_bar(app)
        assert commented.read_text(encoding="utf-8") == COMMENTED
        assert (commented.parent / f"{run_id}.yaml").is_file()

    async def test_ctrl_o_asks_then_saves_and_opens_the_other_config(self, commented: Path) -> None:
        other = commented.parent / "other.yaml"
        other.write_text(COMMENTED.replace("name: tiny", "name: other"), encoding="utf-8")
        app = make_app(commented, warm_up=False, cursor_blink=False)
        async with app.run_test(size=SIZE) as pilot:
            await focus_epochs(pilot)
            await pilot.press("ctrl+u", *"12")
            await pilot.press("ctrl+o")
            await pilot.pause()
            assert isinstance(app.screen, PathDialog)
            await pilot.press("ctrl+u", *str(other), "enter")
            await pilot.pause()
            assert isinstance(app.screen, UnsavedDialog)
            await pilot.press("s")
            await pilot.pause()
            assert "other.yaml" in top_bar(app) and "•" not in top_bar(app)
            assert app.workspace.get("name") == "other"
        assert commented.read_text(encoding="utf-8") == COMMENTED.replace("epochs: 40", "epochs: 12")

    async def test_quitting_during_a_run_with_edits_asks_both_questions(self, tmp_path: Path, commented: Path, wait_for) -> None:
        runs = tmp_path / "runs"
        app = make_app(commented, runs_dir=runs, warm_up=False, cursor_blink=False)
        async with app.run_test(size=SIZE) as pilot:
            app.workspace.set("fit.epochs", 400)
            await pilot.press("t")
            await wait_for(pilot, lambda: app.dash.status == "running", timeout=180)  # TensorFlow's import, on shared CPUs
            await pilot.press("ctrl+q")
            await wait_for(pilot, lambda: isinstance(app.screen, UnsavedDialog), timeout=10, what="the save question")
            await pilot.press("s")
            # then: stop the run?
            await wait_for(pilot, lambda: isinstance(app.screen, ConfirmDialog), timeout=10, what="the run question")
            await pilot.press("y")
            await wait_for(pilot, lambda: app._exit or not app.is_running, timeout=120, what="the run to stop")
        assert "  epochs: 400\n" in commented.read_text(encoding="utf-8")


class TestInvalidFields:
    """While a settings field holds invalid text, ctrl+s and t refuse, naming the field."""

    async def test_ctrl_s_and_t_refuse_and_name_the_field(self, commented: Path) -> None:
        notes = Notes()
        app = make_app(commented, warm_up=False, cursor_blink=False)
        async with app.run_test(size=SIZE, message_hook=notes.hook) as pilot:
            epochs = await focus_epochs(pilot)
            await pilot.press("ctrl+u", *"abc")
            await pilot.pause()
            assert epochs.value == "abc"
            await pilot.press("ctrl+s")
            await pilot.pause()
            assert "not saved: fit.epochs: must be an integer, got 'abc' — fix it before saving" in notes
            await pilot.press("escape")  # leave the field; t is then the Start key
            app.set_focus(None)
            await pilot.press("t")
            await pilot.pause()
            assert "cannot start training: fit.epochs: must be an integer, got 'abc' — fix it before training" in notes
            assert not app.run_active
            # The text stays while other fields change, and quitting would lose it: it counts as unsaved.
            app.screen.query_one("#f-fit-batch-size", Input).value = "16"
            await pilot.pause()
            assert epochs.value == "abc" and "long.yaml •" in top_bar(app)
        assert commented.read_text(encoding="utf-8") == COMMENTED

    async def test_typed_then_saved_in_one_write_is_still_refused(self, commented: Path) -> None:
        notes = Notes()
        app = make_app(commented, warm_up=False, cursor_blink=False)
        async with app.run_test(size=SIZE, message_hook=notes.hook) as pilot:
            await focus_epochs(pilot)
            await at_once(pilot, "ctrl+u", *"4x", "ctrl+s")
            assert any(note.startswith("not saved: fit.epochs:") for note in notes)
        assert commented.read_text(encoding="utf-8") == COMMENTED

    async def test_fixed_the_save_goes_through(self, commented: Path) -> None:
        app = make_app(commented, warm_up=False, cursor_blink=False)
        async with app.run_test(size=SIZE) as pilot:
            await focus_epochs(pilot)
            await pilot.press("ctrl+u", *"abc")
            await pilot.press("ctrl+u", *"7", "ctrl+s")
            await pilot.pause()
        assert "  epochs: 7\n" in commented.read_text(encoding="utf-8")


class TestSaveKeepsTheFile:
    """ctrl+s writes what the user wrote plus what they changed: comments, no defaults, relative paths."""

    async def test_comments_kept_no_defaults_paths_relative(self, commented: Path) -> None:
        app = make_app(commented, warm_up=False, cursor_blink=False)
        async with app.run_test(size=SIZE) as pilot:
            await focus_epochs(pilot)
            await pilot.press("ctrl+u", *"12", "ctrl+s")
            await pilot.pause()
        text = commented.read_text(encoding="utf-8")
        assert text == COMMENTED.replace("epochs: 40", "epochs: 12")
        assert "null" not in text and "runs_dir: my_runs" in text

    async def test_save_as_is_a_key_and_writes_a_new_file(self, commented: Path) -> None:
        app = make_app(commented, warm_up=False, cursor_blink=False)
        async with app.run_test(size=SIZE) as pilot:
            await pilot.press("S")
            await pilot.pause()
            assert isinstance(app.screen, PathDialog)
            target = commented.parent / "sub" / "copy.yaml"
            target.parent.mkdir()
            await pilot.press("ctrl+u", *str(target), "enter")
            await pilot.pause()
            assert "copy.yaml" in top_bar(app)
            # Saving again goes to the new file, without asking.
            app.workspace.set("fit.epochs", 5)
            await pilot.press("ctrl+s")
            await pilot.pause()
            assert not isinstance(app.screen, PathDialog)
        assert commented.read_text(encoding="utf-8") == COMMENTED
        assert "# My experiment: keep this comment" in target.read_text(encoding="utf-8")
        assert "  epochs: 5\n" in target.read_text(encoding="utf-8")

    async def test_a_file_changed_on_disk_is_not_written_over_without_asking(self, commented: Path) -> None:
        app = make_app(commented, warm_up=False, cursor_blink=False)
        async with app.run_test(size=SIZE) as pilot:
            app.workspace.set("fit.epochs", 12)
            elsewhere = COMMENTED.replace("# My experiment", "# Edited in another editor")
            commented.write_text(elsewhere, encoding="utf-8")
            await pilot.press("ctrl+s")
            await pilot.pause()
            assert isinstance(app.screen, PathDialog)
            assert "changed on disk" in str(app.screen.query_one("#path-prompt", Label).render())
            await pilot.press("enter")  # its own name, once: asks again
            await pilot.pause()
            assert isinstance(app.screen, PathDialog) and commented.read_text(encoding="utf-8") == elsewhere
            await pilot.press("escape")
        assert commented.read_text(encoding="utf-8") == elsewhere

    async def test_save_as_is_in_the_command_palette(self, commented: Path) -> None:
        app = make_app(commented, warm_up=False, cursor_blink=False)
        async with app.run_test(size=(80, 24)) as pilot:
            await pilot.press("ctrl+p")
            await pilot.pause()
            await pilot.press(*"save as")
            await pilot.pause(0.5)
            await pilot.press("enter")
            await pilot.pause()
            assert isinstance(app.screen, PathDialog)

    async def test_save_as_over_another_file_asks_twice(self, commented: Path) -> None:
        other = commented.parent / "other.yaml"
        other.write_text("# someone else's\n", encoding="utf-8")
        app = make_app(commented, warm_up=False, cursor_blink=False)
        async with app.run_test(size=SIZE) as pilot:
            await pilot.press("S")
            await pilot.press("ctrl+u", *str(other), "enter")
            await pilot.pause()
            assert isinstance(app.screen, PathDialog)
            assert "exists" in str(app.screen.query_one("#path-error", Label).render())
            assert other.read_text(encoding="utf-8") == "# someone else's\n"
            await pilot.press("enter")
            await pilot.pause()
        assert other.read_text(encoding="utf-8") == COMMENTED
