"""Verbs about runs: list them, show one, control a live one, attach the dashboard to one."""

from __future__ import annotations

import os
import sys
from typing import Annotated, Optional

import typer

from tui.commands.common import (
    EXIT_FAILED, RunArg, RunsDirOpt,
    bad_input, err, runs_dir_or_default,
)  # fmt: skip


def runs_cmd(runs_dir: RunsDirOpt = None) -> None:
    """List runs: id, state, epochs, best validation metrics, duration."""
    from engine.runs import list_runs
    from tui.headless import format_logs
    from tui.state import format_duration

    infos = list_runs(runs_dir_or_default(runs_dir))
    if not infos:
        print(f"no runs in {runs_dir_or_default(runs_dir)}/")
        return
    print(f"{'RUN':<40} {'STATE':<9} {'EPOCHS':>7} {'TIME':>8}  BEST")
    for i in infos:
        best = {k: v for k, v in i.best.items() if k.startswith("val_")} or i.best
        epochs = f"{i.epochs_done}/{i.epochs or '?'}"
        print(f"{i.id:<40} {i.state:<9} {epochs:>7} {format_duration(i.duration_s, missing='-'):>8}  {format_logs(best)}")


def show(run: RunArg, runs_dir: RunsDirOpt = None) -> None:
    """One run's summary, per-epoch history and loss curves."""
    from engine.errors import UserError
    from engine.runs import find_run, read_history, read_status, run_info
    from tui.headless import format_logs
    from tui.state import format_duration

    try:
        rd = find_run(run, runs_dir_or_default(runs_dir))
    except UserError as exc:
        bad_input(exc)
    info = run_info(rd.path)
    if info is None:  # found by its status.json, which has since gone or cannot be read
        bad_input(f"error:\n  RUN: {rd.id} has no readable status.json")
    status = read_status(rd.path) or {}
    print(f"run      {rd.id}")
    print(f"dir      {rd.path}")
    print(f"state    {info.state}" + (f" ({status['reason']})" if status.get("reason") else ""))
    print(f"epochs   {info.epochs_done}/{info.epochs}    time {format_duration(info.duration_s, missing='-')}")
    if status.get("error"):
        print(f"error    {status['error']}")
    if info.best:
        print(f"best     {format_logs(info.best)}")
    if status.get("evaluation"):
        print(f"final    {format_logs(status['evaluation'])}")
    history = read_history(rd.path)
    if not history:
        return
    keys = [k for k in history[0] if k != "epoch"]
    print()
    print("epoch  " + "  ".join(f"{k:>14}" for k in keys))
    for row in history:
        print(f"{int(row.get('epoch', 0)) + 1:>5}  " + "  ".join(f"{row.get(k, float('nan')):>14.5g}" for k in keys))
    if len(history) >= 2 and sys.stdout.isatty():
        _plot_history(history)


def _plot_history(history: list[dict[str, float]]) -> None:
    import plotext as plt

    epochs = [int(r["epoch"]) + 1 for r in history]
    plt.clear_figure()
    plt.plot_size(min(100, os.get_terminal_size().columns), 15)
    for key in ("loss", "val_loss"):
        if key in history[0]:
            plt.plot(epochs, [r.get(key, float("nan")) for r in history], label=key)
    plt.title("loss")
    plt.xlabel("epoch")
    print()
    plt.show()


def control(
    run: RunArg,
    command: Annotated[str, typer.Argument(help="stop | pause | resume | checkpoint | lr-drop | set-lr")],
    value: Annotated[Optional[float], typer.Argument(help="The new learning rate, for set-lr.")] = None,
    factor: Annotated[Optional[float], typer.Option(help="lr-drop multiplier. Defaults to the run's controls.lr_factor.")] = None,
    timeout: Annotated[float, typer.Option(help="Seconds to wait for the acknowledgement.")] = 10.0,
    runs_dir: RunsDirOpt = None,
) -> None:
    """Send a command to a running run and wait for its acknowledgement."""
    from engine.control_client import ControlRefused, send_and_wait
    from engine.errors import UserError

    try:
        ack = send_and_wait(run, command, value=value, factor=factor, timeout=timeout, runs_dir=runs_dir_or_default(runs_dir))
    except UserError as exc:
        bad_input(exc)
    except ControlRefused as exc:
        err(f"kwb control: {exc}")
        raise typer.Exit(EXIT_FAILED) from None
    print(ack)



def attach(run: RunArg, runs_dir: RunsDirOpt = None) -> None:
    """Open the live dashboard of RUN: history first, then live; s l c p (and L) control it.

    Works on finished runs too (controls are then refused). Quitting the viewer leaves
    the run running; several viewers may attach to one run.
    """
    from engine.errors import UserError
    from engine.runs import find_run

    try:
        rd = find_run(run, runs_dir_or_default(runs_dir))
    except UserError as exc:
        bad_input(exc)
    from tui.factory import make_app  # Textual, but no TensorFlow: attach opens at once
    from tui.terminal import guard_terminal

    app = make_app(attach=rd.path, runs_dir=rd.path.parent, warm_up=False)
    with guard_terminal():
        app.run()
