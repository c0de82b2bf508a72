"""The config being edited: a plain YAML-shaped dict, validated into a ``RunConfig`` on demand.

The builder edits the dict (so a half-finished edit can exist); training and saving
go through ``engine.config.parse_config``, so what the app saves is exactly what
``kwb train`` runs. The last config opened or saved is remembered in the cache dir.
``engine.config`` (pydantic) is imported on first use: the app opens its workspace with
``check=False`` and checks it once its first frame is on screen.
"""

from __future__ import annotations

import copy
from importlib import resources
from pathlib import Path
from typing import Any

from typing import TYPE_CHECKING

import yaml

from tui.terminal import cache_dir

if TYPE_CHECKING:
    from engine.config import RunConfig

__all__ = ["Workspace", "sample_config_path", "last_config_path", "remember_config"]


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
    """One config: where it lives and its (possibly invalid) content."""

    def __init__(self, raw: dict[str, Any], path: Path | None = None, load_error: str | None = None) -> None:
        self.raw = raw
        """The config as a YAML-shaped dict; the builder edits this."""
        self.path = path
        """Where ctrl+s writes; None for an unsaved config."""
        self.load_error = load_error
        """Why the config on disk could not be opened, shown once at start."""
        self._unchecked: tuple[Path, dict[str, Any]] | None = None

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
            from engine.config_io import yaml_load  # the engine's reading of YAML, without pydantic

            try:
                raw = yaml_load(path.read_text(encoding="utf-8"))
            except (OSError, UnicodeDecodeError, yaml.YAMLError):
                raw = None
            if isinstance(raw, dict):
                ws = cls(raw, path.resolve())
                ws._unchecked = (path, copy.deepcopy(raw))
                return ws
        from engine.config import ConfigError, load_config

        try:
            cfg = load_config(path)
        except ConfigError as exc:
            raw = None
            try:
                raw = yaml.safe_load(path.read_text(encoding="utf-8"))
            except Exception:
                pass
            if not isinstance(raw, dict):
                raw = yaml.safe_load(sample_config_path().read_text(encoding="utf-8"))
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
        if self.raw == as_read:
            self.raw = loaded.raw

    def config(self) -> RunConfig:
        """The validated config; raises ``ConfigError`` naming the problem keys."""
        from engine.config import parse_config

        base = self.path.parent if self.path else None
        return parse_config(copy.deepcopy(self.raw), source=str(self.path) if self.path else "config", base_dir=base)

    def save(self, path: Path | None = None) -> Path:
        """Validate, then write the resolved YAML atomically; returns the path written."""
        from engine.config import save_config

        target = Path(path or self.path or "config.yaml").resolve()
        cfg = self.config()
        save_config(cfg, target)
        self.path = target
        remember_config(target)
        return target

    def replace_config(self, cfg: RunConfig, path: Path | None = None) -> None:
        """Load another config (a run's) into the workspace."""
        self.raw = to_raw(cfg)
        if path is not None:
            self.path = path

    def yaml(self) -> str:
        from engine.config import dump_config

        return dump_config(self.config())


def to_raw(cfg: RunConfig) -> dict[str, Any]:
    """A ``RunConfig`` as the dict the builder edits (every default filled in)."""
    from engine.config import dump_config

    return yaml.safe_load(dump_config(cfg))
