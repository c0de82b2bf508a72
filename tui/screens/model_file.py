"""``ModelFileSwitch``: the Build screen's ``m`` — use a ``.keras``/``.h5`` file instead of the layer list, and back.

Who owns what: the Build screen owns one and hands it the messages its worker posts;
the switch owns the layer list a loaded file replaced (given back when the path is
cleared) and the last file loaded (so a redraw does not load it again). The config
changes only through the workspace, and only once a file has actually loaded: a path
that is empty, missing, a folder or not a model file is refused in the prompt, a file
Keras cannot read is refused with Keras' reason, and the layers stay as they were.
"""

from __future__ import annotations

import copy
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

from textual.message import Message

from tui.screens.layer_dialogs import TextPrompt

if TYPE_CHECKING:
    from engine.model import ModelSummary
    from tui.screens.build import BuildScreen

__all__ = ["ModelFileSwitch"]


def _mtime(path: str) -> float:
    try:
        return os.path.getmtime(path)
    except OSError:
        return -1.0


class ModelFileSwitch:
    """Loads a model file for ``screen`` (in a thread worker) and switches its config to it, or back to layers."""

    class Read(Message):
        """A model file (``path`` as typed, ``resolved`` on disk) was loaded (``summary``) or could not be (``error``)."""

        def __init__(self, path: str, resolved: str, summary: ModelSummary | None, error: str | None = None) -> None:
            super().__init__()
            self.path = path
            self.resolved = resolved
            self.summary = summary
            self.error = error

    def __init__(self, screen: BuildScreen) -> None:
        self.screen = screen
        self.layers_before: list[dict[str, Any]] | None = None
        """The layer list a loaded model file replaced, given back when the path is cleared."""
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
            return None if self.current else "type the path of a .keras or .h5 file (escape keeps the layer list)"
        from engine.model import model_file_problem

        resolved = self.resolve(text)
        problem = model_file_problem(resolved)
        return f"{resolved}: {problem}" if problem else None

    def prompt(self) -> None:
        current = self.current
        question = "Load a model file (.keras or .h5) to use instead of the layer list; the layers stay until it has loaded."
        if current:
            question += " Leave it empty to go back to the layer list."

        def answered(text: str | None) -> None:
            if text is None:
                return
            if text.strip():
                self.screen.notify(f"loading {text.strip()}…", timeout=3)
                self.screen.run_worker(
                    lambda: self._read(text.strip(), self.resolve(text)),
                    thread=True, exclusive=True, group="model-file", exit_on_error=False,
                )  # fmt: skip
            elif current:
                self.back_to_layers()

        self.screen.app.push_screen(TextPrompt(question, current or "", "model.keras", self.check), answered)

    # ------------------------------------------------------------ loading
    def _read(self, path: str, resolved: str) -> None:
        """In a thread worker: load the file with Keras (``safe_mode``) and post :class:`Read`."""
        self.screen.kwb.wait_first_frame()
        from engine.errors import ModelError
        from engine.model import load_model_file, summary_of

        try:
            summary = summary_of(load_model_file(resolved))
        except ModelError as exc:
            self.screen.post_message(self.Read(path, resolved, None, exc.message))
        except Exception as exc:  # what load_model_file does not name itself
            self.screen.post_message(self.Read(path, resolved, None, f"{type(exc).__name__}: {exc}"))
        else:
            self.screen.post_message(self.Read(path, resolved, summary))

    def on_read(self, message: Read) -> None:
        """The file loaded: keep the layers, switch the config to the file; or say why not and change nothing."""
        screen = self.screen
        if message.summary is None:
            screen.notify(f"{message.path}: {message.error}\nThe layer list is unchanged.",
                          title="model file not loaded", severity="error", timeout=10)  # fmt: skip
            return
        if screen.stack:
            self.layers_before = copy.deepcopy(list(screen.stack))
        self.loaded = (message.resolved, _mtime(message.resolved), message.summary)
        screen.workspace.update({"model.path": message.path, "model.layers": []})
        summary = message.summary
        screen.notify(f"{message.path}: {len(summary.rows)} layers, {summary.total_params:,} params "
                      "(m, then an empty path, gives the layer list back)", title="model file loaded")  # fmt: skip

    def back_to_layers(self) -> None:
        layers, self.layers_before = self.layers_before or [], None
        self.loaded = None
        self.screen.workspace.update({"model.path": None, "model.layers": layers})
        self.screen.notify("back to the layer list" + ("" if layers else " (empty: press a to add a layer)"))
