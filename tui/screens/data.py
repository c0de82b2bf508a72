"""Data screen: pick the data source and its options, preview the data, browse HDF5 files.

The form edits ``data.*`` of the workspace config, each edit validated like ``kwb train``.
Loading the data (``engine.data.load_data`` + ``preview``) and reading an HDF5 file's
layout (``hdf5_tree``) happen in thread workers that report back by message, so a slow
or failing load never blocks or crashes the UI; a ``DataError`` shows as its message.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import TYPE_CHECKING, Any, Mapping, cast

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.message import Message
from textual.widgets import Button, Input

from engine.data import KERAS_DATASETS, SKLEARN_DATASETS, SYNTHETIC
from tui.screens.base import KwbScreen
from tui.widgets.data_preview import DataPreview
from tui.widgets.data_tree import DatasetTree
from tui.widgets.footer import KeyFooter
from tui.widgets.nav import NavBar
from tui.widgets.settings_form import ConfigForm, FormField

if TYPE_CHECKING:
    from tui.app import KwbApp
    from tui.workspace import Workspace

__all__ = ["DataScreen", "DataForm"]

SOURCES = ("synthetic", "keras", "csv", "npz", "hdf5", "directory", "sklearn")
NAMES = {"synthetic": SYNTHETIC, "keras": KERAS_DATASETS, "sklearn": SKLEARN_DATASETS}
"""The dataset names each named source knows."""
_PLACEHOLDER_MODEL = {"layers": [{"Dense": {"units": 1}}]}
"""Stands in for the model when only the data is checked (a half-built model must not block a preview)."""


def _source(raw: Mapping[str, Any]) -> str:
    return str((raw.get("data") or {}).get("source") or "synthetic")


def _when(*sources: str):
    return lambda raw: _source(raw) in sources


class DataForm(ConfigForm):
    """``data.*``: only the options of the chosen source are shown."""

    FIELDS = (
        FormField("data.source", "source", kind="select", options=SOURCES),
        FormField("data.name", "name", kind="optional", show_if=_when(*NAMES)),
        FormField("data.path", "path", kind="optional", show_if=_when("csv", "npz", "hdf5", "directory")),
        FormField("data.x", "x (key/dataset)", kind="optional", show_if=_when("npz", "hdf5")),
        FormField("data.y", "y (key/dataset)", kind="optional", show_if=_when("npz", "hdf5")),
        FormField("data.target", "target column", show_if=_when("csv")),
        FormField("data.samples", "samples", show_if=_when("synthetic")),
        FormField("data.noise", "noise", show_if=_when("synthetic")),
        FormField("data.validation_split", "validation split"),
        FormField("data.test_split", "test split"),
        FormField("data.scale", "scale", kind="select", options=("none", "minmax", "standard", "pixels")),
        FormField("data.one_hot", "one-hot targets", kind="switch"),
    )
    """The data options the screen edits; the rest stay as they are in the YAML."""

    def load(self) -> None:
        super().load()
        names = NAMES.get(_source(self.raw))
        self.query_one("#f-data-name", Input).placeholder = ", ".join(names) if names else ""


class DataScreen(KwbScreen):
    """Where the data comes from, and what it looks like."""

    BINDINGS = [Binding("v", "preview", "Preview")]
    """v loads the data and shows its shapes, class balance and a few samples."""

    class PreviewReady(Message):
        """The preview worker finished: ``info`` from ``engine.data.preview``, or ``error``."""

        def __init__(self, info: dict[str, Any] | None, error: str | None = None) -> None:
            super().__init__()
            self.info = info
            self.error = error

    class TreeReady(Message):
        """The HDF5 layout of ``path`` (``entries``), or why it could not be read (``error``)."""

        def __init__(self, path: str, entries: list[Any], error: str | None = None) -> None:
            super().__init__()
            self.path = path
            self.entries = entries
            self.error = error

    def compose(self) -> ComposeResult:
        yield NavBar()
        with Horizontal(id="data-body"):
            with Vertical(id="data-left"):
                yield DataForm(id="data-form")
                yield Button("Preview (v)", id="preview-btn")
            with Vertical(id="data-right"):
                yield DatasetTree("HDF5 file", id="h5-tree")
                with VerticalScroll(id="preview-scroll"):
                    yield DataPreview(id="preview")
        yield KeyFooter()

    def on_mount(self) -> None:
        self.query_one(NavBar).current = "data"
        self._tree_path: str | None = None
        self._refresh_tree()

    @property
    def workspace(self) -> Workspace:
        return cast("KwbApp", self.app).workspace

    @property
    def raw(self) -> Mapping[str, Any]:
        """The workspace config, to read."""
        return self.workspace.raw

    def _resolve(self, path: str) -> str:
        base = self.workspace.path
        p = Path(path).expanduser()
        return str(p if p.is_absolute() or base is None else (base.parent / p).resolve())

    # ------------------------------------------------------------ preview
    @on(Button.Pressed, "#preview-btn")
    def _preview_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        self.action_preview()

    def action_preview(self) -> None:
        self.query_one(DataPreview).busy = True
        trial = self.workspace.copy()
        trial["model"] = copy.deepcopy(_PLACEHOLDER_MODEL)
        self._preview(trial, self.workspace.path)

    @work(thread=True, exclusive=True, group="preview", exit_on_error=False)
    def _preview(self, raw: dict[str, Any], config_path: Path | None) -> None:
        from engine.config_io import parse_config
        from engine.errors import ConfigError
        from engine.data import load_data, preview
        from engine.errors import UserError

        try:
            cfg = parse_config(raw, source="data", base_dir=config_path.parent if config_path else None)
            bundle = load_data(cfg.data, seed=cfg.seed, batch_size=cfg.fit.batch_size)
            info = preview(bundle)
        except (UserError, ConfigError) as exc:
            self.post_message(self.PreviewReady(None, str(exc)))
        except Exception as exc:  # a bug or an unexpected file: show it rather than die
            self.post_message(self.PreviewReady(None, f"{type(exc).__name__}: {exc}"))
        else:
            self.post_message(self.PreviewReady(info))

    def on_data_screen_preview_ready(self, message: "DataScreen.PreviewReady") -> None:
        view = self.query_one(DataPreview)
        view.busy = False
        view.error = message.error
        if message.info is not None:
            view.info = message.info

    # ------------------------------------------------------------ HDF5 tree
    def on_config_form_edited(self, message: ConfigForm.Edited) -> None:
        if message.path in ("data.source", "data.path"):
            self._refresh_tree()

    def _refresh_tree(self) -> None:
        data = self.raw.get("data") or {}
        tree = self.query_one(DatasetTree)
        show = _source(self.raw) == "hdf5" and bool(data.get("path"))
        tree.set_class(show, "shown")
        if not show:
            self._tree_path = None
            return
        path = self._resolve(str(data["path"]))
        if path != self._tree_path:
            self._tree_path = path
            self._read_tree(path)

    @work(thread=True, exclusive=True, group="hdf5-tree", exit_on_error=False)
    def _read_tree(self, path: str) -> None:
        from engine.data import hdf5_tree

        try:
            self.post_message(self.TreeReady(path, hdf5_tree(path)))
        except Exception as exc:  # DataError for a missing or broken file; show whatever it is
            self.post_message(self.TreeReady(path, [], str(exc)))

    def on_data_screen_tree_ready(self, message: "DataScreen.TreeReady") -> None:
        if message.path != self._tree_path:
            return
        tree = self.query_one(DatasetTree)
        tree.show(message.entries)
        if message.error:
            tree.set_class(False, "shown")
            self.query_one(DataPreview).error = message.error

    def on_dataset_tree_picked(self, message: DatasetTree.Picked) -> None:
        self.query_one(DataForm).set_value(f"data.{message.role}", message.path)
        self.notify(f"data.{message.role} = {message.path}", timeout=3)
