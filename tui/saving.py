"""``Saver``: the part of the app that saves the config and never lets an unsaved edit go without asking.

The app owns one (``KwbApp.saver``) and its keys call it: ``ctrl+s`` (:meth:`Saver.save`),
``S`` (:meth:`Saver.save_as`), ``ctrl+o`` (:meth:`Saver.open`), ``ctrl+q`` and Runs → ``E``
(:meth:`Saver.confirm_unsaved` before anything replaces the config). Who owns what: the
:class:`~tui.workspace.Workspace` owns the config, what is on disk and what may not be
written over; the Saver only asks the user (``tui.screens.save_dialogs``) and says what
happened, in a notification, every time: saved where, or refused and why.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable, Protocol

from engine.errors import ConfigError
from tui.workspace import SaveRefused, Workspace

__all__ = ["Saver", "SaverHost"]


class SaverHost(Protocol):
    """What the Saver uses of the app (``tui.app.KwbApp``): typed here, so this module does not
    import the app that imports it."""

    workspace: Workspace
    cursor_blink: bool

    @property
    def screen(self) -> Any: ...
    def notify(self, message: str, **kwargs: Any) -> Any: ...
    def push_screen(self, screen: Any, callback: Any = None, **kwargs: Any) -> Any: ...
    def switch_mode(self, mode: str) -> Any: ...


class Saver:
    """Saving, save-as, opening another config, and the save / discard / cancel question."""

    def __init__(self, app: SaverHost) -> None:
        self.app = app
        path = app.workspace.path
        self._folder = path.parent if path is not None and app.workspace.origin is None else Path.cwd()
        """The folder of the user's own config, where a run's config is offered to be saved."""

    @property
    def workspace(self) -> Workspace:
        return self.app.workspace

    # ------------------------------------------------------------ saving
    def save(self, then: Callable[[], object] | None = None) -> None:
        """``ctrl+s``: write the config to its file, or ask for one where it must not be written over; ``then`` runs once saved."""
        ws = self.workspace
        if self.refuse_unfinished("saving"):
            return
        if ws.must_ask_path:
            self.save_as(then)
            return
        self._write(None, then)

    def save_as(self, then: Callable[[], object] | None = None) -> None:
        """``S``: ask for a file to save the config in (also what ``ctrl+s`` does for a run's config or an unloadable file)."""
        from tui.screens.save_dialogs import PathDialog

        ws = self.workspace
        if self.refuse_unfinished("saving"):
            return

        def chosen(path: Path | None) -> None:
            if path is not None:
                self._write(path, then)

        self.app.push_screen(
            PathDialog(self._save_as_prompt(), str(self._suggestion()), check=ws.save_refusal,
                       confirm_overwrite=True, current=None if ws.must_ask_path else ws.path,
                       cursor_blink=self.app.cursor_blink),
            chosen,
        )  # fmt: skip  (a file that must not be written over without asking is replaced only on a second enter)

    def _save_as_prompt(self) -> str:
        ws = self.workspace
        if ws.unreadable and ws.path is not None:
            return f"{ws.path.name} could not be loaded, so it is not written over. Save as:"
        if ws.changed_on_disk() and ws.path is not None:
            return f"{ws.path.name} was changed on disk since it was opened. Save as another file, or enter its name twice to replace it:"
        if ws.origin is not None and ws.origin.startswith("run "):
            return f"This is the config of {ws.origin}; save it as a new file:"
        if ws.origin is not None:
            return f"The {ws.origin} is not saved anywhere yet; save it as:"
        return "Save the config as:"

    def _suggestion(self) -> Path:
        ws = self.workspace
        path = ws.path or Path("config.yaml").resolve()
        if ws.unreadable:
            return path.with_name(f"{path.stem}-new{path.suffix or '.yaml'}")
        if ws.origin is not None and ws.origin.startswith("run "):
            return self._folder / f"{ws.origin.removeprefix('run ')}.yaml"
        return path

    def _write(self, path: Path | None, then: Callable[[], object] | None) -> None:
        try:
            written = self.workspace.save(path)
        except SaveRefused as exc:
            self.app.notify(exc.issues[0][1] if len(exc.issues) == 1 else str(exc), title="not saved", severity="error", timeout=10)
            return
        except (ConfigError, OSError) as exc:
            self.app.notify(str(exc), title="not saved", severity="error", timeout=10)
            return
        self._folder = written.parent
        self.app.notify(f"saved {written}", title="config")
        if then is not None:
            then()

    def refuse_unfinished(self, doing: str) -> bool:
        """Refuse ``doing`` (saving, training) while a settings field holds text that is not valid, naming it; True if refused."""
        try:
            self.workspace.refuse_unfinished(doing)
        except SaveRefused as exc:
            title = "not saved" if doing == "saving" else f"cannot start {doing}"
            self.app.notify(exc.issues[0][1], title=title, severity="error", timeout=10)
            return True
        return False

    # ------------------------------------------------------------ before the config is replaced
    def confirm_unsaved(self, doing: str, then: Callable[[], object]) -> None:
        """Run ``then`` now if nothing would be lost; else ask save / discard / cancel first (``doing``: ``quitting``)."""
        from tui.screens.save_dialogs import UnsavedDialog

        ws = self.workspace
        if not ws.modified:
            then()
            return
        if isinstance(self.app.screen, UnsavedDialog):
            return  # already asked (ctrl+q pressed twice): one question, one answer

        def answer(choice: str | None) -> None:
            if choice == "save":
                self.save(then)  # ``then`` only once it is saved: a refusal keeps the edits and the app
            elif choice == "discard":
                then()

        self.app.push_screen(UnsavedDialog(ws.label, doing), answer)

    def open(self) -> None:
        """``ctrl+o``: ask for a config file and open it (asking first about unsaved edits)."""
        from tui.screens.save_dialogs import PathDialog

        def check(path: Path) -> str | None:
            return None if path.is_file() else f"{path} does not exist"

        def chosen(path: Path | None) -> None:
            if path is not None:
                self.confirm_unsaved(f"opening {path.name}", lambda: self._replace(Workspace.open(path)))

        folder = self.workspace.path.parent if self.workspace.path else Path.cwd()
        self.app.push_screen(PathDialog("Open the config file:", f"{folder}/", check=check, action="Open",
                                          cursor_blink=self.app.cursor_blink), chosen)

    def open_run_config(self, config: Path, run_id: str) -> None:
        """Runs → ``E``: edit a run's config (asking first about unsaved edits); ``ctrl+s`` will ask where to save it."""
        ws = Workspace.of_run(config, run_id)
        if ws.load_error:
            self.app.notify(ws.load_error, title=f"cannot open the config of {run_id}", severity="error", timeout=10)
            return

        def load() -> None:
            self._replace(ws)
            self.app.notify(f"loaded the config of {run_id}; ctrl+s saves it as a new file")
            self.app.switch_mode("build")

        self.confirm_unsaved(f"opening the config of {run_id}", load)

    def _replace(self, other: Workspace) -> None:
        if self.workspace.path is not None and self.workspace.origin is None:
            self._folder = self.workspace.path.parent
        self.workspace.adopt(other)
        if other.load_error:
            self.app.notify(other.load_error, title="config", severity="error", timeout=10)
