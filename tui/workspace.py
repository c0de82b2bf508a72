"""The config being edited: a YAML-shaped dict with edit methods, validated into a ``RunConfig`` on demand.

The dict may hold a half-finished edit; training and saving go through
``engine.config_io.parse_config``, so what the app saves is exactly what ``kwb train``
runs. The workspace is the one owner of that dict: screens and forms change it only
through its edit methods (:meth:`Workspace.set`, :meth:`Workspace.update`,
:meth:`Workspace.adopt` …), each of which announces a :class:`Workspace.Changed`
(the app passes it on to the widgets that show the config). It also owns what the app
must never lose: the config as it is on disk (so :attr:`Workspace.modified` knows about
unsaved edits, and ``save`` writes only those, into the file's own text through
``engine.config_roundtrip``), whether the file may be written over at all (not when it
could not be loaded, nor a run's config), and the fields typed but not valid yet
(:meth:`Workspace.note_invalid`), which saving and training refuse while any remain.
The last config opened or saved is remembered in the cache dir. ``engine.config``
(pydantic) is imported on first use: the app opens its workspace with ``check=False``
and checks it once its first frame is on screen.
"""

from __future__ import annotations

import copy
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Mapping, NamedTuple

from textual.message import Message

from engine.errors import ConfigError
from tui.terminal import cache_dir

if TYPE_CHECKING:
    from engine.config import RunConfig

__all__ = ["Workspace", "FileStatus", "SaveRefused", "get_path", "set_path", "sample_config_path", "last_config_path", "remember_config"]


def get_path(raw: Mapping[str, Any], path: str) -> Any:
    """The value at the dotted key ``path`` (``fit.epochs``); None where any part is missing."""
    node: Any = raw
    for part in path.split("."):
        if not isinstance(node, Mapping):
            return None
        node = node.get(part)
    return node


def set_path(raw: dict[str, Any], path: str, value: Any) -> None:
    """Set the dotted key ``path`` in ``raw`` to ``value``, making the sections on the way."""
    *parents, last = path.split(".")
    node = raw
    for part in parents:
        if not isinstance(node.get(part), dict):
            node[part] = {}
        node = node[part]
    node[last] = value


def sample_config_path() -> Path:
    """The built-in spirals sample shipped inside the package."""
    return Path(str(resources.files("tui") / "samples" / "spirals.yaml"))


def _memo() -> Path:
    return cache_dir() / "last_config"


def last_config_path() -> Path | None:
    """The config the app last opened or saved, if it still exists."""
    try:
        text = _memo().read_text(encoding="utf-8").strip()
    except OSError:
        return None
    path = Path(text)
    return path if text and path.is_file() else None


def remember_config(path: Path) -> None:
    """Open ``path`` next time ``kwb ui`` is given no config (never the built-in sample: it is not the user's to save into)."""
    if path.resolve() == sample_config_path().resolve():
        return
    try:
        _memo().write_text(str(path.resolve()) + "\n", encoding="utf-8")
    except OSError:
        pass


class FileStatus(NamedTuple):
    """What the top bar says about the config's file."""

    label: str
    """The file's name, or where the config came from (``config of run …``)."""
    modified: bool
    """The config differs from what is on disk."""
    error: str | None
    """Why the file could not be loaded (``not loaded: …``) or is not a valid config, on one line; None when it is."""


class SaveRefused(ConfigError):
    """``save`` will not write: a field is invalid, or the target is a file the app could not load."""


class Workspace:
    """One config: where it lives, its (possibly invalid) content, the edits made to it and what is on disk."""

    class Changed(Message):
        """The workspace config changed: ``paths`` are the dotted keys edited, empty when all of it may have."""

        def __init__(self, workspace: Workspace, paths: tuple[str, ...] = ()) -> None:
            super().__init__()
            self.workspace = workspace
            self.paths = paths

        def touches(self, path: str) -> bool:
            """True if the change may have altered the value at ``path`` (or something inside it)."""
            return not self.paths or any(p == path or p.startswith(path + ".") or path.startswith(p + ".") for p in self.paths)

    def __init__(
        self, raw: dict[str, Any], path: Path | None = None, load_error: str | None = None, text: str | None = None
    ) -> None:
        self._raw = raw
        self._saved = copy.deepcopy(raw)
        self._text = text
        self.path = path
        """The file this config is (or will be) saved in; None for an unsaved config."""
        self.load_error = load_error
        """Why the config on disk could not be opened; shown at start and in the top bar."""
        self.unreadable = False
        """True when ``path`` exists but could not be read as a YAML mapping: ``save`` never writes over it."""
        self.origin: str | None = None
        """Where the config came from when that is not ``path`` (``run 2026…``); ``save`` then asks for a path."""
        self.on_change: Callable[[Workspace.Changed], None] = lambda message: None
        """Called with every :class:`Changed`; the app that owns the workspace sets it."""
        self.on_status: Callable[[FileStatus], None] = lambda status: None
        """Called with :meth:`status` after every change, save and field turned (in)valid; the app sets it."""
        self._unchecked: tuple[Path, dict[str, Any], bool] | None = None
        self._invalid: dict[str, str] = {}
        self._data_shape: tuple[dict[str, Any], Any] | None = None

    @property
    def raw(self) -> Mapping[str, Any]:
        """The config as a YAML-shaped dict, to read; change it through the edit methods."""
        return self._raw

    # ------------------------------------------------------------ what the data gave
    def note_data_shape(self, data: Mapping[str, Any], shape: Any) -> None:
        """Remember the sample shape the data section ``data`` loaded with (the Data screen's v)."""
        self._data_shape = (copy.deepcopy(dict(data)), shape)

    def data_shape(self) -> Any:
        """The sample shape the current data section loaded with, or None when it has not been
        loaded since it last changed: the Build screen sizes a model without ``input_shape`` by it,
        as ``kwb train`` does by the data."""
        if self._data_shape is not None and self._data_shape[0] == (self._raw.get("data") or {}):
            return self._data_shape[1]
        return None

    # ------------------------------------------------------------ edits
    def _changed(self, *paths: str) -> None:
        self.on_change(Workspace.Changed(self, paths))
        self.on_status(self.status())

    def get(self, path: str) -> Any:
        """The value at the dotted key ``path``; None where it is missing."""
        return get_path(self._raw, path)

    def set(self, path: str, value: Any) -> None:
        """Set the dotted key ``path`` (``fit.epochs``) to ``value``."""
        set_path(self._raw, path, value)
        self._changed(path)

    def update(self, changes: Mapping[str, Any]) -> None:
        """Set several dotted keys at once (one ``Changed``)."""
        for path, value in changes.items():
            set_path(self._raw, path, value)
        self._changed(*changes)

    def adopt(self, other: Workspace) -> None:
        """Become ``other`` (another config opened, or a run's): its content, file and state; one ``Changed``."""
        self._raw, self._saved, self._text = other._raw, other._saved, other._text
        self.path, self.load_error, self.unreadable, self.origin = other.path, other.load_error, other.unreadable, other.origin
        self._unchecked, self._invalid = other._unchecked, {}
        self._changed()

    def copy(self) -> dict[str, Any]:
        """A deep copy of the config, to try an edit on or hand to a worker thread."""
        return copy.deepcopy(self._raw)

    # ------------------------------------------------------------ what would be lost
    @property
    def modified(self) -> bool:
        """True when the config differs from its file, or a field holds typed text not valid yet (work that quitting would lose)."""
        return bool(self._invalid) or self._raw != self._saved

    def note_invalid(self, path: str, error: str | None) -> None:
        """A form field at ``path`` holds text that is not valid (``error``), or no longer does (None).

        The workspace keeps the last valid value; saving and training refuse while any
        field is invalid, so a typed value is never silently dropped."""
        before = bool(self._invalid)
        if error:
            self._invalid[path] = error
        else:
            self._invalid.pop(path, None)
        if bool(self._invalid) != before:
            self.on_status(self.status())

    def unfinished(self) -> list[str]:
        """``key: problem`` for every field typed but not valid, in the order typed."""
        return [f"{path}: {error}" for path, error in self._invalid.items()]

    def refuse_unfinished(self, doing: str) -> None:
        """Raise ``SaveRefused`` naming the invalid fields (``… — fix it before saving``), if any."""
        issues = self.unfinished()
        if issues:
            it = "it" if len(issues) == 1 else "them"
            raise SaveRefused(None, [("", f"{'; '.join(issues)} — fix {it} before {doing}")])

    @property
    def must_ask_path(self) -> bool:
        """True when ``save`` with no path must not write to ``path``: a run's config, a file that could not be loaded,
        or one changed on disk since it was opened."""
        return self.path is None or self.origin is not None or self.unreadable or self.changed_on_disk()

    def changed_on_disk(self) -> bool:
        """True when the file no longer holds the text the config was opened from (edited elsewhere since)."""
        if self._text is None or self.path is None or self.origin is not None:
            return False
        try:
            return self.path.read_text(encoding="utf-8") != self._text
        except FileNotFoundError:
            return False  # gone: nothing there to lose, ctrl+s writes it again
        except (OSError, UnicodeDecodeError):
            return True

    def status(self) -> FileStatus:
        """The file's name, whether the config is modified, and why it could not be loaded."""
        if not self.load_error:
            return FileStatus(self.label, self.modified, None)
        # Not read at all (missing, not YAML …), or read but not a valid config (shown as written, to fix here).
        problem = f"not loaded: {one_line(self.load_error)}" if self._text is None else one_line(self.load_error)
        return FileStatus(self.label, self.modified, problem)

    @property
    def label(self) -> str:
        """What the top bar names: the file, or where the config came from."""
        if self.origin is not None:
            return f"config of {self.origin}" if self.origin.startswith("run ") else self.origin
        return self.path.name if self.path else "(unsaved)"

    # ------------------------------------------------------------ open, check, save
    @classmethod
    def open(cls, path: str | Path | None, check: bool = True) -> Workspace:
        """Open ``path``, else the last config, else the built-in sample (saved only where the user says).

        ``check=False`` only reads the YAML; :meth:`check` then validates it and fills in
        the defaults (a file that is not a YAML mapping is checked at once regardless).
        A file that cannot be opened gives an empty config that names the file and the
        error (:attr:`load_error`), never the sample in its place.
        """
        if path is None:
            remembered = last_config_path()
            if remembered is not None:
                return cls._load(remembered, check, remember=True)
            ws = cls._load(sample_config_path(), check)
            ws.path, ws.origin = Path("spirals.yaml").resolve(), "spirals sample"
            return ws
        return cls._load(Path(path), check, remember=True)

    @classmethod
    def of_run(cls, config: Path, run_id: str) -> Workspace:
        """A run's saved config, to edit and run again; ``save`` asks for a new file rather than write into the run."""
        ws = cls._load(config)
        ws.origin = f"run {run_id}"
        return ws

    @classmethod
    def _load(cls, path: Path, check: bool = True, remember: bool = False) -> Workspace:
        try:
            from engine.config_io import read_raw_config  # PyYAML: after the first frame, not before

            raw = read_raw_config(path)  # the engine's reading of the file, without pydantic
        except ConfigError as exc:
            ws = cls({}, path.resolve(), load_error=str(exc))
            ws.unreadable = path.exists()  # nothing to lose where there is no file: ctrl+s may create it
            return ws
        text = path.read_text(encoding="utf-8")
        if not check:
            ws = cls(raw, path.resolve(), text=text)
            ws._unchecked = (path, copy.deepcopy(raw), remember)
            return ws
        from engine.config_io import parse_config

        try:
            cfg = parse_config(raw, source=str(path), base_dir=path.resolve().parent)
        except ConfigError as exc:
            return cls(read_raw_config(path), path.resolve(), load_error=str(exc), text=text)  # as written, to fix here
        if remember:
            remember_config(path)
        return cls(to_raw(cfg), path.resolve(), text=text)

    @property
    def checked(self) -> bool:
        """False while a config opened with ``check=False`` waits for :meth:`check`."""
        return self._unchecked is None

    def check(self) -> None:
        """Validate the config opened with ``check=False``, as ``open`` would have: fill in
        the defaults (unless it was edited meanwhile) or set ``load_error``."""
        if self._unchecked is None:
            return
        (source, as_read, remember), self._unchecked = self._unchecked, None
        loaded = Workspace._load(source, remember=remember)
        self.load_error, self.unreadable = loaded.load_error, loaded.unreadable
        if self._raw == as_read:
            self._raw, self._saved = loaded._raw, loaded._saved
        self._changed()

    def config(self) -> RunConfig:
        """The validated config; raises ``ConfigError`` naming the problem keys."""
        from engine.config_io import parse_config

        if self.origin is not None and self.load_error and not self._raw:  # a run's config that is not there
            raise ConfigError(str(self.path), [("", one_line(self.load_error))])
        base = self.path.parent if self.path else None
        return parse_config(self.copy(), source=str(self.path) if self.path else "config", base_dir=base)

    def save_refusal(self, target: Path) -> str | None:
        """Why ``save(target)`` would refuse to write there, or None."""
        if self.unreadable and self.path is not None and target.resolve() == self.path:
            return f"{self.path.name} could not be loaded ({one_line(self.load_error or '')}), so it is not written over: fix it in an editor, or save to another file"
        return None

    def save(self, path: Path | None = None) -> Path:
        """Write the config to ``path`` (default: its own file) atomically; returns the path written.

        Refused (``SaveRefused``) while a field is invalid, without a path where
        :attr:`must_ask_path`, and over a file that could not be loaded; ``ConfigError``
        when the config is not valid. Only the edits are written into the file's own text
        (``engine.config_roundtrip``): comments, order and relative paths stay, no default
        is filled in. The workspace then holds what the file holds, and is not modified.
        """
        self.refuse_unfinished("saving")
        if path is None and self.must_ask_path:
            raise SaveRefused(self.label, [("", "choose a file to save it in (Save as…)")])
        target = Path(path or self.path or "config.yaml").resolve()
        refusal = self.save_refusal(target)
        if refusal:
            raise SaveRefused(None, [("", refusal)])
        cfg = self.config()
        text, cfg_on_disk = self._document(cfg, target)
        from engine.config_io import atomic_write_text

        atomic_write_text(target, text)
        remember_config(target)
        moved = target != self.path
        self.path, self.origin, self.unreadable, self.load_error, self._text = target, None, False, None, text
        on_disk = to_raw(cfg_on_disk)
        changed, self._raw, self._saved = on_disk != self._raw, on_disk, copy.deepcopy(on_disk)
        if changed or moved:
            self._changed()  # the widgets that name the file, or show a path now resolved, want to know
        else:
            self.on_status(self.status())
        return target

    def _document(self, cfg: RunConfig, target: Path) -> tuple[str, RunConfig]:
        """The text to write to ``target`` (the file's own, with the edits) and the config it reads as.

        Should the round trip ever read back as another config, the resolved config is
        written instead: the comments are lost, never the values."""
        from engine.config_io import dump_config, parse_config, yaml_load
        from engine.config_roundtrip import ConfigDocument

        doc = ConfigDocument.parse(self._text or "")
        doc.apply(self._saved, self._raw)
        doc.rebase(self.path.parent if self.path else target.parent, target.parent)
        text = doc.text()
        try:
            again = parse_config(yaml_load(text), source=str(target), base_dir=target.parent)
        except ConfigError:
            again = None
        if again is None or again.model_dump() != cfg.model_dump():
            return dump_config(cfg), cfg
        return text, again


def one_line(error: str) -> str:
    """A ``ConfigError`` message (``error in x.yaml:`` then its issues) on one line, without the file it names."""
    lines = [line.strip() for line in error.splitlines() if line.strip()]
    if len(lines) > 1 and lines[0].startswith("error in "):
        lines = lines[1:]
    return "; ".join(lines)


def to_raw(cfg: RunConfig) -> dict[str, Any]:
    """A ``RunConfig`` as the dict the workspace holds (every default filled in), as ``dump_config`` writes it."""
    return cfg.model_dump(mode="json")
