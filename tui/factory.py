"""The one app factory, ``make_app``, shared by the CLI, the tests and the benchmarks; ``run_app`` for ``kwb ui``."""

from __future__ import annotations

import os
from pathlib import Path

from tui.app import KwbApp
from tui.runner import TrainEngine
from tui.workspace import Workspace

__all__ = ["make_app", "run_app"]


def make_app(
    config_path: str | os.PathLike[str] | None = None,
    engine: TrainEngine | None = None,
    runs_dir: str | os.PathLike[str] | None = None,
    warm_up: bool = True,
    start_mode: str = "build",
    cursor_blink: bool = True,
    attach: str | os.PathLike[str] | None = None,
    check_config: bool = True,
) -> KwbApp:
    """The one app factory, shared by the CLI and the tests.

    ``engine`` replaces ``engine.session`` (tests may hand a recorded stream);
    ``runs_dir`` overrides the config's ``output.runs_dir``; ``warm_up=False`` skips
    importing TensorFlow in the background; ``cursor_blink=False`` for snapshots;
    ``attach`` (a run directory) opens on its dashboard, following it live (``kwb attach``);
    ``check_config=False`` reads the config's YAML now and validates it (pydantic) once
    the first frame is on screen, as ``run_app`` does.
    """
    workspace = None
    if attach is not None and config_path is None:  # the followed run's own config, not the last one opened
        workspace = Workspace.of_run(Path(attach) / "config.yaml", Path(attach).name)
        workspace = None if workspace.load_error else workspace
    if workspace is None:
        workspace = Workspace.open(Path(config_path) if config_path is not None else None, check=check_config)
    return KwbApp(
        workspace, engine=engine, runs_dir=runs_dir, warm_up=warm_up, start_mode="train" if attach is not None else start_mode,
        cursor_blink=cursor_blink, attach=attach,
    )


def run_app(config_path: str | os.PathLike[str] | None = None) -> None:
    """Run the app full-screen on ``config_path`` (else the last config, else the sample)."""
    from tui.terminal import guard_terminal

    app = make_app(config_path, check_config=False)
    with guard_terminal():
        app.run()
