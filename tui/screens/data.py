"""Data screen: pick the data source and its options, preview the data, browse HDF5 files.

The form edits ``data.*`` of the workspace config, each edit validated like ``kwb train``.
Loading the data (``engine.data.load_data`` + ``preview``) and reading an HDF5 file's
layout (``hdf5_tree``) happen in thread workers that report back by message, so a slow
or failing load never blocks or crashes the UI; a ``DataError`` shows as its message.
"""

from __future__ import annotations

import copy
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, Mapping, cast

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.message import Message
from textual.widgets import Button, Select

from engine.data import KERAS_DATASETS, SKLEARN_DATASETS, SYNTHETIC
from tui.screens.base import KwbScreen
from tui.widgets.data_pictures import DataPictures, shows_balance
from tui.widgets.data_preview import DataPreview
from tui.widgets.data_tree import DatasetTree
from tui.widgets.footer import KeyFooter
from tui.widgets.nav import NavBar
from tui.widgets.settings_form import ConfigForm, FormField, field_id
from tui.workspace import get_path

if TYPE_CHECKING:
    from tui.app import KwbApp
    from tui.workspace import Workspace

__all__ = ["DataScreen", "DataForm"]

SOURCES = ("synthetic", "keras", "csv", "npz", "hdf5", "directory", "sklearn")
NAMES = {"synthetic": SYNTHETIC, "keras": KERAS_DATASETS, "sklearn": SKLEARN_DATASETS}
"""The dataset names each named source knows (engine.data's own tables)."""
_PLACEHOLDER_MODEL = {"layers": [{"Dense": {"units": 1}}]}
"""Stands in for the model when only the data is checked (a half-built model must not block a preview)."""
_FILES = ("csv", "npz", "hdf5", "directory")
"""Sources read from a file or folder (``data.path``); each can take its test data from another (``data.test``)."""


def _placeholder_model(data: Mapping[str, Any]) -> dict[str, Any]:
    """``_PLACEHOLDER_MODEL``, or when ``data.x`` / ``data.y`` map names, a stand-in graph with those
    input and output names (the config checks that a mapping names the model's inputs and outputs)."""
    x, y = data.get("x"), data.get("y")
    if not isinstance(x, dict) and not isinstance(y, dict):
        return copy.deepcopy(_PLACEHOLDER_MODEL)
    inputs = [str(n) for n in x] if isinstance(x, dict) and x else ["x"]
    layers: list[dict[str, Any]] = []
    top = inputs[0]
    if len(inputs) > 1:
        layers.append({"Concatenate": {}, "name": "joined", "inputs": inputs})
        top = "joined"
    outputs = [str(n) for n in y] if isinstance(y, dict) and y else ["out"]
    layers += [{"Dense": {"units": 1}, "name": name, "inputs": [top]} for name in outputs]
    return {"inputs": {name: [1] for name in inputs}, "layers": layers, "outputs": outputs}


def _source(raw: Mapping[str, Any]) -> str:
    return str((raw.get("data") or {}).get("source") or "synthetic")


def _data(raw: Mapping[str, Any]) -> dict[str, Any]:
    """The ``data`` section as a plain dict (compared to tell whether a preview still describes it)."""
    return copy.deepcopy(dict(raw.get("data") or {}))


def _when(*sources: str):
    return lambda raw: _source(raw) in sources


def _synthetic(*names: str):
    return lambda raw: _source(raw) == "synthetic" and (raw.get("data") or {}).get("name") in names


def _text_dataset(raw: Mapping[str, Any]) -> bool:
    """imdb and reuters: word sequences, with a vocabulary size and a sequence length."""
    return _source(raw) == "keras" and (raw.get("data") or {}).get("name") in ("imdb", "reuters")


def _all_names() -> tuple[str, ...]:
    return tuple(dict.fromkeys(name for names in NAMES.values() for name in names))


_NAME = FormField("data.name", "name", kind="select", options=_all_names(), show_if=_when(*NAMES))
"""The dataset of a named source: a choice among the names that source knows (set per source in ``load``)."""


class DataForm(ConfigForm):
    """``data.*``: only the options of the chosen source are shown."""

    FIELDS = (
        FormField("data.source", "source", kind="select", options=SOURCES),
        _NAME,
        FormField("data.num_words", "vocabulary size", show_if=_text_dataset),
        FormField("data.maxlen", "sequence length", show_if=_text_dataset),
        FormField("data.path", "path", kind="optional", show_if=_when(*_FILES)),
        FormField("data.x", "x (key/dataset)", kind="optional", show_if=_when("npz", "hdf5")),
        FormField("data.y", "y (key/dataset)", kind="optional", show_if=_when("npz", "hdf5")),
        FormField("data.target", "target column", show_if=_when("csv")),
        FormField("data.header", "header row", kind="switch", show_if=_when("csv")),
        FormField("data.delimiter", "delimiter", kind="text", show_if=_when("csv")),
        FormField("data.image_size", "image size", kind="numbers", show_if=_when("directory")),
        FormField("data.color_mode", "colour mode", kind="select", options=("rgb", "grayscale"),
                  show_if=_when("directory")),
        FormField("data.stream", "stream from disk", kind="switch", show_if=_when("hdf5", "directory")),
        FormField("data.features", "feature columns", kind="list", show_if=_when("csv")),
        FormField("data.samples", "samples", show_if=_when("synthetic")),
        FormField("data.noise", "noise", show_if=_when("synthetic")),
        FormField("data.classes", "classes", show_if=_synthetic("spirals", "blobs")),
        FormField("data.features_count", "input features", show_if=_synthetic("blobs")),
        FormField("data.validation_split", "validation split"),
        FormField("data.test_split", "test split"),
        FormField("data.limit", "keep first N"),
        FormField("data.test.path", "test file", kind="optional", show_if=_when(*_FILES)),
        FormField("data.test.x", "  test x", kind="optional", enabled_by="data.test", show_if=_when("npz", "hdf5")),
        FormField("data.test.y", "  test y", kind="optional", enabled_by="data.test", show_if=_when("npz", "hdf5")),
        FormField("data.scale", "scale", kind="select", options=("none", "minmax", "standard", "pixels")),
        FormField("data.one_hot", "one-hot targets", kind="switch"),
    )  # fmt: skip
    """The data options the screen edits; the rest stay as they are in the YAML."""

    def on_mount(self) -> None:
        self._names: tuple[str, ...] | None = None
        super().on_mount()

    def load(self, *args: Any) -> None:
        self._offer_names()
        super().load(*args)

    def _offer_names(self) -> None:
        """The name Select lists the current source's datasets (a name from another source shows as blank)."""
        names = NAMES.get(_source(self.raw), ())
        if names == self._names:
            return
        self._names = names
        field = replace(_NAME, options=names)
        self.FIELDS = tuple(field if f.path == _NAME.path else f for f in type(self).FIELDS)
        self._by_id[f"f-{field_id(_NAME.path)}"] = field
        select = self.query_one(f"#f-{field_id(_NAME.path)}", Select)
        with select.prevent(Select.Changed):
            select.set_options([(name, name) for name in names])

    def _edit(self, field: FormField, value: Any) -> None:
        if field.path == "data.features" and value == []:
            value = None  # no columns named: every column but the target
        if field.path == "data.test.path" and value is None:
            # No test file: no ``data.test`` section (a DataRef without a path is not valid).
            if get_path(self.raw, "data.test") is not None:
                self._show(field, None)
                self.workspace.set("data.test", None)
                self.post_message(self.Edited("data.test", None))
            return
        super()._edit(field, value)


class DataScreen(KwbScreen):
    """Where the data comes from, and what it looks like."""

    BINDINGS = [Binding("v", "preview", "Preview")]
    """v loads the data and shows a picture of it (``DataPictures``), its shapes, class balance and a few samples."""

    class PreviewReady(Message):
        """The preview worker finished: ``info`` from ``engine.data.preview`` and ``sample`` from
        ``engine.data.samples.draw_sample`` (for the picture; ``picture_error`` when it could not be drawn),
        or ``error``, for the ``data`` section it loaded."""

        def __init__(self, data: dict[str, Any], info: dict[str, Any] | None, error: str | None = None,
                     sample: Any = None, picture_error: str | None = None, input_shape: Any = None) -> None:  # fmt: skip
            super().__init__()
            self.data = data
            self.info = info
            self.input_shape = input_shape
            """The sample shape a model is built for (``DataBundle.model_input_shape``)."""
            self.error = error
            self.sample = sample
            self.picture_error = picture_error

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
                    yield DataPictures(id="pictures")
                    yield DataPreview(id="preview")
        yield KeyFooter()

    def on_mount(self) -> None:
        self.query_one(NavBar).current = "data"
        self._tree_path: str | None = None
        self._shown_data: dict[str, Any] | None = None
        """The ``data`` section the preview on screen (or loading) describes; None while it shows none."""
        cast("KwbApp", self.app).config_changed_signal.subscribe(self, self._config_changed)
        self._refresh_tree()

    def _config_changed(self, message: Workspace.Changed) -> None:
        """A preview of other data than the config's is cleared, never left on screen (nor landed later)."""
        if self._shown_data is not None and self._shown_data != _data(self.raw):
            self._shown_data = None
            self.workers.cancel_group(self, "preview")
            view = self.query_one(DataPreview)
            view.busy, view.error, view.info = False, None, None
            self.query_one(DataPictures).sample = None
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
        self.query_one(DataPictures).sample = None
        trial = self.workspace.copy()
        trial["model"] = _placeholder_model(trial.get("data") or {})
        for section in ("compile", "callbacks"):  # they name the real model's outputs and metrics
            trial.pop(section, None)
        self._shown_data = _data(trial)
        self._preview(trial, self.workspace.path)

    @work(thread=True, exclusive=True, group="preview", exit_on_error=False)
    def _preview(self, raw: dict[str, Any], config_path: Path | None) -> None:
        from engine.config_io import parse_config
        from engine.errors import ConfigError
        from engine.data import load_data, preview
        from engine.data.samples import draw_sample
        from engine.errors import UserError

        data = _data(raw)
        try:
            cfg = parse_config(raw, source="data", base_dir=config_path.parent if config_path else None)
            bundle = load_data(cfg.data, seed=cfg.seed, batch_size=cfg.fit.batch_size)
            info = preview(bundle)
        except (UserError, ConfigError) as exc:
            self.post_message(self.PreviewReady(data, None, str(exc)))
        except Exception as exc:  # a bug or an unexpected file: show it rather than die
            self.post_message(self.PreviewReady(data, None, f"{type(exc).__name__}: {exc}"))
        else:
            try:
                from engine.predict_inputs import csv_columns

                columns = csv_columns(cfg.data) or {}
                sample = draw_sample(bundle, seed=cfg.seed or 0, feature_names=columns.get("features"),
                                     target_name=columns.get("target") or "")  # fmt: skip
                problem = None
            except Exception as exc:  # a picture that cannot be drawn must not cost the preview
                sample, problem = None, f"{type(exc).__name__}: {exc}"
            self.post_message(self.PreviewReady(data, info, sample=sample, picture_error=problem,
                                                input_shape=bundle.model_input_shape()))  # fmt: skip

    def on_data_screen_preview_ready(self, message: "DataScreen.PreviewReady") -> None:
        if message.data != self._shown_data:
            return  # loaded for data the config no longer has
        view = self.query_one(DataPreview)
        view.busy = False
        view.error = message.error
        view.balance_drawn = shows_balance(message.sample)
        if message.info is not None:
            view.info = message.info
            self.workspace.note_data_shape(message.data, message.input_shape)
        self.query_one(DataPictures).sample = message.sample
        if message.picture_error:
            self.notify(f"cannot draw the data: {message.picture_error}", severity="warning")
        self.query_one("#preview-scroll").scroll_home(animate=False)

    # ------------------------------------------------------------ HDF5 tree
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
