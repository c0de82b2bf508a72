"""Verbs about runs: list them, show one, control a live one, attach the dashboard to one."""

from __future__ import annotations

import math
import shutil
import sys
from typing import Annotated, Any, Optional

import typer

from tui.commands.common import (
    EXIT_FAILED, RunArg, RunsDirOpt,
    bad_input, err, need_terminal, runs_dir_or_default,
)  # fmt: skip
from tui.families import families, headline


def runs_cmd(runs_dir: RunsDirOpt = None) -> None:
    """List runs: id, state, epochs, best validation metrics (several outputs: the total loss and each output's metrics), duration.

    A damaged run (a file missing, cut off or garbage) gets a line below its row saying what is wrong.
    """
    from engine.runs import list_runs
    from tui.headless import format_logs
    from tui.state import format_duration

    infos = list_runs(runs_dir_or_default(runs_dir))
    if not infos:
        print(f"no runs in {runs_dir_or_default(runs_dir)}/")
        return
    print(f"{'RUN':<40} {'STATE':<9} {'EPOCHS':>7} {'TIME':>8}  BEST")
    for i in infos:
        best = headline(i.best)
        epochs = f"{i.epochs_done}/{i.epochs or '?'}"
        print(f"{i.id:<40} {i.state:<9} {epochs:>7} {format_duration(i.duration_s, missing='-'):>8}  {format_logs(best)}")
        if i.damaged:
            print(f"  damaged: {i.damaged}")


def show(
    run: RunArg,
    as_csv: Annotated[bool, typer.Option("--csv", help="Print the per-epoch history as CSV (history.csv's columns) and nothing else.")] = False,
    smooth: Annotated[float, typer.Option("--smooth", help="Smooth the curves drawn on a terminal: TensorBoard's debiased moving average, weight in [0, 1), the raw curve faint behind.", show_default=False)] = 0.0,
    runs_dir: RunsDirOpt = None,
) -> None:
    """One run's summary, per-epoch history and loss curves (--csv: the history as CSV)."""
    from engine.errors import UserError
    from engine.runs import find_run, read_history, read_status, run_info
    from tui.state import format_duration

    if not 0.0 <= smooth < 1.0:
        bad_input(UserError(f"must be at least 0 and less than 1 (0.9 smooths much, 0 not at all), got {smooth:g}", key="--smooth"))
    try:
        rd = find_run(run, runs_dir_or_default(runs_dir))
    except UserError as exc:
        bad_input(exc)
    if as_csv:
        from tui.commands.export import print_history_csv

        print_history_csv(rd.path)
        return
    info = run_info(rd.path, whole_events=True)
    if info is None:  # found as a run folder, which has since gone
        bad_input(f"error:\n  RUN: {rd.path} is gone")
    status = read_status(rd.path) or {}
    print(f"run      {rd.id}")
    print(f"dir      {rd.path}")
    print(f"state    {info.state}" + (f" ({status['reason']})" if isinstance(status.get("reason"), str) else ""))
    if info.damaged:
        print(f"damaged  {info.damaged}")
    print(f"epochs   {info.epochs_done}/{info.epochs or '?'}    time {format_duration(info.duration_s, missing='-')}")
    if isinstance(status.get("error"), str):
        print(f"error    {status['error']}")
    final = status.get("evaluation") if isinstance(status.get("evaluation"), dict) else {}
    final = {k: v for k, v in final.items() if isinstance(v, (int, float)) and not isinstance(v, bool)}
    for label, logs in (("best", info.best), ("final", final)):
        for line in _log_lines(label, logs, _width()) if logs else []:
            print(line)
    history = read_history(rd.path)
    if not history:
        return
    print()
    for line in history_table(history, _width()):
        print(line)
    if len(history) >= 2 and sys.stdout.isatty():
        _plot_history(history, smooth)


def _width() -> int:
    """The terminal's columns, or 80 when the output is not a terminal (a file, a pipe, a test)."""
    return shutil.get_terminal_size((80, 24)).columns if sys.stdout.isatty() else 80


def _log_lines(label: str, logs: dict[str, float], width: int) -> list[str]:
    """``label`` and the totals, then each output's values on lines of their own (several outputs), wrapped at ``width``."""
    from tui.headless import format_logs, split_by_output

    totals, per = split_by_output(logs)
    lines = [f"{label:<9}{format_logs(totals)}"]
    for keys in per.values():
        # An output's values on one line if they fit, else its training values over its validation ones.
        halves = [keys] if 9 + len(format_logs(keys)) <= width else [
            {k: v for k, v in keys.items() if not k.startswith("val_")}, {k: v for k, v in keys.items() if k.startswith("val_")}
        ]  # fmt: skip
        lines += [" " * 9 + format_logs(half) for half in halves if half]
    return lines


CELL = 10
"""Width of one value in ``kwb show``'s tables of several outputs."""


def history_table(history: list[dict[str, float]], width: int = 80) -> list[str]:
    """``kwb show``'s per-epoch table: one row per epoch, a column per log key.

    When that is wider than ``width`` (several outputs, many metrics), one table per
    metric family instead (all losses, then the metrics), each key under its training
    name with its train and val values side by side; a family wider than ``width`` is
    split between keys.
    """
    keys = [k for k in history[0] if k != "epoch"]
    flat = ["epoch  " + "  ".join(f"{k:>14}" for k in keys)]
    flat += [f"{int(row.get('epoch', 0)) + 1:>5}  " + "  ".join(f"{row.get(k, float('nan')):>14.5g}" for k in keys) for row in history]
    if len(flat[0]) <= width:
        return flat
    blocks: list[list[tuple[str, list[str]]]] = [[]]
    used = 5
    for family in families(keys):
        groups = [(base, [k for k in (base, f"val_{base}") if k in keys]) for base in family.keys if not base.startswith("val_")]
        groups = [(base, present) for base, present in groups if present]
        size = sum(_group_width(base, present) + 3 for base, present in groups)
        if blocks[-1] and used + size > width:
            blocks.append([])
            used = 5
        for base, present in groups:
            grow = _group_width(base, present) + 3
            if blocks[-1] and used + grow > width:
                blocks.append([])
                used = 5
            blocks[-1].append((base, present))
            used += grow
    lines: list[str] = []
    for block in blocks:
        lines += [""] if lines else []
        lines.append(("epoch" + "".join(f"   {base:<{_group_width(base, present)}}" for base, present in block)).rstrip())
        lines.append(" " * 5 + "".join("   " + " ".join(f"{'val' if k.startswith('val_') else 'train':>{_cell(base, present)}}" for k in present) for base, present in block))
        for row in history:
            cells = "".join("   " + " ".join(f"{row.get(k, float('nan')):>{_cell(base, present)}.5g}" for k in present) for base, present in block)
            lines.append(f"{int(row.get('epoch', 0)) + 1:>5}{cells}")
    return lines


def _cell(base: str, present: list[str]) -> int:
    """One value's width in the group of ``base``: ``CELL``, wider when the name above needs it."""
    return max(CELL, -(-(len(base) - len(present) + 1) // len(present)))


def _group_width(base: str, present: list[str]) -> int:
    return len(present) * (_cell(base, present) + 1) - 1


def _plot_history(history: list[dict[str, float]], smooth: float = 0.0) -> None:
    """One plot per metric family (all losses, then each metric with its val_ twin), each curve labelled.

    ``smooth`` > 0 draws each curve smoothed (``tui.commands.export.smoothed_signals``) over its raw values, faint.
    """
    import plotext

    from tui.commands.export import smoothed_signals

    fig = plotext.figure
    for family in families(k for k in history[0] if k != "epoch"):
        # Only finite values: a NaN loss, or an epoch without validation (validation_freq), has no point.
        points = {key: _finite_points(history, key) for key in family.keys if key in history[0]}
        drawn = [key for key, (xs, _) in points.items() if xs]
        if not drawn:
            continue
        fig.clear()
        width = min(100, shutil.get_terminal_size().columns)
        fig.plot_size(width, 15)
        fig.theme("simple")
        fig.legend(False)  # plotext's legend box sits over the curves' start: the legend goes under the plot
        for i, key in enumerate(drawn):
            for sig in smoothed_signals(fig, plotext, *points[key], key, i, smooth):
                fig.draw(sig)
        _whole_epochs(fig, [points[k][0] for k in drawn])
        _round_values(fig, [v for k in drawn for v in points[k][1]])
        fig.title(family.title + (f"  (smooth {smooth:g})" if smooth else ""))
        fig.label("epoch", axis="x")
        print()
        print(fig.build().string())  # through print, not plotext's own writer: sys.stdout as redirected
        print(_legend_line(drawn, width))


def _whole_epochs(fig: Any, xs_per_curve: list[list[int]]) -> None:
    """Ticks at whole epochs on the x axis (plotext's own fell between them: 1.0 5.2 9.3)."""
    xs = sorted({x for xs in xs_per_curve for x in xs})
    step = max(1, math.ceil((xs[-1] - xs[0]) / 6))
    ticks = list(range(xs[0], xs[-1] + 1, step))
    fig.ruler("x").ticks(ticks, [str(t) for t in ticks])


def _round_values(fig: Any, values: list[float]) -> None:
    """The y axis on round ticks around the values, as the app's charts (a constant learning rate of 0.005
    was drawn on plotext's own -1 … 1 axis, at its 0.0 tick)."""
    from tui.widgets.chart_render import nice_range, nice_ticks

    low, high = nice_range(min(values), max(values))
    fig.ruler("y").lim(low, high)
    fig.ruler("y").ticks(*nice_ticks(low, high, 5))


def _legend_line(keys: list[str], width: int) -> str:
    """Each curve's name after a dash in its colour (``LINES``, plotext's order), on as many lines as ``width`` needs."""
    from tui.commands.export import LINES

    lines, line, used = [], [], 4
    for i, key in enumerate(keys):
        if line and used + len(key) + 6 > width:
            lines.append("    " + "   ".join(line))
            line, used = [], 4
        line.append(f"\x1b[38;5;{LINES[i % len(LINES)]}m━━\x1b[0m {key}")
        used += len(key) + 6
    return "\n".join([*lines, "    " + "   ".join(line)])


def _finite_points(history: list[dict[str, float]], key: str) -> tuple[list[int], list[float]]:
    """The epochs (from 1) and values of ``key`` where it is a finite number."""
    pairs = [(int(r["epoch"]) + 1, r[key]) for r in history if "epoch" in r and math.isfinite(r.get(key, math.nan))]
    return [e for e, _ in pairs], [v for _, v in pairs]


def control(
    run: RunArg,
    command: Annotated[str, typer.Argument(help="stop | pause | resume | checkpoint | lr-drop | set-lr")],
    value: Annotated[Optional[str], typer.Argument(help="The new learning rate, for set-lr.", show_default=False)] = None,
    factor: Annotated[Optional[float], typer.Option(help="lr-drop multiplier. Defaults to the run's controls.lr_factor.")] = None,
    timeout: Annotated[float, typer.Option(help="Seconds to wait for the acknowledgement.")] = 10.0,
    runs_dir: RunsDirOpt = None,
) -> None:
    """Send a command to a running run and wait for its acknowledgement."""
    from engine.control_client import ControlRefused, send_and_wait
    from engine.errors import UserError

    def note(line: str) -> None:
        err(f"kwb control: {line}")

    try:
        ack = send_and_wait(
            run, command, value=value, factor=factor, timeout=timeout, runs_dir=runs_dir_or_default(runs_dir), note=note
        )
    except UserError as exc:
        bad_input(exc)
    except ControlRefused as exc:
        err(f"kwb control: {exc}")
        raise typer.Exit(EXIT_FAILED) from None
    print(ack)



def attach(run: RunArg, runs_dir: RunsDirOpt = None) -> None:
    """Open the live dashboard of RUN: history first, then live; s l c p (and L) control it.

    Works on finished runs too (controls are then refused). Quitting the viewer leaves
    the run running; several viewers may attach to one run. A part of the id that
    matches several runs but one live run means the live one.
    """
    from engine.errors import UserError
    from engine.runs import find_run

    try:
        rd = find_run(run, runs_dir_or_default(runs_dir), live_wins=True)
    except UserError as exc:
        bad_input(exc)
    need_terminal("kwb attach", f"kwb show {rd.id} prints the run's summary and history")
    from tui.factory import make_app  # Textual, but no TensorFlow: attach opens at once
    from tui.terminal import guard_terminal

    app = make_app(attach=rd.path, runs_dir=rd.path.parent, warm_up=False)
    with guard_terminal():
        app.run()
