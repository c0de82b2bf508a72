"""``Runner``: the app's in-process run — ``engine.session.train`` in a thread worker, its events posted to the app.

Who owns what: the Runner owns the ``train`` worker and what trains (``TrainEngine``:
``engine.session``, or a stand-in that replays a recorded stream in tests and
benchmarks). The app owns the dashboard state and the run's ``Control``; it folds the
``KwbApp.RunEvent`` messages the worker posts and handles :class:`Runner.Finished`.
"""

from __future__ import annotations

import traceback
from functools import partial
from typing import TYPE_CHECKING, Any, Protocol

from textual.message import Message

from engine import events as ev
from engine.control import CallbackSink, Control
from tui.threads import lower_thread_priority

if TYPE_CHECKING:
    from pathlib import Path

__all__ = ["Runner", "RunnerHost", "TrainEngine"]


class RunnerHost(Protocol):
    """What the Runner uses of the app (``tui.app.KwbApp``): typed here, so this module does not
    import the app that imports it."""

    runs_dir: Path | None
    RunEvent: Any
    """The message class that carries one engine event to the app: ``RunEvent(event)``."""

    def run_worker(self, work: Any, **kwargs: Any) -> Any: ...
    def post_message(self, message: Message) -> bool: ...


class TrainEngine(Protocol):
    """What the app needs from the engine; ``engine.session`` is the real one."""

    def train(self, cfg: Any, *, sink: Any, control: Any = None, runs_dir: Any = None) -> Any: ...


class _LiveEngine:
    """Imports ``engine.session`` (and so TensorFlow) on first use, in the calling thread."""

    def train(self, cfg: Any, **kwargs: Any) -> Any:
        from engine.kerasapi import keras

        keras()  # TensorFlow's import, one thread at a time (the Build screen's summary may be importing it)
        from engine import session

        return session.train(cfg, **kwargs)


class Runner:
    """Trains a config in the app's ``train`` thread worker.

    Args:
        app: the app that shows the run.
        engine: what trains. Defaults to None: ``engine.session``, imported in the worker.
    """

    class Finished(Message):
        """The training worker returned (``result``) or raised (``error``)."""

        def __init__(self, result: Any = None, error: ev.Error | None = None) -> None:
            super().__init__()
            self.result = result
            self.error = error

    def __init__(self, app: RunnerHost, engine: TrainEngine | None = None) -> None:
        self.app = app
        self.engine: TrainEngine = engine or _LiveEngine()
        """What trains."""

    def start(self, cfg: Any, control: Control) -> None:
        """Train ``cfg`` in the background, taking commands from ``control``; ``Finished`` answers."""
        self.app.run_worker(partial(self._train, cfg, control), group="train", thread=True, exclusive=True, exit_on_error=False)

    def _train(self, cfg: Any, control: Control) -> None:
        """The ``train`` worker (a thread): talks to the UI only through ``post_message``."""
        lower_thread_priority()
        app = self.app
        sink = CallbackSink(lambda event: app.post_message(app.RunEvent(event)))
        try:
            result = self.engine.train(cfg, sink=sink, control=control, runs_dir=app.runs_dir)
        except Exception as exc:  # a UserError (bad data, bad model) or a bug: show it, keep going
            from engine.diagnose import explain
            from engine.errors import USER_ERRORS, UserError

            # A UserError is already in the user's words (the log adds its own "error: ");
            # anything else gets its cause found.
            if isinstance(exc, UserError):
                message = f"{exc.key}: {exc.message}" if exc.key else exc.message
                message += f"\n  in {exc.source}" if exc.source else ""
            else:
                message = str(exc) if isinstance(exc, USER_ERRORS) else explain(exc).text
            error = ev.Error(message=message, fatal=True, traceback=traceback.format_exc())
            app.post_message(self.Finished(error=error))
            return
        app.post_message(self.Finished(result=result))
