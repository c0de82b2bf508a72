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
        # Refused before training by the one-batch probe (engine.batch_probe): the key and the
        # hint in the event log, no run directory, no TensorFlow message.
        path = tiny_config(epochs=2)
        path.write_text(path.read_text().replace("metrics: [accuracy]", "metrics: [accuracy, auc]"))
        runs = tmp_path / "runs"
        app = make_app(path, runs_dir=runs, warm_up=False, cursor_blink=False)
        async with app.run_test(size=SIZE) as pilot:
            await pilot.press("t")
            await wait_for(pilot, lambda: not app.run_active and app.dash.status == "failed")
            await pilot.pause()
            assert not runs.exists() or not any(runs.iterdir())
            hint = ("auc compares the labels with each of the model's 2 outputs, but the labels are class indices "
                    "(one per sample): remove it from compile.metrics, or use one-hot labels (data.one_hot: true "
                    "with loss categorical_crossentropy)")  # fmt: skip
            rows = [line.text for line in app.dash.log if line.kind == "error"]
            assert rows[0] == f"error: compile.metrics[1]: {hint}", rows
            assert rows[-1].startswith("run failed (error) after 0 epochs")
            shown = str(app.screen.query_one(EventLog).render())
            assert "error: compile.metrics[1]: auc compares the labels" in shown and "error: error" not in shown
