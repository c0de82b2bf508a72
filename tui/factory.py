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
    if attach is not None and config_path is None:  # the followed run's own config, never the last one opened
        workspace = _run_workspace(Path(attach))
    else:
        workspace = Workspace.open(Path(config_path) if config_path is not None else None, check=check_config)
    return KwbApp(
        workspace, engine=engine, runs_dir=runs_dir, warm_up=warm_up, start_mode="train" if attach is not None else start_mode,
        cursor_blink=cursor_blink, attach=attach,
    )


def _run_workspace(run: Path) -> Workspace:
    """The config of the run in ``run``, as ``Workspace.of_run`` opens it (a config that does not load names why).

    A run without config.yaml gets an empty config whose load error says so (the top bar
    shows it, ``t`` refuses it), never another config in its place: training that would
    not be this run.
    """
    config = run / "config.yaml"
    if config.exists() or not run.is_dir():
        return Workspace.of_run(config, run.name)
    if (run / "script.json").exists():
        label, why = f"script run {run.name}", "no config.yaml: a run of your own script (script.json records its fit)"
    else:  # the top bar's label: what is missing comes first, before a narrow terminal cuts it
        label, why = f"missing config.yaml of run {run.name}", "config.yaml missing"
    workspace = Workspace({}, config.resolve(), load_error=f"error in {config}:\n  {why}")
    workspace.origin = label
    return workspace


def run_app(config_path: str | os.PathLike[str] | None = None) -> None:
    """Run the app full-screen on ``config_path`` (else the last config, else the sample)."""
    from tui.terminal import guard_terminal

    app = make_app(config_path, check_config=False)
    with guard_terminal():
        app.run()
