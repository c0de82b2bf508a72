"""``Attacher``: the part of the app that follows a run in another process, and starts detached runs.

The app owns one (``KwbApp.attacher``). Who owns what: the Attacher owns the run
directory being followed and its two thread workers (group ``attach``: replay and tail
the run's ``events.jsonl`` through ``tui.remote.follow``; group ``spawn``: start
``kwb train`` detached through ``tui.detach.launch_detached``). The app owns the
dashboard state and the run controls; the Attacher changes them only through the app's
public API (``control``, ``lr_factor``, ``replay``, ``apply_event``).

Workers talk to the UI only by message: the backlog arrives as one
:class:`Attacher.History`, each later event as the same ``KwbApp.RunEvent`` an in-process
run posts, the end as :class:`Attacher.Ended`, a detached start as
:class:`Attacher.Spawned`; the app hands each back to the Attacher. A live run gets a
``tui.remote.RemoteControl`` with ``Control``'s verbs, so ``s l L c p`` work unchanged;
once the run has ended (or was never live) the keys are refused with a reason. Leaving
the viewer only stops the tail: the run itself is never touched.
"""

from __future__ import annotations

import os
import tempfile
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from textual.message import Message
from textual.worker import get_current_worker

from engine import events as ev
from tui.state import process_gone

if TYPE_CHECKING:
    from collections.abc import Iterable

    from engine.runs import RunDir
    from tui.state import DashState
    from tui.workspace import Workspace

# ``engine.runs``, ``engine.config`` and ``tui.remote`` bring pydantic (~0.1 s), so they
# are imported where they are used: none of it is needed before the app's first frame.

__all__ = ["Attacher", "AttachHost"]


class AttachHost(Protocol):
    """What the Attacher uses of the app (``tui.app.KwbApp``): typed here, so this module does not
    import the app that imports it."""

    control: Any
    lr_factor: float
    sub_title: str
    runs_dir: Path | None
    workspace: Workspace
    RunEvent: Any
    """The message class that carries one engine event to the app: ``RunEvent(event)``."""

    @property
    def latest(self) -> DashState: ...
    @property
    def workers(self) -> Any: ...
    def replay(self, events: Iterable[ev.Event]) -> None: ...
    def apply_event(self, event: ev.Event, publish: bool = True) -> None: ...
    def refresh_bindings(self) -> None: ...
    def switch_mode(self, mode: str) -> Any: ...
    def notify(self, message: str, **kwargs: Any) -> Any: ...
    def run_worker(self, work: Any, **kwargs: Any) -> Any: ...
    def post_message(self, message: Message) -> bool: ...
    def call_from_thread(self, callback: Any, *args: Any, **kwargs: Any) -> Any: ...

ENDED_STATES = ("finished", "stopped", "failed")
"""Dashboard states that a ``run_ended`` event set: the run said how it ended."""


class Attacher:
    """Follows one run directory for the app; ``spawn`` starts the workspace config detached.

    Args:
        app: the app whose dashboard shows the followed run.
    """

    class History(Message):
        """Every event the attached run recorded before we attached."""

        def __init__(self, run: RunDir, events: list[ev.Event]) -> None:
            super().__init__()
            self.run = run
            self.events = events

    class Ended(Message):
        """The attached run ended (``state``: finished, stopped, failed or died)."""

        def __init__(self, run: RunDir, state: str) -> None:
            super().__init__()
            self.run = run
            self.state = state

    class Spawned(Message):
        """A detached ``kwb train`` announced its run directory (``path``) or failed (``error``)."""

        def __init__(self, path: Path | None = None, error: str | None = None) -> None:
            super().__init__()
            self.path = path
            self.error = error

    def __init__(self, app: AttachHost) -> None:
        self.app = app
        self.run: RunDir | None = None
        """The run directory the dashboard follows; None for in-process runs (or none)."""

    def is_current(self, run: RunDir) -> bool:
        """True if ``run`` is the run being followed (a message from an earlier one is stale)."""
        return self.run is not None and self.run.path == run.path

    # ------------------------------------------------------------ attach, detach
    def attach(self, path: str | os.PathLike[str]) -> None:
        """Show the run in ``path`` on the Train screen, live if it is still running."""
        app = self.app
        if app.control is not None and self.run is None:
            app.notify("an in-app run is in progress; stop it before attaching", severity="warning")
            return
        from engine.control_client import lr_factor_of
        from engine.runs import LIVE_STATES, RunDir, run_state
        from tui.remote import RemoteControl

        run = RunDir(Path(path))
        self.run = run
        app.control = RemoteControl(run) if run_state(run) in LIVE_STATES else None
        app.lr_factor = lr_factor_of(run, app.lr_factor)
        app.replay(())  # an empty dashboard until the history arrives
        app.refresh_bindings()
        app.sub_title = f"attached to {run.id}"
        app.switch_mode("train")
        app.run_worker(partial(self._follow, run), group="attach", thread=True, exclusive=True, exit_on_error=False)

    def detach(self) -> None:
        """Stop following the attached run (the run itself is untouched)."""
        if self.run is None:
            return
        from tui.remote import RemoteControl

        self.app.workers.cancel_group(self.app, "attach")
        self.run = None
        if isinstance(self.app.control, RemoteControl):
            self.app.control = None
        self.app.sub_title = ""
        self.app.refresh_bindings()

    def _follow(self, run: RunDir) -> None:
        """The ``attach`` worker (a thread): say what is damaged in the run's files, replay, then tail, until the run ends or we detach."""
        from tui.remote import follow

        from engine.runs import run_info

        worker = get_current_worker()
        app = self.app
        info = run_info(run.path)  # here, off the UI thread: it reads the whole events.jsonl
        if info is not None and info.damaged and not worker.is_cancelled:
            app.call_from_thread(app.notify, f"{run.id}: {info.damaged}", title="damaged run", severity="warning", timeout=10)

        def live_event(event: ev.Event) -> None:
            if not worker.is_cancelled:
                app.post_message(app.RunEvent(event))

        state = follow(
            run,
            on_history=lambda events: app.post_message(self.History(run, events)),
            on_event=live_event,
            cancelled=lambda: worker.is_cancelled,
        )
        if not worker.is_cancelled:
            app.post_message(self.Ended(run, state))

    def on_history(self, message: History) -> None:
        if self.is_current(message.run):
            self.app.replay(message.events)

    def on_ended(self, message: Ended) -> None:
        if not self.is_current(message.run):
            return
        app = self.app
        if message.state == "died" and app.latest.status not in ENDED_STATES:
            # No run_ended was written: the process was killed. Say so rather than show "running".
            app.apply_event(process_gone(app.latest))
        from tui.remote import RemoteControl

        if isinstance(app.control, RemoteControl):
            app.control = None
        app.refresh_bindings()

    # ------------------------------------------------------------ train detached
    def train_detached(self) -> None:
        """Start the workspace config as a detached ``kwb train`` process; ``Spawned`` attaches to it."""
        from engine.config_io import dump_config
        from engine.errors import ConfigError

        app = self.app
        try:
            cfg = app.workspace.config()
        except ConfigError as exc:
            app.notify(str(exc), title="cannot train", severity="error", timeout=10)
            return
        runs_dir = Path(app.runs_dir if app.runs_dir is not None else cfg.output.runs_dir).expanduser().resolve()
        app.notify(f"starting a detached run in {runs_dir}…", timeout=5)
        self.spawn(dump_config(cfg), runs_dir)

    def spawn(self, config_yaml: str, runs_dir: Path) -> None:
        """Start ``config_yaml`` as a detached ``kwb train`` in ``runs_dir``; ``Spawned`` answers."""
        self.app.run_worker(
            partial(self._spawn, config_yaml, runs_dir), group="spawn", thread=True, exclusive=True, exit_on_error=False
        )

    def _spawn(self, config_yaml: str, runs_dir: Path) -> None:
        """The ``spawn`` worker (a thread): the config goes through a temp file, read before the run announces itself."""
        fd, name = tempfile.mkstemp(prefix="kwb-detach-", suffix=".yaml")
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                fh.write(config_yaml)
            self._launch(["train", name, "--runs-dir", str(runs_dir)])
        finally:
            Path(name).unlink(missing_ok=True)

    def _launch(self, argv: list[str]) -> None:
        """Start ``kwb ARGV`` detached; ``Spawned`` says where its run is, or why it did not start."""
        from tui.detach import LaunchFailed, launch_detached

        try:
            path, _pid = launch_detached(argv)
            self.app.post_message(self.Spawned(path=path))
        except (LaunchFailed, OSError) as exc:
            self.app.post_message(self.Spawned(error=str(exc)))

    def resume_detached(self) -> None:
        """Continue the followed run (stopped, died or failed) as a detached ``kwb resume``; ``Spawned`` follows it again."""
        app = self.app
        run = self.run
        if run is None or app.control is not None or app.latest.active:
            why = "it is still in progress" if run is not None else "open a stopped or died run first (Runs screen, or kwb attach RUN)"
            app.notify(f"nothing to resume: {why}", severity="warning", timeout=6)
            return
        app.notify(f"resuming {run.id} in the background…", timeout=5)
        app.run_worker(partial(self._launch, ["resume", str(run.path)]), group="spawn", thread=True, exclusive=True,
                       exit_on_error=False)  # fmt: skip

    def on_spawned(self, message: Spawned) -> None:
        app = self.app
        if message.error is not None or message.path is None:
            app.notify(message.error or "no run directory", title="detached run failed", severity="error", timeout=10)
            return
        if app.control is not None and self.run is None:
            app.notify(f"started {message.path.name} in the background (kwb attach {message.path.name})")
            return
        verb = "resumed" if self.run is not None and self.run.path == message.path else "started"
        app.notify(f"{verb} {message.path.name} in the background; closing this view leaves it running")
        self.attach(message.path)
