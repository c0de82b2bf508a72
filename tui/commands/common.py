"""Shared pieces of the kwb verbs: argument types, exit codes, error printing, lazy setup."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, NoReturn, Optional

import typer

EXIT_OK, EXIT_FAILED, EXIT_BAD_INPUT, EXIT_INTERRUPTED, EXIT_TERMINATED = 0, 1, 2, 130, 143

ConfigArg = Annotated[Path, typer.Argument(help="Run config (YAML).", show_default=False)]
SetOpt = Annotated[
    Optional[list[str]],
    typer.Option("--set", "-s", help="Override a config key: --set fit.epochs=5 (repeatable).", show_default=False),
]
RunsDirOpt = Annotated[Optional[Path], typer.Option("--runs-dir", help="Runs folder. Defaults to ./runs.")]
RunArg = Annotated[str, typer.Argument(help="Run id (or a unique part of it) or run directory.", show_default=False)]


def err(text: str) -> None:
    from engine.native_log import native_log

    stream = native_log.terminal if native_log.active else sys.stderr
    print(text, file=stream, flush=True)


def bad_input(exc: BaseException) -> NoReturn:
    err(str(exc))
    raise typer.Exit(EXIT_BAD_INPUT)


def quiet_tensorflow() -> None:
    from engine.native_log import quiet_tensorflow as quiet

    quiet()


def start_native_log() -> None:
    """Send fd 2 to a temp log before TensorFlow loads; the run's lifecycle moves it into train.log."""
    from engine.native_log import start_preload

    start_preload()


def load(config: Path, overrides: list[str] | None):
    from engine.config_io import load_config
    from engine.errors import ConfigError

    try:
        return load_config(config, overrides or [])
    except ConfigError as exc:
        bad_input(exc)


def runs_dir_or_default(opt: Path | None) -> Path:
    return opt if opt is not None else Path("runs")


def with_source(exc: BaseException, config: Path) -> str:
    """Name the config first; a data or model file at fault goes on its own line."""
    from engine.errors import UserError

    if not isinstance(exc, UserError):
        return str(exc)
    body = f"{exc.key}: {exc.message}" if exc.key else exc.message
    text = f"error in {config}:\n  {body}"
    if exc.source and Path(exc.source).resolve() != config.resolve():
        text += f"\n  file: {exc.source}"
    return text


def find_run_or_exit(ref: str, runs_dir: Path | None):
    from engine.runs import find_run

    return find_run(ref, runs_dir_or_default(runs_dir))

