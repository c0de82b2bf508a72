"""Verbs that train: validate, train (optionally detached), resume; signal handling."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Annotated, NoReturn, Optional

import typer

from tui.commands.common import (
    EXIT_FAILED, EXIT_INTERRUPTED, EXIT_OK, EXIT_TERMINATED, ConfigArg, RunArg, RunsDirOpt,
    SetOpt, bad_input, err, find_run_or_exit, load, quiet_tensorflow, start_native_log,
    usable_runs_dir, with_source,
)  # fmt: skip


def validate(config: ConfigArg, set_: SetOpt = None) -> None:
    """Check CONFIG (keys, data, model shapes) without training or writing anything."""
    cfg = load(config, set_)
    quiet_tensorflow()
    start_native_log()
    from engine.errors import USER_ERRORS
    from engine.model import summary_of
    from engine.session import prepare

    try:
        # A multi_worker strategy would wait for the other workers: check everything else on one device.
        prep = prepare(cfg.model_copy(update={"runtime": cfg.runtime.model_copy(update={"strategy": "default"})}))
    except USER_ERRORS as exc:
        bad_input(with_source(exc, config))
    summary = summary_of(prep.model)
    print(f"{config}: ok")
    print(f"  data   {prep.data.description}")
    print(f"  model  {len(summary.rows)} layers, {summary.total_params:,} parameters")
    from engine.graph_spec import uses_graph

    graph = uses_graph(cfg.model.inputs, cfg.model.layers, cfg.model.outputs)
    for row in summary.rows:
        wiring = f"  {row.name} <- {', '.join(row.inputs)}" if graph else ""  # a graph: each layer's name and inputs
        print(f"    {row.class_name:<22} {row.output_shape:<20} {row.params:>10,}{wiring}")


def train(
    config: ConfigArg,
    set_: SetOpt = None,
    json_: Annotated[bool, typer.Option("--json", help="Print the event stream as JSON lines.")] = False,
    detach: Annotated[bool, typer.Option("--detach", help="Run in the background, immune to the terminal closing.")] = False,
    runs_dir: RunsDirOpt = None,
    announce: Annotated[Optional[Path], typer.Option("--announce", hidden=True)] = None,
    detached: Annotated[bool, typer.Option("--detached", hidden=True)] = False,
    workers: Annotated[
        Optional[str],
        typer.Option("--workers", help="multi_worker: every worker's host:port, comma-separated (sets TF_CONFIG)."),
    ] = None,
    worker_index: Annotated[
        Optional[int], typer.Option("--worker-index", help="multi_worker: this worker's place in --workers; 0 is the chief.")
    ] = None,
) -> None:
    """Train CONFIG headless. Ctrl-C stops at the next batch and saves; twice exits at once."""
    cfg = load(config, set_)
    if runs_dir is not None:
        cfg.output.runs_dir = str(runs_dir)
    _join_cluster(cfg, workers, worker_index)  # first: a bad --workers is refused before the runs folder is made
    usable_runs_dir(Path(cfg.output.runs_dir), "--runs-dir" if runs_dir is not None else "output.runs_dir")
    if detach:
        argv = ["train", str(config.resolve()), "--runs-dir", str(Path(cfg.output.runs_dir).resolve())]
        for item in set_ or []:
            argv += ["--set", item]
        if workers is not None:
            argv += ["--workers", workers, "--worker-index", str(worker_index)]
        _spawn_detached(argv, json_)
    _run_headless(cfg, config, json_, announce=announce, detached=detached)


def _join_cluster(cfg, workers: str | None, worker_index: int | None) -> None:
    """``--workers``/``--worker-index`` become TF_CONFIG; a multi_worker run trains with tf-keras.

    Both must happen before TensorFlow is imported, which is why they live here.
    """
    from engine.cluster import cluster_from_env, parse_workers, tf_config_for
    from engine.errors import UserError
    from engine.kerasapi import LEGACY_ENV

    try:
        if workers is not None or worker_index is not None:
            os.environ["TF_CONFIG"] = tf_config_for(parse_workers(workers or "", worker_index), worker_index or 0)
            cfg.runtime.strategy = "multi_worker"
        if cfg.runtime.strategy == "multi_worker":
            cluster_from_env()
    except UserError as exc:
        bad_input(exc)  # "error:\n  --workers: <what was expected>"
    if cfg.runtime.strategy == "multi_worker":
        os.environ[LEGACY_ENV] = "1"  # engine.kerasapi: Keras 3's fit cannot run MultiWorkerMirroredStrategy


def resume(
    run: RunArg,
    set_: Annotated[
        Optional[list[str]],
        typer.Option("--set", "-s", help="Change a fit.* key, e.g. --set fit.epochs=100 to train a finished run further.",
                     show_default=False),
    ] = None,
    json_: Annotated[bool, typer.Option("--json", help="Print the event stream as JSON lines.")] = False,
    detach: Annotated[bool, typer.Option("--detach", help="Continue in the background.")] = False,
    runs_dir: RunsDirOpt = None,
    announce: Annotated[Optional[Path], typer.Option("--announce", hidden=True)] = None,
    detached: Annotated[bool, typer.Option("--detached", hidden=True)] = False,
) -> None:
    """Continue a stopped, died, failed or killed run from its last saved state, in the same directory.

    A finished run is continued only when more epochs are asked for (--set fit.epochs=M).
    """
    from engine.errors import UserError
    from engine.runs import LIVE_STATES, run_state, script_run

    try:
        rd = find_run_or_exit(run, runs_dir)
    except UserError as exc:
        bad_input(exc)
    state = run_state(rd)
    if state in LIVE_STATES:
        bad_input(f"error:\n  RUN: {rd.id} is still {state}; stop it first (kwb control {rd.id} stop)")
    if (script := script_run(rd)) is not None:
        bad_input(f"error:\n  RUN: {rd.id} recorded a fit of {script}; a script run is continued by running "
                  f"the script again (kwb run {script})")  # fmt: skip
    cfg = _resume_config(rd, set_)
    if cfg.runtime.strategy == "multi_worker":
        bad_input(f"error in {rd.config}:\n  runtime.strategy: a multi_worker run cannot be resumed; "
                  "start it again with kwb train on every worker")  # fmt: skip
    from engine.resume import refusal, status_to_resume

    try:
        status = status_to_resume(rd)  # a damaged status.json: how events.jsonl says the run ended, else exit 2
    except UserError as exc:
        bad_input(exc)
    epochs_given = any(item.split("=", 1)[0].strip() == "fit.epochs" for item in set_ or [])
    if (why := refusal(rd, status, cfg.fit.epochs, epochs_given)) is not None:
        bad_input(f"error:\n  RUN: {why}")  # before anything is written: the model and figures stay as they are
    if set_:
        from engine.config_io import atomic_write_text, dump_config

        atomic_write_text(rd.config, dump_config(cfg))  # later resumes see the new epochs too
    if detach:
        _spawn_detached(["resume", str(rd.path.resolve())], json_)
    _run_headless(cfg, rd.config, json_, resume_dir=rd, announce=announce, detached=detached)


def _resume_config(rd, set_: list[str] | None):
    """The run's config with the user's ``--set`` applied; only ``fit.*`` keys (the model and data are the run's)."""
    for item in set_ or []:
        key = item.split("=", 1)[0].strip()
        if not key.startswith("fit."):
            bad_input(f"error:\n  --set {key}: resume keeps the run's model, data and callbacks; "
                      "only fit.* keys (fit.epochs …) can change")  # fmt: skip
    return load(rd.config, set_)


def _spawn_detached(argv: list[str], json_: bool = False) -> NoReturn:
    """Start ``kwb ARGV`` in the background (``tui.detach``), say where it runs, and exit.

    With ``json_`` the saying is one JSON object on stdout (``type: detached``, the run's id,
    directory and pid), so ``--detach --json`` prints nothing but JSON.
    """
    from tui.detach import LaunchFailed, launch_detached

    try:
        run_path, pid = launch_detached(argv)
    except LaunchFailed as exc:
        err(str(exc))
        raise typer.Exit(exc.code or EXIT_FAILED) from None
    except KeyboardInterrupt:
        raise typer.Exit(EXIT_INTERRUPTED) from None
    run_id = run_path.name
    if json_:
        import json

        print(json.dumps({"type": "detached", "run_id": run_id, "run_dir": str(run_path), "pid": pid,
                          "attach": f"kwb attach {run_id}"}), flush=True)  # fmt: skip
        raise typer.Exit(EXIT_OK)
    print(f"started run {run_id} in the background (pid {pid})")
    print(f"  dir      {run_path}")
    print(f"  watch    kwb attach {run_id}")
    print(f"  control  kwb control {run_id} stop|pause|resume|checkpoint|lr-drop|set-lr VALUE")
    print(f"  status   kwb show {run_id}")
    raise typer.Exit(EXIT_OK)


def _run_headless(cfg, config: Path, json_: bool, *, resume_dir=None, announce: Path | None = None,
                  detached: bool = False) -> None:  # fmt: skip
    quiet_tensorflow()
    from tui.headless import Printer

    printer = Printer(mode="json" if json_ else ("plain" if detached else None))
    if printer.mode == "tty":
        printer.line(f"loading TensorFlow and preparing {cfg.name}…")
    start_native_log()
    from engine.errors import USER_ERRORS

    try:
        from engine.session import prepare

        prep = prepare(cfg)
    except USER_ERRORS as exc:
        bad_input(with_source(exc, config))
    except KeyboardInterrupt:
        err("interrupted before training started; nothing was written")
        raise typer.Exit(EXIT_INTERRUPTED) from None

    from engine.control import Control
    from engine.session import train as run_training

    def on_run_dir(run) -> None:
        if detached:
            # Our stdout was a temp file of the launcher's; from now on it is the run's output.log.
            out = os.open(run.path / "output.log", os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
            sys.stdout.flush()
            os.dup2(out, 1)
            os.close(out)
        if announce is not None:
            from engine.config_io import atomic_write_text

            atomic_write_text(announce, str(run.path.resolve()))

    control = Control()
    received: list[int] = []
    _install_signal_handlers(control, received, printer, ignore_hup=detached)
    try:
        result = run_training(cfg, sink=printer, control=control, prepared=prep, resume=resume_dir, on_run_dir=on_run_dir)
    except USER_ERRORS as exc:
        bad_input(with_source(exc, config))
    if result.status == "failed":
        if result.error and not json_:
            from tui.headless import failure_summary

            err(failure_summary(result.error, result.run_dir))
        raise typer.Exit(EXIT_FAILED)
    if received:
        import signal

        raise typer.Exit(EXIT_INTERRUPTED if received[0] == signal.SIGINT else EXIT_TERMINATED)


def _install_signal_handlers(control, received: list[int], printer, ignore_hup: bool = False) -> None:
    """First SIGINT/SIGTERM/SIGHUP: stop at a batch boundary and save. Second: exit at once."""
    import signal

    def handler(signum: int, frame: object) -> None:
        if received:
            # Everything on disk is written by rename, so leaving now cannot tear a file.
            os._exit(EXIT_INTERRUPTED if signum == signal.SIGINT else EXIT_TERMINATED)
        received.append(signum)
        reason = "interrupt" if signum == signal.SIGINT else "signal"
        control.send("stop", source=reason)
        if printer.mode != "json":
            what = "interrupted" if signum == signal.SIGINT else f"signal {signal.Signals(signum).name}"
            printer.line(f"  {what}: stopping at the next batch boundary and saving (again to quit at once)")

    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, handler)
    if ignore_hup:
        signal.signal(signal.SIGHUP, signal.SIG_IGN)
