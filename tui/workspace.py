"""The config being edited: a YAML-shaped dict with edit methods, validated into a ``RunConfig`` on demand.

The dict may hold a half-finished edit; training and saving go through
``engine.config_io.parse_config``, so what the app saves is exactly what ``kwb train``
runs. The workspace is the one owner of that dict: screens and forms change it only
through its edit methods (:meth:`Workspace.set`, :meth:`Workspace.update`,
:meth:`Workspace.replace_config` …), each of which announces a :class:`Workspace.Changed`
(the app passes it on to the widgets that show the config). The last config opened or
saved is remembered in the cache dir. ``engine.config`` (pydantic) is imported on first
use: the app opens its workspace with ``check=False`` and checks it once its first frame
is on screen.
"""

from __future__ import annotations

import copy
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Mapping

from textual.message import Message

from engine.config_io import read_raw_config
from engine.errors import ConfigError
from tui.terminal import cache_dir

if TYPE_CHECKING:
    from engine.config import RunConfig

__all__ = ["Workspace", "get_path", "set_path", "sample_config_path", "last_config_path", "remember_config"]


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
    try:
        _memo().write_text(str(path.resolve()) + "\n", encoding="utf-8")
    except OSError:
        pass


class Workspace:
    """One config: where it lives, its (possibly invalid) content, and the edits made to it."""

    class Changed(Message):
        """The workspace config changed: ``paths`` are the dotted keys edited, empty when all of it may have."""

        def __init__(self, workspace: Workspace, paths: tuple[str, ...] = ()) -> None:
            super().__init__()
            self.workspace = workspace
            self.paths = paths

        def touches(self, path: str) -> bool:
            """True if the change may have altered the value at ``path`` (or something inside it)."""
            return not self.paths or any(p == path or p.startswith(path + ".") or path.startswith(p + ".") for p in self.paths)

    def __init__(self, raw: dict[str, Any], path: Path | None = None, load_error: str | None = None) -> None:
        self._raw = raw
        self.path = path
        """Where ctrl+s writes; None for an unsaved config."""
        self.load_error = load_error
        """Why the config on disk could not be opened, shown once at start."""
        self.on_change: Callable[[Workspace.Changed], None] = lambda message: None
        """Called with every :class:`Changed`; the app that owns the workspace sets it."""
        self._unchecked: tuple[Path, dict[str, Any]] | None = None

    @property
    def raw(self) -> Mapping[str, Any]:
        """The config as a YAML-shaped dict, to read; change it through the edit methods."""
        return self._raw

    # ------------------------------------------------------------ edits
    def _changed(self, *paths: str) -> None:
        self.on_change(Workspace.Changed(self, paths))

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

    def replace_config(self, cfg: RunConfig, path: Path | None = None) -> None:
        """Load another config (a run's) into the workspace."""
        self._raw = to_raw(cfg)
        if path is not None:
            self.path = path
        self._changed()

    def copy(self) -> dict[str, Any]:
        """A deep copy of the config, to try an edit on or hand to a worker thread."""
        return copy.deepcopy(self._raw)

    # ------------------------------------------------------------ open, check, save
    @classmethod
    def open(cls, path: str | Path | None, check: bool = True) -> Workspace:
        """Open ``path``, else the last config, else the built-in sample.

        ``check=False`` only reads the YAML; :meth:`check` then validates it and fills in
        the defaults (a file that is not a YAML mapping is checked at once regardless).
        """
        if path is None:
            remembered = last_config_path()
            target = remembered or sample_config_path()
            ws = cls._load(target, check)
            if remembered is None:
                ws.path = Path("spirals.yaml").resolve()
            return ws
        return cls._load(Path(path), check)

    @classmethod
    def _load(cls, path: Path, check: bool = True) -> Workspace:
        if not check:
            try:
                raw = read_raw_config(path)  # the engine's reading of the file, without pydantic
            except ConfigError:
                pass  # reported by the checked load below
            else:
                ws = cls(raw, path.resolve())
                ws._unchecked = (path, copy.deepcopy(raw))
                return ws
        from engine.config_io import load_config

        try:
            cfg = load_config(path)
        except ConfigError as exc:
            try:
                raw = read_raw_config(path)  # show what it holds, if it is a mapping at all
            except ConfigError:
                raw = read_raw_config(sample_config_path())
            return cls(raw, path.resolve(), load_error=str(exc))
        remember_config(path)
        return cls(to_raw(cfg), path.resolve())

    @property
    def checked(self) -> bool:
        """False while a config opened with ``check=False`` waits for :meth:`check`."""
        return self._unchecked is None

    def check(self) -> None:
        """Validate the config opened with ``check=False``, as ``open`` would have: fill in
        the defaults (unless it was edited meanwhile) or set ``load_error``."""
        if self._unchecked is None:
            return
        (source, as_read), self._unchecked = self._unchecked, None
        loaded = Workspace._load(source)
        self.load_error = loaded.load_error
        if self._raw == as_read:
            self._raw = loaded._raw
        self._changed()

    def config(self) -> RunConfig:
        """The validated config; raises ``ConfigError`` naming the problem keys."""
        from engine.config_io import parse_config

        base = self.path.parent if self.path else None
        return parse_config(self.copy(), source=str(self.path) if self.path else "config", base_dir=base)

    def save(self, path: Path | None = None) -> Path:
        """Validate, then write the resolved YAML atomically; returns the path written."""
        from engine.config_io import save_config

        target = Path(path or self.path or "config.yaml").resolve()
        cfg = self.config()
        save_config(cfg, target)
        moved, self.path = target != self.path, target
        remember_config(target)
        if moved:
            self._changed()  # only where it lives changed, but the widgets that name the file want to know
        return target

    def yaml(self) -> str:
        """The validated config as the YAML ``kwb train`` would run."""
        from engine.config_io import dump_config

        return dump_config(self.config())


def to_raw(cfg: RunConfig) -> dict[str, Any]:
    """A ``RunConfig`` as the dict the workspace holds (every default filled in), as ``dump_config`` writes it."""
    return cfg.model_dump(mode="json")
