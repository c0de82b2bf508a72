"""Shared pieces of the kwb verbs: argument types, exit codes, error printing, lazy setup, the last-resort handler.

No verb ends in silence: :func:`run_guarded` (the console script's entry) turns any
exception a verb did not handle into one line on the terminal (exit 2 when the system
refused a file the user named, 1 otherwise) plus where the full traceback was written,
and the preload log in the temp folder is removed however the command ends.
"""

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


def run_guarded(app: typer.Typer) -> None:
    """Run the typer ``app``: an exception no verb handled becomes one line and an exit status, never silence.

    TensorFlow's output (and so Python's traceback) goes to a log file while a verb runs
    (``engine.native_log``): left to Python, a crash would print nothing a person sees.
    """
    try:
        app()
        _exit_past_torn_hdf5(EXIT_OK)  # the app, after a run the disk failed
    except KeyboardInterrupt:
        err("interrupted")
        raise SystemExit(EXIT_INTERRUPTED) from None
    except SystemExit as done:
        _exit_past_torn_hdf5(done.code)
        raise
    except Exception as exc:  # noqa: BLE001 - the last resort: say it, keep the traceback, exit
        raise SystemExit(report_crash(exc)) from None


def _exit_past_torn_hdf5(code: object) -> None:
    """After a ``save_weights`` the disk refused, end the process now: HDF5 crashes flushing the torn file at exit.

    Everything of the run is closed by then (the lifecycle wrote its status and events);
    only the preload log is left to remove.
    """
    checkpoint = sys.modules.get("engine.callbacks.checkpoint")
    if checkpoint is None or not getattr(checkpoint, "hdf5_unclean", False):
        return
    import os

    from engine.native_log import remove_preload

    remove_preload()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code if isinstance(code, int) else (EXIT_OK if code is None else EXIT_FAILED))


def report_crash(exc: BaseException) -> int:
    """Say ``exc`` in one line on the terminal, write its traceback to a file the line names; return the exit status.

    An ``OSError`` on a path (a missing folder, no permission, a full disk) is the
    user's to fix: exit 2, the path named without any temp-file decoration. Anything
    else is kwb's fault: exit 1, "internal error".
    """
    import os
    import tempfile
    import traceback

    from engine.write_errors import user_path, write_failure

    trace = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
    where = Path(tempfile.gettempdir()) / f"kwb-traceback-{os.getpid()}.txt"
    try:
        where.write_text(trace, encoding="utf-8")
        saved = f" (traceback: {where})"
    except OSError:
        saved = ""
    verb = " ".join(sys.argv[1:2]) or "kwb"
    disk = write_failure(exc)
    if disk is not None:
        err(f"error: kwb {verb}: {disk.line}{saved}")
        return EXIT_BAD_INPUT
    if isinstance(exc, OSError) and exc.filename is not None:
        reason = (exc.strerror or str(exc)).lower()
        err(f"error: kwb {verb}: {reason}: {user_path(exc.filename)}{saved}")
        return EXIT_BAD_INPUT
    text = " ".join(str(exc).split())[:300] or "(no message)"
    err(f"error: kwb {verb} failed: internal error: {type(exc).__name__}: {text}{saved}")
    return EXIT_FAILED


def usable_runs_dir(path: Path, option: str = "--runs-dir") -> Path:
    """``path`` usable as the runs folder (it exists or can be made, and is writable), or exit 2 naming it, before TensorFlow loads.

    A folder that does not exist yet is made to prove it can be, then removed again at once
    (the run makes it for real): a command refused later (bad data, a failed one-batch probe)
    leaves nothing behind.
    """
    import os

    made = [p for p in (path, *path.parents) if not p.exists()]
    try:
        path.mkdir(parents=True, exist_ok=True)
        writable = os.access(path, os.W_OK | os.X_OK)
        for folder in made:  # deepest first: each rmdir only succeeds on an empty folder
            _remove_if_empty(folder)
    except OSError as exc:
        bad_input(f"error:\n  {option}: cannot create the runs folder {path}: {(exc.strerror or str(exc)).lower()}")
    if not writable:
        bad_input(f"error:\n  {option}: the runs folder {path} is not writable")
    return path


def _remove_if_empty(folder: Path) -> None:
    try:
        folder.rmdir()
    except OSError:
        pass  # it holds a run (or something else): keep it


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


def need_terminal(what: str, instead: str) -> None:
    """Exit 2 with one line unless stdin and stdout are both a terminal: a full-screen app in a pipe would hang.

    Args:
        what: what needs the terminal ("kwb", "kwb attach").
        instead: the headless way to do it, for the message.
    """
    if sys.stdin.isatty() and sys.stdout.isatty():
        return
    side = "stdout" if not sys.stdout.isatty() else "stdin"
    err(f"{what} needs a terminal for its full-screen app ({side} is not one); {instead}")
    raise typer.Exit(EXIT_BAD_INPUT)
