"""The config being edited: a plain YAML-shaped dict, validated into a ``RunConfig`` on demand.

The builder edits the dict (so a half-finished edit can exist); training and saving
go through ``engine.config.parse_config``, so what the app saves is exactly what
``kwb train`` runs. The last config opened or saved is remembered in the cache dir.
"""

from __future__ import annotations

import copy
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from engine.config import ConfigError, RunConfig, dump_config, load_config, parse_config, save_config
from tui.terminal import cache_dir

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

    @classmethod
    def open(cls, path: str | Path | None) -> "Workspace":
        """Open ``path``, else the last config, else the built-in sample."""
        if path is None:
            remembered = last_config_path()
            target = remembered or sample_config_path()
            ws = cls._load(target)
            if remembered is None:
                ws.path = Path("spirals.yaml").resolve()
            return ws
        return cls._load(Path(path))

    @classmethod
    def _load(cls, path: Path) -> "Workspace":
        try:
            cfg = load_config(path)
        except ConfigError as exc:
            raw: Any = None
            try:
                raw = yaml.safe_load(path.read_text(encoding="utf-8"))
            except Exception:
                pass
            if not isinstance(raw, dict):
                raw = yaml.safe_load(sample_config_path().read_text(encoding="utf-8"))
            return cls(raw, path.resolve(), load_error=str(exc))
        remember_config(path)
        return cls(to_raw(cfg), path.resolve())

    def config(self) -> RunConfig:
        """The validated config; raises ``ConfigError`` naming the problem keys."""
        base = self.path.parent if self.path else None
        return parse_config(copy.deepcopy(self.raw), source=str(self.path) if self.path else "config", base_dir=base)

    def save(self, path: Path | None = None) -> Path:
        """Validate, then write the resolved YAML atomically; returns the path written."""
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
        return dump_config(self.config())


def to_raw(cfg: RunConfig) -> dict[str, Any]:
    """A ``RunConfig`` as the dict the builder edits (every default filled in)."""
    return yaml.safe_load(dump_config(cfg))
