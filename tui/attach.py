"""The app's side of attaching: follow a run directory in a thread, and start detached runs.

``AttachMixin`` is mixed into ``KwbApp``. ``attach_run(path)`` points the dashboard at
a run in another process: a thread worker replays its ``events.jsonl`` and then tails
it (``tui.remote.follow``), posting the same ``KwbApp.RunEvent`` messages an
in-process run posts, and ``self.control`` becomes a ``RemoteControl`` with the same
verbs, so ``s l L c p`` work unchanged. Once the run has ended (or was never live)
the controls are refused with a visible message. Leaving the viewer only stops the tail.
"""

from __future__ import annotations

import os
import subprocess
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

from textual import work
from textual.message import Message
from textual.worker import Worker, WorkerState, get_current_worker

from engine import events as ev
from tui.state import DashState

if TYPE_CHECKING:
    from engine.runs import RunDir

# ``engine.runs``, ``engine.config`` and ``tui.remote`` bring pydantic (~0.1 s), so they
# are imported where they are used: none of it is needed before the app's first frame.

__all__ = ["AttachMixin"]


class AttachMixin:
    """Attach the dashboard to a run directory; ``T`` trains detached and attaches."""

    attached: RunDir | None = None
    """The run directory the dashboard follows; None for in-process runs (or none)."""

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
        """``kwb train --detach`` announced its run directory (``path``) or failed (``error``)."""

        def __init__(self, path: Path | None = None, error: str | None = None) -> None:
            super().__init__()
            self.path = path
            self.error = error

    # ------------------------------------------------------------ attach
    def attach_run(self: Any, path: str | os.PathLike[str]) -> None:
        """Show the run in ``path`` on the Train screen, live if it is still running."""
        if self.control is not None and self.attached is None:
            self.notify("an in-app run is in progress; stop it before attaching", severity="warning")
            return
        from engine.runs import LIVE_STATES, RunDir
        from tui.remote import RemoteControl, lr_factor_of, run_state

        run = RunDir(Path(path))
        self.attached = run
        live = run_state(run) in LIVE_STATES
        self.control = RemoteControl(run) if live else None
        self.lr_factor = lr_factor_of(run, self.lr_factor)
        self._state = DashState()
        self._publish()
        self.refresh_bindings()
        self.sub_title = f"attached to {run.id}"
        self.switch_mode("train")
        self._follow(run)

    def detach(self: Any) -> None:
        """Stop following the attached run (the run itself is untouched)."""
        if self.attached is None:
            return
        from tui.remote import RemoteControl

        self.workers.cancel_group(self, "attach")
        self.attached = None
        if isinstance(self.control, RemoteControl):
            self.control = None
        self.sub_title = ""
        self.refresh_bindings()

    @work(thread=True, exclusive=True, group="attach", exit_on_error=False)
    def _follow(self: Any, run: RunDir) -> None:
        from tui.remote import follow

        worker = get_current_worker()

        def live_event(event: ev.Event) -> None:
            if not worker.is_cancelled:
                self.post_message(self.RunEvent(event))

        state = follow(
            run,
            on_history=lambda events: self.post_message(self.History(run, events)),
            on_event=live_event,
            cancelled=lambda: worker.is_cancelled,
        )
        if not worker.is_cancelled:
            self.post_message(self.Ended(run, state))

    def _is_current(self: Any, run: RunDir) -> bool:
        return self.attached is not None and self.attached.path == run.path

    def on_attach_mixin_history(self: Any, message: AttachMixin.History) -> None:
        if self._is_current(message.run):
            self.replay(message.events)

    def on_attach_mixin_ended(self: Any, message: AttachMixin.Ended) -> None:
        if not self._is_current(message.run):
            return
        if message.state == "died" and self._state.status not in ("finished", "stopped", "failed"):
            # No run_ended was written: the process was killed. Say so rather than show "running".
            self.apply_event(ev.RunEnded(status="died", epochs_completed=self._state.epoch, reason="its process is gone"))
        from tui.remote import RemoteControl

        if isinstance(self.control, RemoteControl):
            self.control = None
        self.refresh_bindings()

    def on_worker_state_changed(self: Any, event: Worker.StateChanged) -> None:
        if event.worker.group in ("attach", "spawn") and event.state == WorkerState.ERROR:
            what = "following the run" if event.worker.group == "attach" else "starting the detached run"
            self.notify(f"{what} failed: {event.worker.error}", severity="error", timeout=10)

    # ------------------------------------------------------------ controls
    def send_control(self: Any, verb: str, *args: float) -> bool:
        """Call ``verb`` on the run's control, in-process or remote; refusals are shown, never dropped."""
        from tui.remote import RemoteRefused, run_state

        if self.control is None:
            if self.attached is not None:
                state = self._state.status if self._state.status != "idle" else run_state(self.attached)
                self.notify(
                    f"run {self.attached.id} is {state}; controls need a running run",
                    title=f"{verb} refused",
                    severity="warning",
                )
            return False
        try:
            getattr(self.control, verb)(*args)
        except RemoteRefused as exc:
            self.notify(str(exc), title=f"{verb} refused", severity="warning")
            return False
        return True

    # ------------------------------------------------------------ train detached
    def action_train_detached(self: Any) -> None:
        """Start the workspace config as a detached ``kwb train`` process, then attach to it."""
        from engine.errors import ConfigError
        from engine.config_io import dump_config

        try:
            cfg = self.workspace.config()
        except ConfigError as exc:
            self.notify(str(exc), title="cannot train", severity="error", timeout=10)
            return
        runs_dir = Path(self.runs_dir if self.runs_dir is not None else cfg.output.runs_dir).expanduser().resolve()
        self.notify(f"starting a detached run in {runs_dir}…", timeout=5)
        self._spawn(dump_config(cfg), runs_dir)

    @work(thread=True, exclusive=True, group="spawn", exit_on_error=False)
    def _spawn(self: Any, config_yaml: str, runs_dir: Path) -> None:
        from tui.remote import spawn_detached

        fd, name = tempfile.mkstemp(prefix="kwb-detach-", suffix=".yaml")
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                fh.write(config_yaml)
            self.post_message(self.Spawned(path=spawn_detached(Path(name), runs_dir)))
        except (RuntimeError, OSError, subprocess.SubprocessError) as exc:
            self.post_message(self.Spawned(error=str(exc)))
        finally:
            Path(name).unlink(missing_ok=True)

    def on_attach_mixin_spawned(self: Any, message: AttachMixin.Spawned) -> None:
        if message.error is not None or message.path is None:
            self.notify(message.error or "no run directory", title="detached run failed", severity="error", timeout=10)
            return
        if self.control is not None and self.attached is None:
            self.notify(f"started {message.path.name} in the background (kwb attach {message.path.name})")
            return
        self.notify(f"started {message.path.name} in the background; closing this view leaves it running")
        self.attach_run(message.path)
