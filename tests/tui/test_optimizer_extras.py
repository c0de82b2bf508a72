"""Train settings: the chosen optimizer's own arguments (SGD momentum, nesterov …) are fields, read from Keras."""

from __future__ import annotations

from textual.message import Message
from textual.notifications import Notify
from textual.widgets import Input, Switch

from tui.factory import make_app

SIZE = (110, 44)


class Notes(list):
    """The notifications an app posted, as ``title: message``: pass ``run_test(message_hook=notes.hook)``."""

    def hook(self, message: Message) -> None:
        if isinstance(message, Notify):
            self.append(f"{message.notification.title}: {message.notification.message}")


def optimizer(app) -> dict:
    return dict(app.workspace.raw["compile"]["optimizer"])


def extras(app) -> list[str]:
    return [w.id.removeprefix("f-compile-optimizer-") for w in app.screen.query("#optimizer-extras Input, #optimizer-extras Switch")]


async def settle(pilot, app) -> None:
    await app.workers.wait_for_complete()
    await pilot.pause()
    await pilot.pause()


class TestOptimizerExtras:
    """Switching the optimizer offers its own arguments; edits land in compile.optimizer; stale ones are dropped."""

    async def test_sgd_momentum_and_nesterov(self, tiny_config) -> None:
        notes = Notes()
        app = make_app(tiny_config(), warm_up=False, cursor_blink=False, start_mode="train")
        async with app.run_test(size=SIZE, message_hook=notes.hook) as pilot:
            await pilot.press("o")
            await settle(pilot, app)
            assert extras(app) == ["beta-1", "beta-2", "epsilon", "amsgrad", "weight-decay"]  # adam's, from Keras
            assert app.screen.query_one("#f-compile-optimizer-beta-1", Input).placeholder == "Keras' default: 0.9"
            await pilot.click("#f-compile-optimizer-name")
            await pilot.press(*"sgd", "enter")
            await settle(pilot, app)
            assert extras(app) == ["momentum", "nesterov", "weight-decay"]
            await pilot.click("#f-compile-optimizer-momentum")
            await pilot.press(*"0.9")
            await pilot.click("#f-compile-optimizer-nesterov")
            await pilot.pause()
            assert app.screen.query_one("#f-compile-optimizer-nesterov", Switch).value
            assert optimizer(app) == {"name": "sgd", "learning_rate": 0.01, "momentum": 0.9, "nesterov": True}
            # A value Keras' catalogue check refuses is shown, and not applied.
            await pilot.press("shift+tab", "home", "-")
            await pilot.pause()
            assert app.screen.query_one("#f-compile-optimizer-momentum", Input).value == "-0.9"
            error = str(app.screen.query_one("#err-compile-optimizer-momentum").render())
            assert "-0.9" in error, error
            assert optimizer(app)["momentum"] == 0.9
            await pilot.press("end", "ctrl+u")  # emptied: the key goes, Keras' default applies
            await pilot.pause()
            assert "momentum" not in optimizer(app)
            assert app.workspace.config().compile.optimizer.model_extra == {"nesterov": True}
            # Another optimizer: what it does not take is dropped, and the app says so.
            await pilot.click("#f-compile-optimizer-name")
            await pilot.press(*"adam", "enter")
            await settle(pilot, app)
            assert optimizer(app) == {"name": "adam", "learning_rate": 0.01}
            assert any(note.startswith("optimizer: nesterov dropped: adam does not take it") for note in notes), notes
            assert extras(app) == ["beta-1", "beta-2", "epsilon", "amsgrad", "weight-decay"]
