"""The dashboard's top lines: run name and status, epoch and batch progress bars with ETA."""

from __future__ import annotations

from rich.console import Group
from rich.progress_bar import ProgressBar
from rich.table import Table
from rich.text import Text
from textual.reactive import reactive
from textual.widget import Widget

from tui.state import DashState, format_duration

__all__ = ["RunHeader", "STATUS_STYLES", "placement"]

STATUS_STYLES = {
    "idle": "dim",
    "starting": "yellow",
    "running": "bold green",
    "paused": "bold yellow",
    "stopping": "bold yellow",
    "finished": "bold cyan",
    "stopped": "bold cyan",
    "failed": "bold red",
}
"""Rich style of each run status."""


def placement(state: DashState) -> str:
    """Where the run trains: ``cpu``, or ``mirrored ×2 (gpu×2)``, ``multi_worker ×4, 2 workers (gpu×2)``."""
    if state.strategy in ("", "default") and state.replicas <= 1:
        return state.device
    workers = f", {state.workers} workers" if state.workers > 1 else ""
    return f"{state.strategy} ×{state.replicas}{workers} ({state.device})"


def _rate(state: DashState) -> str:
    if state.samples_per_s is None:
        return ""
    return f"{state.samples_per_s:,.0f} samples/s"


class RunHeader(Widget):
    """Status line plus an epoch bar and a batch bar, all drawn from one ``DashState``."""

    DEFAULT_CSS = """
    RunHeader { height: 3; }
    """

    state: reactive[DashState] = reactive(DashState)
    """The dashboard state to draw."""

    def render(self) -> Group:
        s = self.state
        width = max(20, self.content_size.width)
        status = Text(f" {s.status.upper()} ", style=STATUS_STYLES.get(s.status, "") + " reverse")
        line = Text.assemble(status, " ")
        if s.run_id:
            line.append(s.run_id, style="bold")
            line.append(f"  {s.params:,} params" if s.params else "")
            if s.device:
                line.append(f"  {placement(s)}", style="cyan" if s.replicas > 1 else "")
            line.append(f"  elapsed {format_duration(s.elapsed_s)}")
            if s.learning_rate is not None:
                line.append(f"  lr {s.learning_rate:.3g}")
        elif s.error:
            line.append(s.error.splitlines()[-1] if s.error else "", style="red")
        else:
            line.append("no run yet — press t to train", style="dim")
        line.truncate(width, overflow="ellipsis")
        bar_width = max(8, width - 44)
        grid = Table.grid(padding=(0, 1))
        grid.add_column(width=12, no_wrap=True)
        grid.add_column(width=bar_width, no_wrap=True)
        grid.add_column(no_wrap=True)
        epochs = s.epochs or 1
        shown_epoch = min(s.epoch + (0 if s.status in ("finished", "stopped", "failed", "idle") else 1), s.epochs) if s.epochs else 0
        grid.add_row(
            Text(f"epoch {shown_epoch}/{s.epochs}" if s.epochs else "epoch -/-"),
            ProgressBar(total=epochs, completed=min(s.epoch, epochs), width=bar_width),
            Text(f"ETA {format_duration(s.eta_run_s)}" if s.active else ""),
        )
        steps = s.steps or 1
        logs = " ".join(f"{k} {v:.4f}" for k, v in list(s.batch_logs.items())[:2])
        grid.add_row(
            Text(f"batch {s.step}/{s.steps if s.steps else '?'}"),
            ProgressBar(total=steps, completed=min(s.step, steps), width=bar_width),
            Text(f"ETA {format_duration(s.eta_epoch_s)} {_rate(s)}" if s.active else logs),
        )
        return Group(line, grid)
