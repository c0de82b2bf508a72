"""``DataPreview``: what ``engine.data.preview`` says about the data — shapes, class balance, samples."""

from __future__ import annotations

from typing import Any

from rich.text import Text
from textual.reactive import reactive
from textual.widgets import Static

__all__ = ["DataPreview", "render_preview"]

BAR_WIDTH = 20
"""Cells of the longest class-balance bar."""


def _bar(count: int, largest: int) -> str:
    cells = round(BAR_WIDTH * count / largest) if largest else 0
    return "█" * max(cells, 1 if count else 0)


def _short(values: Any, limit: int = 6) -> str:
    if not isinstance(values, list):
        return f"{values:.3g}" if isinstance(values, float) else str(values)
    parts = [f"{v:.3g}" if isinstance(v, float) else str(v) for v in values[:limit]]
    return "[" + ", ".join(parts) + (", …" if len(values) > limit else "") + "]"


def _render_balance(out: Text, balance: dict[str, int], title: str) -> None:
    out.append(f"\n{title}\n", style="bold")
    largest = max(balance.values())
    width = min(12, max(len(str(k)) for k in balance))
    for name, count in list(balance.items())[:20]:
        out.append(f"{str(name)[:width]:>{width}} ")
        out.append(_bar(count, largest), style="green")
        out.append(f" {count}\n")
    if len(balance) > 20:
        out.append(f"… and {len(balance) - 20} more classes\n", style="dim")


def _range(r: list[float] | None) -> str:
    return f"  [{r[0]:.3g}, {r[1]:.3g}]" if r else ""


def _render_named(info: dict[str, Any], balance: bool = True) -> Text:
    """Named inputs and outputs (``preview``'s ``inputs`` / ``outputs``): one line per array, a
    class-balance block per classification output, samples as name=value."""
    out = Text()
    out.append(f"{info.get('description') or 'data'}\n", style="bold")
    counts = ", ".join(f"{s['samples']} {split}" for split, s in info.get("splits", {}).items())
    out.append(f"{counts}{' (streamed)' if info.get('streaming') else ''}\n\n")
    out.append("inputs\n", style="bold")
    for name, a in info["inputs"].items():
        out.append(f"  {name} {tuple(a['shape'])} {a['dtype']}{_range(a.get('range'))}\n")
    out.append("outputs\n", style="bold")
    for name, a in info["outputs"].items():
        kind = f"{a['num_classes']} classes" if a["task"] == "classification" else "regression"
        out.append(f"  {name} {tuple(a['shape'])} {a['dtype']} {kind}{_range(a.get('range'))}\n")
    for name, a in info["outputs"].items():
        if a.get("class_balance") and (balance or len(info["outputs"]) > 1):
            _render_balance(out, a["class_balance"], f"class balance of {name} (train)")
    samples = info.get("samples") or []
    if samples:
        out.append("\nsamples\n", style="bold")
        for s in samples:
            xs = "  ".join(f"{k}={_short(v, 4)}" for k, v in s["x"].items())
            labels = s["label"]
            ys = "  ".join(f"{k}={labels[k] if labels.get(k) is not None else _short(v)}" for k, v in s["y"].items())
            out.append(f"  {xs} → ")
            out.append(f"{ys}\n", style="cyan")
    return out


def render_preview(info: dict[str, Any], balance: bool = True) -> Text:
    """The preview dict as text: one line per split, a bar per class, a few samples.

    ``balance`` False leaves out the class balance of a single output (the picture above draws it)."""
    if "inputs" in info:
        return _render_named(info, balance)
    out = Text()
    out.append(f"{info.get('description') or 'data'}\n", style="bold")
    classes = f", {info['num_classes']} classes" if info.get("num_classes") else ""
    stream = " (streamed)" if info.get("streaming") else ""
    out.append(f"{info.get('task')}{classes}, input {tuple(info.get('input_shape') or ())}{stream}\n\n")
    for split, s in info.get("splits", {}).items():
        if not s.get("samples"):
            continue
        out.append(f"{split:<6}", style="bold")
        out.append(f"{s['samples']:>7} samples\n")
        if "x_shape" in s:
            out.append(f"  x {tuple(s['x_shape'])} {s['x_dtype']}\n  y {tuple(s['y_shape'])} {s['y_dtype']}\n", style="dim")
    counts: dict[str, int] = info.get("class_balance") or {}
    if counts and balance:
        _render_balance(out, counts, "class balance (train)")
    if info.get("x_range"):
        lo, hi = info["x_range"]
        out.append(f"\nx range [{lo:.3g}, {hi:.3g}]", style="dim")
        if info.get("y_range"):
            out.append(f"  y range [{info['y_range'][0]:.3g}, {info['y_range'][1]:.3g}]", style="dim")
        out.append("\n")
    samples = info.get("samples") or []
    if samples:
        out.append("\nsamples\n", style="bold")
        for s in samples:
            target = s["label"] if s.get("label") is not None else _short(s["y"])
            out.append(f"  {_short(s['x'])} → ")
            out.append(f"{target}\n", style="cyan")
    return out


class DataPreview(Static):
    """The latest preview, a load error, or a hint; set ``info`` / ``error`` / ``busy``."""

    info: reactive[dict[str, Any] | None] = reactive(None, always_update=True, layout=True)
    """The last ``engine.data.preview`` result."""
    error: reactive[str | None] = reactive(None, layout=True)
    """Why the data could not be loaded (a ``DataError`` or ``ConfigError`` message)."""
    busy: reactive[bool] = reactive(False, layout=True)
    """True while the data is loading."""
    balance_drawn: reactive[bool] = reactive(False, layout=True)
    """True when the picture above draws the class balance, which the text then leaves out."""

    def render(self) -> Text:
        if self.busy:
            return Text("loading data…", style="dim")
        if self.error:
            return Text.assemble(("cannot load the data\n", "bold red"), (self.error, "red"))
        if self.info is None:
            return Text("press v (or the Preview button) to load the data and summarise it", style="dim")
        return render_preview(self.info, balance=not self.balance_drawn)
