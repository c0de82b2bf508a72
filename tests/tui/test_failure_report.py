"""A run that fails in fit: the toast and the event log say the cause and the fix, not TensorFlow's stack dump."""

from __future__ import annotations

from pathlib import Path

from textual.message import Message
from textual.notifications import Notify

from tui.factory import make_app
from tui.widgets.event_log import EventLog

SIZE = (120, 40)


class Notes(list):
    """The notifications an app posted, as ``title: message``: pass ``run_test(message_hook=notes.hook)``."""

    def hook(self, message: Message) -> None:
        if isinstance(message, Notify):
            self.append(f"{message.notification.title}: {message.notification.message}")


class TestFailureReport:
    """A metric that does not fit the labels: the cause in a line, what to change, where the traceback is."""

    async def test_auc_on_class_index_labels(self, tmp_path: Path, tiny_config, wait_for) -> None:
        path = tiny_config(epochs=2)
        path.write_text(path.read_text().replace("metrics: [accuracy]", "metrics: [accuracy, auc]"))
        runs = tmp_path / "runs"
        notes = Notes()
        app = make_app(path, runs_dir=runs, warm_up=False, cursor_blink=False)
        async with app.run_test(size=SIZE, message_hook=notes.hook) as pilot:
            await pilot.press("t")
            await wait_for(pilot, lambda: not app.run_active and app.dash.status == "failed")
            await pilot.pause()
            (run,) = runs.iterdir()
            hint = ("auc compares the labels with each of the model's 2 outputs, but the labels are class indices "
                    "(one per sample): remove it from compile.metrics, or use one-hot labels (data.one_hot: true "
                    "with loss categorical_crossentropy)")  # fmt: skip
            failed = [note for note in notes if note.startswith("training failed: ")]
            assert len(failed) == 1, notes
            lines = failed[0].removeprefix("training failed: ").splitlines()
            assert lines[0].startswith("ValueError: Argument `segment_ids` and `data` should have same leading"), lines
            assert lines[1:] == [hint, f"full traceback: {run}/error.txt"]
            assert "File \"" not in failed[0] and "Graph execution" not in failed[0]
            rows = [line.text for line in app.dash.log if line.kind == "error"]
            assert rows[-4:-1] == [f"error: {lines[0]}", f"  {hint}", f"  full traceback: {run}/error.txt"], rows
            assert rows[-1].startswith("run failed after 0 epochs")
            shown = str(app.screen.query_one(EventLog).render())
            assert "error: ValueError: Argument `segment_ids`" in shown and "  auc compares the labels" in shown
