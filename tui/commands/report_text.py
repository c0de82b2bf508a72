"""The evaluation report (``engine.report``) as plain text for ``kwb evaluate --report``.

Light: pure Python and, for a regression output's scatter, plotext (imported there).
"""

from __future__ import annotations

import shutil
import sys
from typing import Any

__all__ = ["evaluation_report", "report_text"]


def evaluation_report(rd: Any, model: Any, cfg: Any, data: Any, scores: dict[str, float], as_json: bool, store: bool) -> None:
    """``kwb evaluate --report``: build the report on ``data`` (``engine.eval_data.EvalData``) and print it.

    Args:
        rd: the run directory (its class names; where report.json goes).
        model: the run's loaded model.
        cfg: the run's config with the user's ``--set`` overrides.
        data: what to score.
        scores: ``model.evaluate``'s results, printed beside the report.
        as_json: print one JSON object instead of text.
        store: (re)write the run's report.json: only for its own data and default split, so the
            stored report always describes what the run itself was scored on.
    """
    import json

    from engine.preprocessing import class_names
    from engine.report import build_report, write_report

    report = build_report(model, cfg, x=data.x if data.ds is None else None, y=data.y, ds=data.ds,
                          classes=class_names(rd.path), split=data.split.value)  # fmt: skip
    report["scores"] = scores
    stored = write_report(rd.path, report) if store else None
    if as_json:
        print(json.dumps(report))
        return
    where = f" of {cfg.data.path}" if data.other_data and cfg.data.path else ""
    print(f"{rd.id} on {data.split.value}{where} ({data.samples} samples): "
          + "  ".join(f"{k} {v:.4g}" for k, v in scores.items()))  # fmt: skip
    print()
    print(report_text(report))
    if stored is not None:
        print(f"\nstored as {stored}")


def report_text(report: dict[str, Any]) -> str:
    """Every output's part of the report, one after another."""
    parts = []
    for out in report.get("outputs", []):
        title = f"output {out['name']}: " if out.get("name") else ""
        if out.get("kind") == "classification":
            parts.append(title + _classification(out))
        elif out.get("kind") == "regression":
            parts.append(title + _regression(out))
        else:
            parts.append(title + str(out.get("note", "no report")))
    return "\n\n".join(parts)


def _classification(out: dict[str, Any]) -> str:
    classes, matrix = out["classes"], out["matrix"]
    width = max(6, *(len(c) for c in classes), *(len(str(v)) for row in matrix for v in row))
    lines = [f"classification: accuracy {out['accuracy']:.4f} on {out['samples']} samples",
             "confusion matrix (rows: true class, columns: predicted)",
             " " * (width + 2) + "".join(f" {c:>{width}}" for c in classes)]  # fmt: skip
    for name, row in zip(classes, matrix):
        lines.append(f"  {name:>{width}}" + "".join(f" {v:>{width}}" for v in row))
    name_w = max(len("weighted avg"), *(len(c) for c in classes))
    lines += ["", f"  {'class':<{name_w}}  precision  recall     f1  support"]
    for row in out["per_class"]:
        lines.append(f"  {row['class']:<{name_w}}  {row['precision']:>9.3f}  {row['recall']:>6.3f}  "
                     f"{row['f1']:>5.3f}  {row['support']:>7}")  # fmt: skip
    for avg in ("macro", "weighted"):
        a = out[avg]
        lines.append(f"  {avg + ' avg':<{name_w}}  {a['precision']:>9.3f}  {a['recall']:>6.3f}  {a['f1']:>5.3f}")
    pairs = out.get("confused") or []
    lines.append("")
    if pairs:
        lines.append("most confused (true -> predicted): " + ", ".join(
            f"{p['true']} -> {p['predicted']} ({p['count']})" for p in pairs))  # fmt: skip
    else:
        lines.append("no confusions: every sample was classified correctly")
    return "\n".join(lines)


def _regression(out: dict[str, Any]) -> str:
    def num(v: Any) -> str:
        return "n/a" if v is None else f"{v:.6g}"

    lines = [f"regression: MAE {num(out['mae'])}  RMSE {num(out['rmse'])}  R² {num(out['r2'])} on {out['samples']} samples"]
    edges, counts = out["residuals"]["edges"], out["residuals"]["counts"]
    if counts:
        top = max(counts) or 1
        lines.append("residuals (predicted - actual):")
        for lo, hi, c in zip(edges, edges[1:], counts):
            lines.append(f"  {lo:>10.4g} .. {hi:<10.4g} {'#' * round(30 * c / top):<30} {c}")
    scatter = out.get("scatter") or {}
    if scatter.get("actual"):
        lines.append(_scatter(scatter["actual"], scatter["predicted"]))
    return "\n".join(lines)


def _scatter(actual: list[float], predicted: list[float]) -> str:
    """Predicted against actual, with the y = x line a perfect model would sit on (colours on a terminal only)."""
    import plotext

    from tui.widgets.picture_render import predicted_vs_actual

    drawing = predicted_vs_actual(actual, predicted, min(80, shutil.get_terminal_size().columns), 18)
    return drawing if sys.stdout.isatty() else plotext.uncolorize(drawing)
