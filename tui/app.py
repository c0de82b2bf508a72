"""The Textual app: screens, bindings, the training worker and the run controls.

Training goes through ``engine.session.train`` only (the same path as ``kwb train``),
in a thread worker; its events arrive as ``KwbApp.RunEvent`` messages and are folded
into ``tui.state`` by the pure reducer. Commands go out through ``engine.control``
(``CommandName``), in-process or, for an attached run, through its run directory.
TensorFlow is imported in a thread after the first frame, never on the UI thread.

Who owns what: the app owns the dashboard state (``dash``), the current run's controls
(``control``) and the :class:`~tui.workspace.Workspace`, whose every change it passes
on to the widgets that show the config (``config_changed_signal``); its
:class:`~tui.attach.Attacher` owns following a run in another process.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Iterable

from textual import on, work
from textual.app import App
from textual.binding import Binding
from textual.message import Message
from textual.reactive import var
from textual.signal import Signal
from textual.worker import Worker, WorkerState

from engine import events as ev
from engine.control import CommandName, CommandVerbs, Control
from engine.native_log import quiet_tensorflow
from tui.attach import Attacher
from tui.key_order import OrderedKeys
from tui.navigation import Navigation
from tui.runner import Runner, TrainEngine
from tui.screens import MODES
from tui.screens.base import KwbScreen
from tui.state import DashState, reduce, replay
from tui.threads import lower_thread_priority
from tui.saving import Saver
from tui.workspace import FileStatus, Workspace

if TYPE_CHECKING:
    from engine.runs import RunDir

__all__ = ["KwbApp", "RUN_ACTIONS", "PUBLISH_INTERVAL"]

quiet_tensorflow()


_PROGRESS = (ev.Batch, ev.EpochStarted, ev.EpochEnded, ev.Log)
"""Events that only move the dashboard along; they are shown at the next publish tick."""

PUBLISH_INTERVAL = 0.5
"""Seconds between two dashboard updates from batch progress. Twice a second keeps the
bars live while a dashboard costs an SSH link a few KB/s (README, Performance)."""

RUN_ACTIONS: dict[str, CommandName] = {
    "stop": CommandName.STOP,
    "lr_drop": CommandName.LR_SCALE,
    "set_lr": CommandName.SET_LR,
    "checkpoint": CommandName.CHECKPOINT,
    "pause": CommandName.PAUSE,  # or RESUME, on a paused run
}
"""The run keys' actions and the command each sends; they are live while a run exists."""

_WORKER_TASKS = {"attach": "following the run", "spawn": "starting the detached run"}
"""Worker groups whose failure is shown as a notification, and what each was doing."""

class KwbApp(Navigation, OrderedKeys, App[None]):
    """Keras Workbench: build, data, train and runs screens over one config."""

    CSS_PATH = "app.tcss"
    TITLE = "Keras Workbench"
    ENABLE_COMMAND_PALETTE = True
    """ctrl+p: every key's action by name (``tui.navigation``)."""

    BINDINGS = [
        Binding("1", "screen('build')", "Build", show=False),
        Binding("2", "screen('data')", "Data", show=False),
        Binding("3", "screen('train')", "Train", show=False),
        Binding("4", "screen('runs')", "Runs", show=False),
        Binding("t", "start", "Start"),
        Binding("s", "stop", "Stop"),
        Binding("l", "lr_drop", "LR drop"),
        Binding("L", "set_lr", "Set LR"),
        Binding("c", "checkpoint", "Checkpoint"),
        Binding("p", "pause", "Pause"),
        Binding("T", "train_detached", "Train detached", show=False),
        Binding("r", "resume_run", "Resume run"),
        Binding("ctrl+s", "save", "Save"),
        Binding("S", "save_as", "Save as…"),
        Binding("ctrl+o", "open_config", "Open config", show=False),
        Binding("f12", "save_svg", "Screenshot (SVG)", show=False),
        Binding("question_mark,f1", "help", "Help"),
        Binding("ctrl+q", "quit", "Quit", priority=True),
    ]
    """Screen switches, run controls (active while a run exists), save, a screenshot (F12) and quit."""

    # ``var``, not ``reactive``: a reactive on the App repaints the whole screen on every
    # change (Textual's ``App.refresh``), ~20 KB of terminal output each time. The widgets
    # that watch these repaint only themselves, and only what changed.
    dash: var[DashState] = var(DashState, always_update=True)
    """The dashboard state as last published (throttled); screens watch it."""
    lr_factor: var[float] = var(0.5)
    """What ``l`` multiplies the learning rate by; starts at ``controls.lr_factor``."""
    file_status: var[FileStatus] = var(FileStatus("", False, None))
    """The config's file name, whether it has unsaved edits, and why it could not be loaded (the top bar shows it)."""

    class RunEvent(Message):
        """One event from the training thread. Batch progress coalesces in the queue."""

        def __init__(self, event: ev.Event) -> None:
            super().__init__()
            self.event = event

        def can_replace(self, message: Message) -> bool:
            return (
                isinstance(message, KwbApp.RunEvent)
                and isinstance(self.event, ev.Batch)
                and isinstance(message.event, ev.Batch)
            )

    def __init__(
        self,
        workspace: Workspace,
        engine: TrainEngine | None = None,
        runs_dir: str | os.PathLike[str] | None = None,
        warm_up: bool = True,
        start_mode: str = "build",
        cursor_blink: bool = True,
        attach: str | os.PathLike[str] | None = None,
    ) -> None:
        """The app over ``workspace``; ``tui.factory.make_app`` builds it (see there for the arguments)."""
        super().__init__()
        self._attach = attach
        self.cursor_blink = cursor_blink
        """Blink text cursors (off in snapshot tests)."""
        self.workspace = workspace
        """The config being edited and trained; changed only through its edit methods."""
        self.config_changed_signal: Signal[Workspace.Changed] = Signal(self, "config-changed")
        """Every ``Workspace.Changed``, for the widgets that show the config (subscribe with ``immediate=True``
        to redraw before the edit that caused it returns)."""
        workspace.on_change = self._workspace_changed
        self.attacher = Attacher(self)
        """Follows a run in another process (``kwb attach``, the Runs screen, ``T``)."""
        self.runner = Runner(self, engine)
        """Trains the workspace config in a thread worker (``t``)."""
        self.saver = Saver(self)
        """Saves the config, and asks before unsaved edits would be lost (``ctrl+s``, ``S``, ``ctrl+o``, ``ctrl+q``)."""
        self.file_status = workspace.status()
        workspace.on_status = self._file_status_changed
        self.runs_dir = Path(runs_dir) if runs_dir is not None else None
        """Overrides ``output.runs_dir`` (tests use a temporary folder)."""
        self.control: CommandVerbs | None = None
        """The current run's commands (a ``Control``, or a ``RemoteControl`` for an attached run); None when no run is live."""
        self._state = DashState()
        self._published: DashState | None = None
        self._quitting = False
        self._warm_up = warm_up
        self._start_mode = start_mode
        self.tf_ready = False
        """True once TensorFlow has been imported in the background."""
        self.first_frame = threading.Event()
        """Set once the first screen has been painted (see :meth:`wait_first_frame`)."""
        self._shown_modes = {self._start_mode}
        self._switch_at_once = False
        if workspace.checked:
            self._config_checked()

    # ------------------------------------------------------------ set-up
    async def on_mount(self) -> None:
        for mode, factory in MODES.items():
            self.add_mode(mode, factory)
        self.set_interval(PUBLISH_INTERVAL, self._publish)
        await self.switch_mode(self._start_mode)
        # The screen is mounted; its first paint is the next refresh.
        self.call_after_refresh(self._first_frame_shown)
        if self._attach is not None:
            self.attacher.attach(self._attach)
        if self.workspace.checked and self.workspace.load_error:
            self.notify(self.workspace.load_error, title="config", severity="error", timeout=10)

    def _first_frame_shown(self) -> None:
        self.first_frame.set()
        if not self.workspace.checked:
            # Opened unchecked (``make_app(check_config=False)``): pydantic's import and the
            # check (~0.1 s) come now, with the first frame already on screen.
            self.workspace.check()
            self._config_checked()
            if self.workspace.load_error:
                self.notify(self.workspace.load_error, title="config", severity="error", timeout=10)
        if self._warm_up:
            self._import_tensorflow()

    def _config_checked(self) -> None:
        from engine.errors import ConfigError

        try:
            self.lr_factor = self.workspace.config().controls.lr_factor
        except ConfigError:
            pass

    def wait_first_frame(self, timeout: float = 5.0) -> None:
        """Block a worker thread until the first frame is on screen.

        Importing TensorFlow holds the GIL for long stretches (loading its shared
        libraries), which would hold back the first paint; background work that
        imports it waits for this.
        """
        self.first_frame.wait(timeout)

    @work(thread=True, exclusive=True, group="warm-up", exit_on_error=False)
    def _import_tensorflow(self) -> None:
        lower_thread_priority()
        import plotext  # noqa: F401  (the charts' first draw would pay for it on the UI thread)

        from engine.kerasapi import keras

        keras()  # imports Keras and TensorFlow
        self.tf_ready = True

    # ------------------------------------------------------------ state
    @property
    def run_active(self) -> bool:
        """True while a run (in-process or attached) takes commands."""
        return self.control is not None

    @property
    def attached(self) -> RunDir | None:
        """The run directory the dashboard follows; None for in-process runs (or none)."""
        return self.attacher.run

    @property
    def latest(self) -> DashState:
        """The state after every event so far (``dash`` lags it by up to ``PUBLISH_INTERVAL``)."""
        return self._state

    def _publish(self) -> None:
        """Hand the latest state to the widgets (batch progress every ``PUBLISH_INTERVAL``)."""
        if self._state is not self._published:
            self._published = self._state
            self.dash = self._state

    def apply_event(self, event: ev.Event, publish: bool = True) -> None:
        """Fold one event into the dashboard (live runs and replays both come here)."""
        self._state = reduce(self._state, event)
        if publish:
            self._publish()

    def replay(self, events: Iterable[ev.Event]) -> None:
        """Show a recorded run in the dashboard, as if it had run live (no events: an empty one)."""
        self._state = replay(events)
        self._publish()

    def on_kwb_app_run_event(self, message: "KwbApp.RunEvent") -> None:
        # Progress waits for the publish tick (short epochs bring several a second);
        # acknowledgements, pauses, errors and the end show at once.
        self.apply_event(message.event, publish=not isinstance(message.event, _PROGRESS))
        if isinstance(message.event, ev.Error) and message.event.command:
            self.notify(message.event.message, title=f"{message.event.command} refused", severity="warning")
        elif isinstance(message.event, ev.Error) and message.event.fatal:
            # The cause, what to change and where the traceback is (engine.diagnose keeps it short).
            self.notify(message.event.message.strip(), title="training failed", severity="error", timeout=15)

    def on_runner_finished(self, message: Runner.Finished) -> None:
        if message.error is not None:
            self.apply_event(message.error)
            self.apply_event(ev.RunEnded(status="failed", reason="error"))
        self.control = None
        self._publish()
        self.refresh_bindings()
        if self._quitting:
            self.exit()

    # ------------------------------------------------------------ training
    def action_start(self) -> None:
        """Start training the workspace config (from any screen)."""
        if self.run_active:
            self.notify("a run is already in progress", severity="warning")
            return
        if self.saver.refuse_unfinished("training"):
            return
        self.attacher.detach()
        from engine.errors import ConfigError

        try:
            cfg = self.workspace.config()
        except ConfigError as exc:
            self.apply_event(ev.Error(message=str(exc), fatal=True))
            self.notify(str(exc), title="cannot train", severity="error", timeout=10)
            return
        self.control = Control()
        self._state = DashState(status="starting", name=cfg.name, epochs=cfg.fit.epochs)
        self._publish()
        self.refresh_bindings()
        self.switch_mode("train")
        self.runner.start(cfg, self.control)

    @on(Worker.StateChanged)
    def _worker_changed(self, event: Worker.StateChanged) -> None:
        """The one place worker failures are seen: a dead training worker ends its run, the others say what failed."""
        group, state = event.worker.group, event.state
        if group == "train" and state in (WorkerState.ERROR, WorkerState.CANCELLED):
            # A worker that died without posting Runner.Finished must not leave the controls on.
            self.post_message(Runner.Finished(error=ev.Error(message=str(event.worker.error), fatal=True)))
        elif group in _WORKER_TASKS and state == WorkerState.ERROR:
            self.notify(f"{_WORKER_TASKS[group]} failed: {event.worker.error}", severity="error", timeout=10)

    # ------------------------------------------------------------ an attached run (tui.attach)
    @on(Attacher.History)
    def _attached_history(self, message: Attacher.History) -> None:
        self.attacher.on_history(message)

    @on(Attacher.Ended)
    def _attached_ended(self, message: Attacher.Ended) -> None:
        self.attacher.on_ended(message)

    @on(Attacher.Spawned)
    def _attached_spawned(self, message: Attacher.Spawned) -> None:
        self.attacher.on_spawned(message)

    def action_train_detached(self) -> None:
        """Start the workspace config as a detached ``kwb train`` process, then attach to it."""
        if not self.saver.refuse_unfinished("training"):
            self.attacher.train_detached()

    def action_resume_run(self) -> None:
        """Continue the run on screen (stopped, died or failed) in the background, as ``kwb resume --detach``, and follow it."""
        self.attacher.resume_detached()

    # ------------------------------------------------------------ run controls
    def send_control(self, command: CommandName, value: float | None = None) -> bool:
        """Send ``command`` to the run, in-process or remote; a refusal is shown, never dropped."""
        if self.control is None:
            if self.attached is not None:
                from engine.runs import run_state

                state = self._state.status if self._state.status != "idle" else run_state(self.attached)
                self._refused(command, f"run {self.attached.id} is {state}; controls need a running run")
            else:
                self._refused(command, "no run in progress; t starts one")
            return False
        from engine.control_client import ControlRefused, RunNotLive

        try:
            self.control.send(command, value)
        except RunNotLive as exc:
            self._refused(command, f"run {exc.run_id} is {exc.state}; controls need a running run")
            return False
        except ControlRefused as exc:
            self._refused(command, str(exc))
            return False
        return True

    def _refused(self, command: CommandName, reason: str) -> None:
        self.notify(reason, title=f"{command} refused", severity="warning")

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action in RUN_ACTIONS:
            # Live with no run too: each says why it cannot act ("no run in progress").
            return True
        if action == "start":
            return None if self.run_active else True
        return True

    def footer_shows(self, action: str) -> bool:
        """Whether the footer lists ``action`` now: the run keys only while there is a run to steer (help lists them always)."""
        if action == "resume_run":  # a run opened from the Runs screen or kwb attach that can go on
            return self.attached is not None and not self.latest.active and self.latest.status in ("stopped", "died", "failed")
        return action not in RUN_ACTIONS or self.run_active or (self.attached is not None and self.latest.active)

    def action_stop(self) -> None:
        """Stop early at the next batch boundary; the model and history are saved."""
        if self.send_control(CommandName.STOP):
            self.notify("stopping at the next batch…", timeout=3)

    def action_lr_drop(self) -> None:
        if self.send_control(CommandName.LR_SCALE, self.lr_factor):
            self.notify(f"learning rate × {self.lr_factor:g}…", timeout=3)

    def action_set_lr(self) -> None:
        from tui.screens.dialogs import LearningRateDialog

        if not self.control:
            self.send_control(CommandName.SET_LR)  # refused with a reason when attached to an ended run
            return

        def apply(result: tuple[float, float] | None) -> None:
            if result is None or self.control is None:
                return
            value, factor = result
            self.lr_factor = factor
            if value > 0:
                self.send_control(CommandName.SET_LR, value)

        self.push_screen(LearningRateDialog(self._state.learning_rate, self.lr_factor), apply)

    def action_checkpoint(self) -> None:
        if self.send_control(CommandName.CHECKPOINT):
            self.notify("checkpoint requested…", timeout=3)

    def action_pause(self) -> None:
        """Pause, or resume a paused run."""
        self.send_control(CommandName.RESUME if self._state.status == "paused" else CommandName.PAUSE)

    # ------------------------------------------------------------ config, screens, quit
    def action_screen(self, name: str) -> None:
        if name == self.current_mode and isinstance(self.screen, KwbScreen):
            self.screen.back_to_start()  # its key again: the screen's first state (Runs overlay → table)
            return
        # ``switch_mode`` holds the screen back for 50 ms (``delay_update``) so that a
        # screen being built is not shown half done; one shown before is ready at once
        # (a few ms let its own resume messages run first; with 0 it was left unpainted).
        self._switch_at_once = name in self._shown_modes
        try:
            self.switch_mode(name)
        finally:
            self._switch_at_once = False
        self._shown_modes.add(name)

    def delay_update(self, delay: float = 0.05) -> None:
        super().delay_update(0.005 if self._switch_at_once else delay)

    def _workspace_changed(self, message: Workspace.Changed) -> None:
        """``Workspace.on_change``: the widgets redraw now; the message goes on to the app's handlers."""
        self.config_changed_signal.publish(message)
        self.post_message(message)

    def _file_status_changed(self, status: FileStatus) -> None:
        """``Workspace.on_status``: the top bars show the file's name, unsaved edits and load error."""
        self.file_status = status

    def on_workspace_changed(self, message: Workspace.Changed) -> None:
        if "controls.lr_factor" in message.paths:  # the settings' "l: LR × factor"
            self.lr_factor = float(self.workspace.get("controls.lr_factor"))

    def action_save(self) -> None:
        """Save the edits into the config's file (``tui.saving``); a run's config, or a file that could not be loaded, asks for a new path."""
        self.saver.save()

    def action_save_as(self) -> None:
        """Save the config in a file the user names."""
        self.saver.save_as()

    def action_save_svg(self) -> None:
        """Save the current screen as an SVG file in the working folder (Textual's own screenshot) and say where.

        ``export_screenshot`` is what ``save_screenshot`` writes; written here to a temp name and renamed.
        """
        from datetime import datetime

        from engine.config_io import atomic_write_text

        path = os.path.join(os.getcwd(), f"kwb-{self.current_mode}-{datetime.now():%Y%m%d-%H%M%S}.svg")
        try:
            atomic_write_text(path, self.export_screenshot())
        except OSError as exc:
            self.notify(f"cannot save the screenshot: {exc}", title="screenshot", severity="error", timeout=8)
            return
        self.notify(path, title="screenshot saved", timeout=8)

    def action_open_config(self) -> None:
        """Open another config file (asking first about unsaved edits)."""
        self.saver.open()

    async def action_quit(self) -> None:
        """Quit; unsaved edits are saved or discarded first, and a run in progress is stopped, each after asking."""
        self.saver.confirm_unsaved("quitting", self._quit_after_run)

    def _quit_after_run(self) -> None:
        if not self.run_active or self.attached is not None:  # a viewer never stops the run it watches
            self.exit()
            return
        from tui.screens.dialogs import ConfirmDialog

        def answer(yes: bool | None) -> None:
            if yes and self.control is not None:
                self._quitting = True
                self.control.stop()
                self.notify("stopping the run and saving before quitting…", timeout=30)

        self.push_screen(ConfirmDialog("A run is in progress. Stop it (saving the model) and quit?"), answer)
