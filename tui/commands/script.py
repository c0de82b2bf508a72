"""``kwb run SCRIPT [ARGS]…``: your own Keras script, unmodified, every ``fit`` a kwb run you can watch and steer."""

from __future__ import annotations

import os
import sys
import traceback
from pathlib import Path
from typing import Annotated, Optional

import typer

from tui.commands.common import EXIT_FAILED, EXIT_INTERRUPTED, EXIT_OK, RunsDirOpt, bad_input, err, runs_dir_or_default

CONTEXT = {"allow_extra_args": True, "ignore_unknown_options": True, "allow_interspersed_args": False}
"""Everything after SCRIPT is the script's own (``kwb run train.py --epochs 3`` passes ``--epochs 3`` on)."""


def run(
    ctx: typer.Context,
    script: Annotated[Path, typer.Argument(help="Your Python training script; the arguments after it are its own.",
                                           show_default=False)],  # fmt: skip
    detach: Annotated[bool, typer.Option("--detach", help="Run in the background; its output goes to output.log.")] = False,
    name: Annotated[Optional[str], typer.Option("--name", help="Base name of the runs. Defaults to the script's name.")] = None,
    runs_dir: RunsDirOpt = None,
    json_: Annotated[bool, typer.Option("--json", help="Print kwb's event stream as JSON lines on stdout; "
                                                       "the script's own output goes to stderr.")] = False,
    announce: Annotated[Optional[Path], typer.Option("--announce", hidden=True)] = None,
    detached: Annotated[bool, typer.Option("--detached", hidden=True)] = False,
) -> None:
    """Run SCRIPT as `python SCRIPT ARGS…` would, with every Keras fit recorded and steerable.

    Each fit becomes a run in the runs folder (script.json instead of config.yaml):
    watch it with `kwb attach`, steer it with `kwb control`. The exit status is the script's.
    """
    from engine.errors import UserError
    from engine.script_runner import ScriptRuns, check_script

    from engine.runs import check_run_name

    try:
        path = check_script(script)
        if name is not None:
            check_run_name(name, "--name")  # one folder inside the runs folder, never a path out of it
    except UserError as exc:
        bad_input(exc)
    root = runs_dir_or_default(runs_dir)
    if detach:
        _detach(path, ctx.args, name, root)
    runs = ScriptRuns(path, list(ctx.args), root, name=name, argv0=str(script))
    if json_:
        from tui.headless import Printer

        # stdout carries nothing but the event stream; the script's own prints go to stderr.
        events_out = os.fdopen(os.dup(1), "w", buffering=1, encoding="utf-8")
        sys.stdout.flush()
        os.dup2(2, 1)
        printer = Printer(events_out, mode="json")
    else:
        printer = None
        runs.on_run = _say_where
    if detached:
        runs.first_run = _first_run(runs, announce)
        runs.on_run = None
    raise typer.Exit(_run(runs, printer))


def _run(runs, printer) -> int:
    """Run the script; its exit status (1 with its traceback when it raised, 130 for Ctrl-C)."""
    from engine.native_log import quiet_tensorflow
    from engine.script_runner import run_script

    quiet_tensorflow()
    if printer is not None:
        runs.sink = printer
    try:
        run_script(runs)
    except SystemExit as exc:
        code = exc.code
        if code is None or isinstance(code, int):
            return _finish_first(runs, code or 0)
        print(code, file=sys.stderr)  # sys.exit("message") prints it and exits 1, as Python does
        return _finish_first(runs, 1)
    except KeyboardInterrupt as exc:
        _print_user_traceback(exc, runs.script)
        return _finish_first(runs, EXIT_INTERRUPTED)
    except BaseException as exc:  # the user's own error: shown as Python shows it
        _print_user_traceback(exc, runs.script)
        return _finish_first(runs, EXIT_FAILED, exc)
    return _finish_first(runs, EXIT_OK)


def _print_user_traceback(exc: BaseException, script: Path) -> None:
    """Python's traceback from the script's first frame on, without kwb's own launcher frames (as Keras hides its own)."""
    import engine

    tb = exc.__traceback__
    while tb is not None and Path(tb.tb_frame.f_code.co_filename).resolve() != script:
        tb = tb.tb_next
    ours = {str(Path(engine.__file__).parent / name) for name in ("script_runner.py", "live.py")}
    report = traceback.TracebackException(type(exc), exc, tb if tb is not None else exc.__traceback__)
    report.stack = traceback.StackSummary.from_list([f for f in report.stack if f.filename not in ours])
    sys.stderr.flush()
    print("".join(report.format()), end="", file=sys.stderr, flush=True)


def _say_where(run) -> None:
    print(f"kwb: recording run {run.id} · watch: kwb attach {run.id} · control: kwb control {run.id} "
          "stop|pause|resume|checkpoint|lr-drop|set-lr VALUE", file=sys.stderr, flush=True)  # fmt: skip


def _detach(path: Path, args: list[str], name: str | None, root: Path) -> None:
    from tui.detach import LaunchFailed, launch_detached

    argv = ["run", "--runs-dir", str(root), *(["--name", name] if name else []), str(path), *args]
    try:
        run_path, pid = launch_detached(argv)
    except LaunchFailed as exc:
        err(f"kwb run --detach: the script did not start:\n{exc}")
        raise typer.Exit(exc.code or EXIT_FAILED) from None
    run_id = run_path.name
    print(f"started {path.name} in the background (pid {pid}); its first fit records into run {run_id}")
    print(f"  output   {run_path / 'output.log'}")
    print(f"  watch    kwb attach {run_id}")
    print(f"  control  kwb control {run_id} stop|pause|resume|checkpoint|lr-drop|set-lr VALUE")
    raise typer.Exit(EXIT_OK)


def _first_run(runs, announce: Path | None):
    """``--detached``: the first run's directory now (its id is what the launcher prints), our output in it."""
    from engine.config_io import atomic_write_text
    from engine.runs import create_script_run_dir

    run = create_script_run_dir(f"{runs.name or runs.script.stem}-1", runs.runs_dir, runs.describe())
    out = os.open(run.output, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    sys.stdout.flush()
    sys.stderr.flush()
    os.dup2(out, 1)
    os.dup2(out, 2)
    os.close(out)
    if announce is not None:
        atomic_write_text(announce, str(run.path.resolve()))
    return run


def _finish_first(runs, code: int, exc: BaseException | None = None) -> int:
    """A run made before the script started, that no ``fit`` used, still ends with a status."""
    import time

    run = runs.first_run
    if run is None or runs.fits:
        return code
    if code == EXIT_OK:
        run.write_status(state="finished", reason="no_fit", ended=time.time(), heartbeat=time.time())
    else:
        error = f"the script exited with status {code} before calling fit"
        if exc is not None:
            error = f"{type(exc).__name__}: {exc}"
            run.error.write_text("".join(traceback.format_exception(type(exc), exc, exc.__traceback__)))
        run.write_status(state="failed", error=error, ended=time.time(), heartbeat=time.time())
    return code
