"""The evaluation report (``engine.report``'s ``report.json``) drawn in the app: a shaded confusion matrix, per-class scores, confused pairs.

Pure rendering from the report dict (no engine import, no TensorFlow): the screen that
owns the run reads the file and sets :attr:`ReportView.report`.
"""

from __future__ import annotations

from typing import Any

from rich.console import Console, ConsoleOptions, Group, RenderableType, RenderResult
from rich.table import Table
from rich.text import Text
from textual.reactive import reactive
from textual.widgets import Static

__all__ = ["SHADES", "ReportView", "render_report"]

SHADES = ("grey11", "grey23", "dark_blue", "blue3", "blue1", "dodger_blue1")
"""Cell backgrounds from none to all of a true class's samples (the row's share)."""


class ReportView(Static):
    """One run's evaluation report; empty text says there is none."""

    DEFAULT_CSS = """
    ReportView { width: 100%; height: auto; }
    """

    report: reactive[dict[str, Any] | None] = reactive(None, layout=True)
    """The report as ``report.json`` holds it; None shows that the run has none."""

    def watch_report(self, report: dict[str, Any] | None) -> None:
        self.update(render_report(report))


def render_report(report: dict[str, Any] | None) -> RenderableType:
    """Every output's part of ``report``, one under another."""
    if not report or not report.get("outputs"):
        return Text("No evaluation report for this run (runs from before kwb wrote one: kwb evaluate RUN --report).")
    head = Text(f"Evaluation report: {report.get('split', '?')} split, {report.get('samples', 0)} samples", style="bold")
    parts: list[RenderableType] = [head]
    for out in report["outputs"]:
        title = f"output {out['name']}: " if out.get("name") else ""
        if out.get("kind") == "classification":
            parts += _classification(out, title)
        elif out.get("kind") == "regression":
            parts += _regression(out, title)
        else:
            parts.append(Text(title + str(out.get("note", "not reported"))))
    return Group(*parts)


def _shade(count: int, row_total: int) -> str:
    share = count / row_total if row_total else 0.0
    return SHADES[min(len(SHADES) - 1, round(share * (len(SHADES) - 1)))] if count else SHADES[0]


def _classification(out: dict[str, Any], title: str) -> list[RenderableType]:
    classes, matrix = out["classes"], out["matrix"]
    heading = Text(f"{title}confusion matrix (rows: true, columns: predicted)  accuracy {out['accuracy']:.3f}", style="bold")
    grid = Table(box=None, padding=(0, 1), show_edge=False)
    grid.add_column("true \\ pred", style="bold", no_wrap=True)
    for name in classes:
        grid.add_column(name[:10], justify="right", no_wrap=True)
    for i, (name, row) in enumerate(zip(classes, matrix)):
        total = sum(row)
        grid.add_row(name, *(Text(f"{v}", style=f"{'bold ' if i == j else ''}white on {_shade(v, total)}")
                             for j, v in enumerate(row)))  # fmt: skip
    scores = Table(box=None, padding=(0, 1), show_edge=False)
    for head in ("class", "precision", "recall", "f1", "support"):
        scores.add_column(head, justify="left" if head == "class" else "right", no_wrap=True)
    for r in out["per_class"]:
        scores.add_row(r["class"], f"{r['precision']:.3f}", f"{r['recall']:.3f}", f"{r['f1']:.3f}", str(r["support"]))
    for avg in ("macro", "weighted"):
        a = out[avg]
        scores.add_row(Text(f"{avg} avg", style="dim"), f"{a['precision']:.3f}", f"{a['recall']:.3f}", f"{a['f1']:.3f}", "")
    pairs = out.get("confused") or []
    confused = Text("most confused (true → predicted): ", style="bold")
    confused.append(", ".join(f"{p['true']} → {p['predicted']} ({p['count']})" for p in pairs) or "none")
    return [Text(""), heading, grid, Text(""), scores, Text(""), confused]


def _regression(out: dict[str, Any], title: str) -> list[RenderableType]:
    def num(v: Any) -> str:
        return "n/a" if v is None else f"{v:.4g}"

    lines: list[RenderableType] = [Text(""), Text(f"{title}regression: MAE {num(out['mae'])}  RMSE {num(out['rmse'])}  "
                                                  f"R² {num(out['r2'])}  ({out['samples']} samples)", style="bold")]  # fmt: skip
    edges, counts = out["residuals"]["edges"], out["residuals"]["counts"]
    top = max(counts, default=0) or 1
    lines.append(Text("residuals (predicted − actual)"))
    for lo, hi, c in zip(edges, edges[1:], counts):
        lines.append(Text(f"{lo:>9.3g} .. {hi:<9.3g} " + "█" * round(24 * c / top) + f" {c}"))
    scatter = out.get("scatter") or {}
    if scatter.get("actual"):
        lines += [Text(""), _Scatter(scatter["actual"], scatter["predicted"])]
    return lines


class _Scatter:
    """Predicted against actual, drawn at the width the report is given (at most 100 cells)."""

    def __init__(self, actual: list[float], predicted: list[float]) -> None:
        self.actual, self.predicted = actual, predicted

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        from tui.widgets.picture_render import predicted_vs_actual

        width = min(100, options.max_width)
        if width < 20:
            return
        try:
            drawing = predicted_vs_actual(self.actual, self.predicted, width, 16)
        except Exception as exc:  # a plotting bug must never take the app down
            yield Text(f"cannot draw the scatter: {exc!r}", style="red")
            return
        yield Text.from_ansi(drawing, no_wrap=True)
