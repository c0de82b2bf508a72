"""The dashboard's top lines: run name and status, epoch and batch progress bars with ETA."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, cast

from rich.text import Text
from textual.reactive import var
from textual.widget import Widget

from tui.state import DashState, format_duration
from tui.widgets.cells import changed_regions

if TYPE_CHECKING:
    from tui.app import KwbApp

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


BAR_STYLES = {"back": "grey23", "complete": "rgb(249,38,114)", "finished": "rgb(114,156,31)"}
"""Rich's own progress-bar colours (``bar.back``, ``bar.complete``, ``bar.finished``)."""


def progress_bar(completed: int, total: int, width: int) -> Text:
    """Rich's ``ProgressBar`` as ``Text``: the same half-cell glyphs and colours, one cell per character."""
    total = max(1, total)
    halves = int(width * 2 * min(total, max(0, completed)) / total)
    full, half = divmod(halves, 2)
    done = BAR_STYLES["finished" if completed >= total else "complete"]
    bar = Text("━" * full, style=done)
    if half:
        bar.append("╸", style=done)
    rest = width - full - half
    if rest and not half and full:
        bar.append("╺", style=BAR_STYLES["back"])
        rest -= 1
    if rest:
        bar.append("━" * rest, style=BAR_STYLES["back"])
    return bar


def _cell(text: str, width: int) -> Text:
    out = Text(text, no_wrap=True)
    out.truncate(width, overflow="ellipsis", pad=True)
    return out


class RunHeader(Widget):
    """Status line plus an epoch bar and a batch bar, all drawn from one ``DashState``.

    A new state repaints only the cells that changed (a few digits, the tip of a bar),
    which keeps the terminal traffic of a live dashboard low.

    Args:
        live: the header of the app's current run: while it trains, "elapsed" counts on
            by the clock between events (a long validation sends none). Defaults to False
            (a recorded run: elapsed is what its events say).
    """

    DEFAULT_CSS = """
    RunHeader { height: 3; }
    """

    state: var[DashState] = var(DashState)
    """The dashboard state to draw."""

    TICK = 1.0
    """Seconds between two looks at the clock while a live run trains."""

    def __init__(self, *, live: bool = False, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes)
        self.live = live
        """Count elapsed on by the clock while the app's run trains (see the class docstring)."""
        self._lines: list[Text] = []

    def on_mount(self) -> None:
        if self.live:
            self.set_interval(self.TICK, self._tick)

    def _ticking(self) -> bool:
        return self.live and self.state.status == "running" and cast("KwbApp", self.app).run_active

    def _tick(self) -> None:
        if self._ticking():
            self.watch_state(self.state)  # only the seconds' digits change

    def _elapsed(self, s: DashState) -> float | None:
        """Training time, pauses left out: up to now while the run trains, else up to its latest event."""
        if self._ticking() and s.started_t is not None:
            return s.training_time(time.time())
        return s.elapsed_s

    def watch_state(self, state: DashState) -> None:
        if not self.is_mounted:
            return
        width = self.content_size.width
        lines = self._rows(state, width)
        regions = changed_regions(self._lines, lines, width) if self._lines else None
        if regions is None:
            self.refresh()
        elif regions:
            self.refresh(*regions)
        self._lines = lines

    def _status_line(self, s: DashState, width: int) -> Text:
        """Status, run, params, placement, elapsed and learning rate; what does not fit goes: the
        params first, then the placement, then the run id's date (its name stays)."""
        line = Text.assemble(Text(f" {s.status.upper()} ", style=STATUS_STYLES.get(s.status, "") + " reverse"), " ")
        if not s.run_id:
            if s.error:
                line.append(s.error.splitlines()[-1], style="red")
            else:
                line.append("no run yet — press t to train", style="dim")
            line.truncate(width, overflow="ellipsis")
            return line
        tail = Text(f"  elapsed {format_duration(self._elapsed(s))}")
        if s.learning_rate is not None:
            tail.append(f"  lr {s.learning_rate:.3g}")
        params = Text(f"  {s.params:,} params" if s.params else "")
        where = Text(f"  {placement(s)}" if s.device else "", style="cyan" if s.replicas > 1 else "")
        if s.steps_per_execution > 1:  # steps per call into TensorFlow (fit.steps_per_execution)
            where.append(f" {s.steps_per_execution} steps/exec", style="dim")
        short_id = s.run_id.split("-", 2)[-1] if s.run_id.count("-") >= 2 else s.run_id
        for run_id, extras in ((s.run_id, [params, where]), (s.run_id, [where]), (s.run_id, []), (short_id, [])):
            if len(line) + len(run_id) + sum(len(e) for e in extras) + len(tail) <= width:
                break
        out = line + Text(run_id, style="bold")
        for extra in extras:
            out.append_text(extra)
        out.truncate(max(len(line) + 1, width - len(tail)), overflow="ellipsis")
        out.append_text(tail)
        out.truncate(width, overflow="ellipsis")
        return out

    def _rows(self, s: DashState, content_width: int) -> list[Text]:
        width = max(20, content_width)
        epochs = s.epochs or 1
        shown_epoch = min(s.epoch + (0 if s.status in ("finished", "stopped", "failed", "idle") else 1), s.epochs) if s.epochs else 0
        steps = s.steps or 1
        logs = " ".join(f"{k} {v:.4f}" for k, v in list(s.batch_logs.items())[:2])
        moving = s.status in ("starting", "running")  # no ETA or speed while paused, stopping or ended
        bars = (
            (f"epoch {shown_epoch}/{s.epochs}" if s.epochs else "epoch -/-", epochs, min(s.epoch, epochs),
             f"ETA {format_duration(s.eta_run_s)}" if moving else ""),
            (f"batch {s.step}/{s.steps if s.steps else '?'}", steps, min(s.step, steps),
             f"ETA {format_duration(s.eta_epoch_s)} {_rate(s)}" if moving else logs),
        )  # fmt: skip
        # The counters are never cut (``batch 150/1…`` said nothing); the bars give way, then the right-hand text.
        label_width = max(12, *(len(label) for label, *_ in bars))
        right_width = max(1, min(max(len(right) for *_, right in bars), width - label_width - 10))
        bar_width = max(8, width - label_width - right_width - 2)
        rows = [self._status_line(s, width)]
        for label, total, completed, right in bars:
            row = _cell(label, label_width)
            row.append(" ")
            row.append_text(progress_bar(completed, total, bar_width))
            row.append(" ")
            right_text = Text(right)
            right_text.truncate(right_width, overflow="ellipsis")
            row.append_text(right_text)
            rows.append(row)
        return rows

    def on_resize(self) -> None:
        self._lines = []

    def render(self) -> Text:
        lines = self._rows(self.state, self.content_size.width)
        self._lines = lines
        return Text("\n").join(lines)
