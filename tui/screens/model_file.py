"""``ModelFileSwitch``: the Build screen's ``m`` — open a ``.keras``/``.h5`` file as editable layer entries, and back.

Who owns what: the Build screen owns one and hands it the messages its worker posts;
the switch owns the model section a loaded file replaced (given back when the path is
cleared) and the last file loaded (so a redraw does not load it again). The config
changes only through the workspace, and only once a file has actually loaded: a path
that is empty, missing, a folder or not a model file is refused in the prompt, a file
Keras cannot read is refused with Keras' reason, and the layers stay as they were.

A loaded file becomes the config's own entries (``engine.model_to_config``: inputs,
named layers, their inputs, outputs), so ``ctrl+s`` writes YAML that builds the same
architecture. A file the entries cannot express (a custom layer, a shared layer) is used
as it is, as ``model.path`` (read-only rows), and the reason is shown; a config that
names a ``model.path`` opens as entries on the first edit key.
"""

from __future__ import annotations

import copy
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from textual.message import Message

from tui.screens.layer_dialogs import TextPrompt

if TYPE_CHECKING:
    from textual.app import App

    from engine.model import ModelSummary
    from tui.workspace import Workspace

__all__ = ["ModelFileSwitch", "MODEL_KEYS"]

MODEL_KEYS = ("path", "input_shape", "inputs", "layers", "outputs")
"""The ``model`` keys a model file replaces (and gives back)."""


def _mtime(path: str) -> float:
    try:
        return os.path.getmtime(path)
    except OSError:
        return -1.0


class ModelHost(Protocol):
    """What ``ModelFileSwitch`` uses of its screen (the Build screen): typed here, so this module
    does not import the screen that imports it."""

    @property
    def app(self) -> App[Any]: ...
    @property
    def kwb(self) -> Any: ...
    @property
    def workspace(self) -> Workspace: ...
    def notify(self, message: str, **kwargs: Any) -> Any: ...
    def run_worker(self, work: Any, **kwargs: Any) -> Any: ...
    def post_message(self, message: Message) -> bool: ...


class ModelFileSwitch:
    """Loads a model file for ``screen`` (in a thread worker) and switches its config to it, or back to layers."""

    class Read(Message):
        """A model file (``path`` as typed, ``resolved`` on disk) was loaded (``summary``) or could not be (``error``).

        ``section`` is its ``model`` keys as entries, or None with ``why`` when entries cannot express it.
        """

        def __init__(
            self, path: str, resolved: str, summary: ModelSummary | None, error: str | None = None,
            section: dict[str, Any] | None = None, why: str | None = None,
        ) -> None:  # fmt: skip
            super().__init__()
            self.path = path
            self.resolved = resolved
            self.summary = summary
            self.error = error
            self.section = section
            self.why = why

    def __init__(self, screen: ModelHost) -> None:
        self.screen = screen
        self.before: dict[str, Any] | None = None
        """The ``model`` keys a loaded model file replaced, given back when the path is cleared."""
        self.loaded: tuple[str, float, ModelSummary] | None = None
        """The model file last loaded (resolved path, its mtime, its summary)."""

    @property
    def current(self) -> str | None:
        """The model file the config loads instead of layers (``model.path``), as written."""
        return (self.screen.workspace.raw.get("model") or {}).get("path") or None

    def resolve(self, path: str) -> str:
        """A path as the config means it: relative to the config's folder (as ``kwb train`` reads it)."""
        p = Path(os.path.expanduser(path.strip()))
        folder = self.screen.workspace.path
        if not p.is_absolute() and folder is not None:
            p = folder.parent / p
        return str(p)

    def cached_summary(self) -> ModelSummary | None:
        """The summary of the configured file if it is the one just loaded and unchanged on disk."""
        if self.current and self.loaded and self.loaded[0] == self.resolve(self.current):
            return self.loaded[2] if _mtime(self.loaded[0]) == self.loaded[1] else None
        return None

    # ------------------------------------------------------------ the prompt
    def check(self, text: str) -> str | None:
        """Why ``text`` cannot be loaded, from the file system alone; None if it may be (or, empty, means "back to layers")."""
        if not text.strip():
            return None if self.current or self.before is not None else "type the path of a .keras or .h5 file (escape keeps the layer list)"
        from engine.model import model_file_problem

        resolved = self.resolve(text)
        problem = model_file_problem(resolved)
        return f"{resolved}: {problem}" if problem else None

    def prompt(self) -> None:
        current = self.current
        question = "Open a model file (.keras or .h5) as editable layers, instead of the layer list; the list stays until it has loaded."
        if current or self.before is not None:
            question += " Leave it empty to go back to the layer list."

        def answered(text: str | None) -> None:
            if text is None:
                return
            if text.strip():
                self.load(text.strip())
            elif current or self.before is not None:
                self.back_to_layers()

        self.screen.app.push_screen(TextPrompt(question, current or "", "model.keras", self.check), answered)

    def load(self, path: str) -> None:
        """Load ``path`` (as the config means it) in a thread worker; :meth:`on_read` takes the answer."""
        self.screen.notify(f"loading {path}…", timeout=3)
        self.screen.run_worker(
            lambda: self._read(path, self.resolve(path)), thread=True, exclusive=True, group="model-file", exit_on_error=False
        )

    # ------------------------------------------------------------ loading
    def _read(self, path: str, resolved: str) -> None:
        """In a thread worker: load the file with Keras (``safe_mode``) and post :class:`Read`."""
        self.screen.kwb.wait_first_frame()
        from engine.errors import ModelError
        from engine.model import load_model_file, summary_of
        from engine.model_to_config import model_section

        try:
            model = load_model_file(resolved)
            summary = summary_of(model)
        except ModelError as exc:
            self.screen.post_message(self.Read(path, resolved, None, _custom_class(exc.message)))
            return
        except Exception as exc:  # what load_model_file does not name itself
            self.screen.post_message(self.Read(path, resolved, None, f"{type(exc).__name__}: {exc}"))
            return
        try:
            self.screen.post_message(self.Read(path, resolved, summary, section=model_section(model)))
        except ModelError as exc:
            self.screen.post_message(self.Read(path, resolved, summary, why=exc.message))

    def on_read(self, message: Read) -> None:
        """The file loaded: its layers become the entries (or, if they cannot, the file is used as is); or say why not and change nothing."""
        screen = self.screen
        if message.summary is None:
            screen.notify(f"{message.path}: {message.error}\nThe layer list is unchanged.",
                          title="model file not loaded", severity="error", timeout=10)  # fmt: skip
            return
        model = dict(screen.workspace.raw.get("model") or {})
        if self.before is None and not model.get("path"):
            self.before = copy.deepcopy({k: model.get(k) for k in MODEL_KEYS})
        summary = message.summary
        if message.section is None:
            self.loaded = (message.resolved, _mtime(message.resolved), summary)
            screen.workspace.update({"model.path": message.path, "model.layers": []})
            screen.notify(f"{message.path}: used as it is (read only): {message.why}",
                          title="model file loaded", severity="warning", timeout=10)  # fmt: skip
            return
        self.loaded = None
        screen.workspace.update(_replacing(model, message.section))
        screen.notify(f"{message.path}: {len(message.section['layers'])} layers, {summary.total_params:,} params, "
                      "now editable; ctrl+s saves them as the config's layers (the file's weights are not kept; "
                      "m, then an empty path, gives the list back)", title="model file opened")  # fmt: skip

    def back_to_layers(self) -> None:
        before, self.before = self.before or {"layers": []}, None
        self.loaded = None
        self.screen.workspace.update(_replacing(dict(self.screen.workspace.raw.get("model") or {}), before))
        self.screen.notify("back to the layer list" + ("" if before.get("layers") else " (empty: press a to add a layer)"))


def _replacing(model: dict[str, Any], new: dict[str, Any]) -> dict[str, Any]:
    """The dotted changes that make ``model``'s graph keys those of ``new``: its keys set, the others present cleared."""
    return {f"model.{k}": new.get(k) for k in MODEL_KEYS if new.get(k) is not None or model.get(k) is not None}


def _custom_class(message: str) -> str:
    """Keras' "could not locate class" in words that say what to do."""
    import re

    m = re.search(r"[Cc]ould not locate (?:class|function) '([^']+)'", message)
    if m is None:
        return message
    return (f"it uses {m.group(1)!r}, which is not one of Keras' own classes and is not registered here, so Keras cannot "
            "rebuild it; kwb opens models made of keras.layers (load this one in your own script, with custom_objects)")  # fmt: skip
