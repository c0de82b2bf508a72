"""Runs compared: the settings that differ between runs, next to their epochs, duration and best and final metrics.

UI-free; ``kwb compare`` prints it, the Runs screen shows it as columns. A run's settings
are its config.yaml (or, for a run of a user's own ``fit``, its script.json) flattened to
key paths (``compile.optimizer.learning_rate``, ``model.layers[0].units``); the columns
are the paths whose values are not the same in every run, each under a short name people
read (``lr``, ``layers[0].units``, ``batch_size``). A layer ``{Dense: {units: 16}}`` is
read as the path ``model.layers[0]`` (its class) and its arguments under it, so two runs
with different layer classes differ in one column, not in two absent ones. A section that
is off in one run (``early_stopping: null``) and set in another differs in one column
(``off`` / ``on``); its own keys count only among the runs that have it.

Only comparable values make a column: a script run's script.json is read under a config's
key paths (:func:`script_settings`: its optimizer, ``fit`` arguments and ``--options``, never
its model summary, argv or working directory); text longer than :data:`LONGEST` never
counts; a key that only the other kind of run has (a config's ``seed``) is no difference.
The settings people vary most (:data:`FIRST`) lead; every cell is cut to :data:`CELL_WIDTH`.

Best values take each metric's direction from :func:`engine.callbacks.monitor.metric_direction`;
they come from history.csv, else from status.json's ``best``. A damaged run (no readable
config, no history) is shown with what can be read: its unknown settings read ``?`` and
take no part in deciding which settings differ.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable

from engine import events as ev
from engine.callbacks.monitor import best_of, metric_direction
from engine.runs import RunInfo, read_events, read_history, run_info

__all__ = [
    "Comparison",
    "RunRow",
    "SortKey",
    "compare_rows",
    "compare_runs",
    "differing_paths",
    "flatten",
    "format_value",
    "run_labels",
    "run_settings",
    "script_settings",
    "short_names",
]

IGNORED = ("name", "output.runs_dir", "fit.epochs")
"""Paths never shown as a differing setting: the name is in the run's id, the planned epochs in its epochs column."""

FIRST = ("compile.optimizer.learning_rate", "fit.batch_size", "fit.epochs", "compile.optimizer.name")
"""The settings people vary most, shown before the rest (which keep config order): learning rate, batch size, epochs, optimizer."""

CELL_WIDTH = 24
"""The most characters a setting's cell takes in a table; a longer value ends in an ellipsis (``--csv`` keeps it whole)."""

LONGEST = 80
"""A setting whose value reads longer than this (or over several lines) is text, not a comparable setting: never a column."""

RESERVED = ("run", "state", "epochs", "duration")
"""Column names a setting's short name never takes (a script's ``--epochs`` reads ``args.epochs``)."""

ALIASES = {"learning_rate": "lr", "reduce_lr_on_plateau": "plateau"}
"""Shorter words for long path segments people know."""

ON = "on"
"""The value of a section that is set (a mapping) where another run has it off."""
OFF = "off"
"""The value of such a section where a run has it ``null``."""
MISSING = "-"
"""The value of a key a run does not have."""
UNKNOWN = "?"
"""A setting of a run whose settings could not be read."""


def flatten(value: Any, prefix: str = "") -> dict[str, Any]:
    """A config as ``{key path: leaf value}``: mappings and lists of mappings opened, lists of scalars kept whole.

    A layer (a mapping with one capitalised key, ``{Dense: {...}}``) gives its class at its
    own path and its arguments under it (``model.layers[0]``: ``Dense``, ``model.layers[0].units``: 16).
    """
    out: dict[str, Any] = {}
    if isinstance(value, dict) and value:
        if len(value) == 1 and _is_layer(value):
            (cls, args), = value.items()
            out[prefix] = cls
            out.update(flatten(args, prefix) if isinstance(args, dict) else {})
            return out
        for key, sub in value.items():
            out.update(flatten(sub, f"{prefix}.{key}" if prefix else str(key)))
    elif isinstance(value, list) and any(isinstance(v, dict) for v in value):
        for i, sub in enumerate(value):
            out.update(flatten(sub, f"{prefix}[{i}]"))
    else:
        out[prefix] = value
    return out


def _is_layer(value: dict[str, Any]) -> bool:
    key = next(iter(value))
    return isinstance(key, str) and key[:1].isupper() and isinstance(value[key], (dict, type(None)))


def _parent(path: str) -> str:
    """``a.b[2].c`` -> ``a.b[2]``; ``a.b[2]`` -> ``a.b``; ``a`` -> ``""``."""
    cut = max(path.rfind("."), path.rfind("["))
    return path[:cut] if cut > 0 else ""


def _ancestors(path: str) -> list[str]:
    """``a.b[2].c`` -> ``["a.b[2]", "a.b", "a"]``."""
    out = []
    while path := _parent(path):
        out.append(path)
    return out


def _containers(flat: dict[str, Any]) -> set[str]:
    """Every path that holds other paths in ``flat`` (the root ``""`` included)."""
    out = {""}
    for path in flat:
        while (path := _parent(path)) and path not in out:
            out.add(path)
    return out


def _identity(value: Any) -> str:
    return json.dumps(value, sort_keys=True, default=str)


def _value_in(flat: dict[str, Any], containers: set[str], path: str) -> tuple[bool, Any]:
    """(counted, value) of ``path`` in one run: not counted where the section holding it is off."""
    if path in flat:
        return True, flat[path]
    if path in containers:
        return True, ON
    if _parent(path) in containers:
        return True, MISSING
    return False, None


def differing_paths(settings: list[dict[str, Any] | None], kinds: list[str] | None = None) -> list[str]:
    """The key paths whose values are not the same in every run, in config order.

    Only comparable values count: a path is never chosen when some run's value is long or
    multi-line text (:data:`LONGEST`). A key a run lacks (``-``) counts only against runs
    of its own kind: a config run's ``seed`` or ``data`` section says nothing about a
    script run, which has neither.

    Args:
        settings: each run's flattened settings (:func:`flatten`); None for a run whose
            settings could not be read (it takes no part).
        kinds: each run's kind (``config`` or ``script``), beside ``settings``. Defaults to
            None: all of one kind.
    """
    known = [(s, k) for s, k in zip(settings, kinds or ["config"] * len(settings)) if s is not None]
    containers = [_containers(s) for s, _ in known]
    order: dict[str, None] = {}
    for flat, _ in known:
        for path in flat:
            # A section goes where its first key is (one run's ``early_stopping: null`` beside another's keys).
            order.update(dict.fromkeys(reversed(_ancestors(path))))
            order[path] = None
    out = []
    for path in order:
        if path in IGNORED:
            continue
        values = [(kind, v) for (flat, kind), cont in zip(known, containers) for counted, v in [_value_in(flat, cont, path)] if counted]
        if not all(_comparable(v) for _, v in values):
            continue
        having = {kind for kind, v in values if v != MISSING}
        seen = {_identity(v) for kind, v in values if v != MISSING or kind in having}
        if len(seen) > 1:
            out.append(path)
    return out


def _comparable(value: Any) -> bool:
    """A value a table cell can hold and a reader compare: a scalar, or a short list of them (``[2]``), never text pages."""
    if isinstance(value, str):
        return "\n" not in value and len(value) <= LONGEST
    if isinstance(value, (list, tuple, dict)):
        return len(format_value(value)) <= LONGEST and "\n" not in format_value(value)
    return True


def by_interest(paths: list[str]) -> list[str]:
    """``paths`` with the settings of :data:`FIRST` first, in that order; the rest keep theirs."""
    return [p for p in FIRST if p in paths] + [p for p in paths if p not in FIRST]


def ellipsized(text: str, width: int = CELL_WIDTH) -> str:
    """``text`` cut to ``width`` characters, its end an ellipsis when it was longer."""
    return text if len(text) <= width else text[: width - 1] + "…"


def _segments(path: str) -> list[str]:
    """``model.layers[0].units`` -> ``["model", "layers[0]", "units"]``."""
    return [part for part in path.split(".") if part]


def short_names(paths: list[str]) -> dict[str, str]:
    """Each path's shortest tail that no other path shares, nor a fixed column (``lr``, ``layers[0].units``, ``batch_size``, ``plateau.patience``).

    A key keeps the section it belongs to (``plateau.patience``, ``optimizer.name``) unless
    that section is one of the config's top-level ones (``fit.batch_size`` reads
    ``batch_size``) or the key has a short name of its own (``learning_rate`` reads ``lr``);
    a tail never starts right after a list index, so a layer argument keeps its layer
    (``layers[0].units``, never ``units``).
    """
    parts = {p: [ALIASES.get(s, s) for s in _segments(p)] for p in paths}

    def tail(path: str, n: int) -> str:
        segs = parts[path]
        start = max(0, len(segs) - n)
        while start > 0 and segs[start - 1].endswith("]") and not segs[start].endswith("]"):
            start -= 1  # keep the layer (or list item) a key belongs to
        return ".".join(segs[start:])

    names: dict[str, str] = {}
    for path in paths:
        segs = _segments(path)
        n = 1 if len(segs) <= 2 or segs[-1] in ALIASES else 2
        while n < len(parts[path]) and (tail(path, n) in RESERVED or any(tail(other, n) == tail(path, n) for other in paths if other != path)):
            n += 1
        names[path] = tail(path, n)
    return names


def format_value(value: Any) -> str:
    """A setting or metric as a table cell: ``0.001``, ``relu``, ``[2]``, ``-`` for None."""
    if value is None:
        return MISSING
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, float):
        return f"{value:.4g}" if math.isfinite(value) else str(value)
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(format_value(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k}: {format_value(v)}" for k, v in value.items()) + "}"
    return str(value)


def run_settings(path: str | Path) -> dict[str, Any] | None:
    """A run's settings flattened: its config.yaml, else its script.json (:func:`script_settings`); None when neither can be read."""
    from engine.config_io import yaml_load  # PyYAML only when asked

    run = Path(path)
    for name, load in (("config.yaml", yaml_load), ("script.json", json.loads)):
        try:
            raw = load((run / name).read_text(encoding="utf-8"))
        except FileNotFoundError:
            continue
        except Exception:  # a torn or hand-broken file: this run's settings are unknown
            return None
        if not isinstance(raw, dict):
            return None
        return flatten(raw) if name == "config.yaml" else script_settings(raw)
    return None


SCRIPT_FIT = ("epochs", "batch_size", "steps_per_epoch", "validation_split", "validation_steps")
"""The ``fit`` arguments script.json records that are settings (its data descriptions, ``ndarray (4000, 8)``, are not)."""


def script_settings(script: dict[str, Any]) -> dict[str, Any]:
    """A script run's settings (its script.json) under a config's key paths, so script and config runs line up.

    ``fit``'s arguments as ``fit.batch_size`` …, the optimizer as ``compile.optimizer.name``
    and ``compile.optimizer.learning_rate``, the loss as ``compile.loss``, the script's file
    name as ``script``, and its command-line options as ``args.<option>`` (``--lr 0.01`` and
    ``--lr=0.01`` read ``args.lr: 0.01``). What is not a setting stays out: the model
    summary, the working directory, argv, versions, the time it was recorded.
    """
    out: dict[str, Any] = {}
    if isinstance(script.get("script"), str):
        out["script"] = Path(script["script"]).name
    fit = script.get("fit") if isinstance(script.get("fit"), dict) else {}
    out.update({f"fit.{k}": fit[k] for k in SCRIPT_FIT if k in fit})
    compiled = script.get("compile") if isinstance(script.get("compile"), dict) else {}
    if compiled:  # older script.json files do not record it
        out.update({k: v for k, v in flatten(compiled, "compile").items() if k.count(".") <= 2})
    args = script.get("args")
    out.update({f"args.{k}": v for k, v in _options(args if isinstance(args, list) else []).items()})
    return out


def _options(args: list[Any]) -> dict[str, Any]:
    """``["--lr", "0.01", "--deep", "-b=8"]`` -> ``{"lr": 0.01, "deep": True, "b": 8}``; positional words are left out."""
    out: dict[str, Any] = {}
    words = [str(a) for a in args]
    for i, word in enumerate(words):
        if not word.startswith("-") or word in ("-", "--") or _number(word) is not None:
            continue
        key, eq, value = word.lstrip("-").partition("=")
        if not eq:
            following = words[i + 1] if i + 1 < len(words) else None
            takes = following is not None and (not following.startswith("-") or _number(following) is not None)
            value = following if takes else True  # type: ignore[assignment]
        out[key] = _number(value) if isinstance(value, str) and _number(value) is not None else value
    return out


def _number(text: str) -> int | float | None:
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            continue
    return None


@dataclass
class RunRow:
    """One run's row: what it is, its settings, and its results."""

    info: RunInfo
    settings: dict[str, Any] | None
    """Flattened settings; None when they could not be read."""
    best: dict[str, float] = field(default_factory=dict)
    final: dict[str, float] = field(default_factory=dict)
    damaged: list[str] = field(default_factory=list)
    """What is wrong with the run's files, in words (``config.yaml cannot be read``); empty for a sound run."""

    @property
    def id(self) -> str:
        return self.info.id

    @property
    def kind(self) -> str:
        """``config`` for a run of a config (config.yaml), ``script`` for one of a user's own ``fit`` (script.json only)."""
        path = self.info.path
        return "script" if not (path / "config.yaml").exists() and (path / "script.json").exists() else "config"

    def setting(self, path: str) -> Any:
        """The value of ``path`` in this run (``?`` unknown, ``-`` absent, ``on`` a section that is set)."""
        if self.settings is None:
            return UNKNOWN
        counted, value = _value_in(self.settings, _containers(self.settings), path)
        return value if counted else MISSING


@dataclass(frozen=True)
class SortKey:
    """A column to sort by: a setting's path, ``best_<metric>``, ``final_<metric>``, ``epochs``, ``duration`` or ``run``."""

    column: str
    descending: bool = False


@dataclass
class Comparison:
    """Runs side by side: the differing settings as columns, metrics best and final."""

    rows: list[RunRow]
    settings: list[str]
    """The differing key paths: :data:`FIRST` first, the rest in config order."""
    names: dict[str, str]
    """Each differing path's short name."""
    metrics: list[str]
    """Every metric any run logged: validation ones first, each half led by its loss."""
    sections: set[str] = field(default_factory=set)
    """Differing paths that are a section set in some run: where another has None, it reads ``off``."""

    def columns(self) -> list[str]:
        """Every sortable column: run, state, epochs, each setting's short name, best_ and final_ of each metric, duration."""
        return ["run", "state", "epochs", *(self.names[p] for p in self.settings),
                *(f"best_{m}" for m in self.metrics), *(f"final_{m}" for m in self.metrics), "duration"]  # fmt: skip

    def resolve(self, column: str) -> str:
        """A column given by short name, key path or metric name (``val_loss`` is ``best_val_loss``); KeyError otherwise."""
        by_name = {self.names[p]: p for p in self.settings}
        if column in by_name or column in ("run", "state", "epochs", "duration"):
            return column
        if column in self.settings:
            return self.names[column]
        if column in self.metrics:
            return f"best_{column}"
        if column in self.columns():
            return column
        raise KeyError(column)

    def value(self, row: RunRow, column: str) -> Any:
        """The raw value of ``column`` (as :meth:`columns` names it) in ``row``."""
        info = row.info
        if column == "run":
            return info.id
        if column == "state":
            return info.state
        if column == "epochs":
            return info.epochs_done
        if column == "duration":
            return info.duration_s
        for prefix, source in (("best_", row.best), ("final_", row.final)):
            if column.startswith(prefix) and column[len(prefix):] in self.metrics:
                return source.get(column[len(prefix):])
        path = next(p for p in self.settings if self.names[p] == column)
        value = row.setting(path)
        return OFF if value is None and path in self.sections else value

    def cell(self, row: RunRow, column: str) -> str:
        """``column``'s value in ``row`` as text of at most :data:`CELL_WIDTH` characters: epochs as done/planned; a duration in seconds (callers format it)."""
        if column == "epochs":
            info = row.info
            return f"{info.epochs_done}/{info.epochs}" if info.epochs else str(info.epochs_done)
        value = format_value(self.value(row, column))
        return value if column in ("run", "state") else ellipsized(value)

    def sorted(self, key: SortKey) -> list[RunRow]:
        """The rows ordered by ``key``: numbers by value, then text; unknown and missing values last either way."""
        column = self.resolve(key.column)
        present = [r for r in self.rows if _sortable(self.value(r, column))]
        absent = [r for r in self.rows if not _sortable(self.value(r, column))]
        present.sort(key=lambda r: _order(self.value(r, column)), reverse=key.descending)
        return present + absent

    def default_descending(self, column: str) -> bool:
        """Best first for a metric (higher first where higher is better), else ascending."""
        for prefix in ("best_", "final_"):
            if column.startswith(prefix):
                return metric_direction(None, column[len(prefix):]) == "max"
        return False


def _sortable(value: Any) -> bool:
    if isinstance(value, float):
        return math.isfinite(value)
    return value is not None and value not in (MISSING, UNKNOWN)


def _order(value: Any) -> tuple[int, float, str]:
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return (0, float(value), "")
    return (1, 0.0, format_value(value))


def _results(path: Path, info: RunInfo) -> tuple[dict[str, float], dict[str, float], bool]:
    """(best, final, any epoch readable) of one run: from history.csv, else its events, else status.json's best."""
    try:
        history = read_history(path)
    except (OSError, UnicodeDecodeError, ValueError):
        history = []
    if not history:
        history = [dict(e.logs) for e in read_events(path) if isinstance(e, ev.EpochEnded)]
    if not history:
        return dict(info.best), {}, False
    final = {k: v for k, v in history[-1].items() if k not in ("epoch", "learning_rate")}
    return best_of(history), final, True


def _row(path: Path) -> RunRow | None:
    info = run_info(path)
    if info is None:
        return None
    settings = run_settings(path)
    best, final, any_epoch = _results(path, info)
    damaged = [info.damaged] if info.damaged else []  # engine.runs' own finding (status.json, events, files)
    for name in ("config.yaml", "script.json"):
        if settings is None and (path / name).exists():
            damaged.append(f"{name} cannot be read")
            break
    if not any_epoch and info.epochs_done > 0:
        damaged.append("no epoch's metrics can be read")
    return RunRow(info, settings, best, final, damaged)


def _metric_order(rows: Iterable[RunRow]) -> list[str]:
    seen: dict[str, None] = {}
    for row in rows:
        seen.update(dict.fromkeys(row.best))
        seen.update(dict.fromkeys(row.final))
    # Validation first, each half led by its loss: the headline people sort by.
    return sorted(seen, key=lambda m: (not m.startswith("val_"), m.removeprefix("val_") != "loss"))


def compare_runs(paths: Iterable[str | Path]) -> Comparison:
    """The comparison of the runs in ``paths`` (run directories); a directory without a readable status.json is left out."""
    return compare_rows([row for p in paths if (row := _row(Path(p))) is not None])


def compare_rows(rows: list[RunRow]) -> Comparison:
    """The comparison of runs already read (a subset of another comparison's rows: what differs among just those)."""
    settings = by_interest(differing_paths([r.settings for r in rows], [r.kind for r in rows]))
    sections = {p for p in settings if any(r.setting(p) == ON for r in rows)}
    return Comparison(rows, settings, short_names(settings), _metric_order(rows), sections)


def run_labels(comparison: Comparison, limit: int = 2) -> dict[str, str]:
    """A short, distinct label per run for a legend: its differing settings (``units=64 lr=0.01``).

    Up to ``limit`` settings, each under the last word of its short name where no other
    shown setting ends in the same word (``layers[0].units`` reads ``units``); where that
    leaves two runs alike (or no setting differs), the run's name, or its id without the
    date when names repeat.
    """
    names = [r.info.name for r in comparison.rows]
    fallback = {r.id: r.info.name if names.count(r.info.name) == 1 else r.id.split("-", 1)[-1] for r in comparison.rows}
    shown = [comparison.names[p] for p in comparison.settings[:limit]]
    words = [name.rsplit(".", 1)[-1] for name in shown]
    keys = [word if words.count(word) == 1 else name for name, word in zip(shown, words)]
    labels = {
        r.id: " ".join(f"{key}={format_value(comparison.value(r, name))}" for key, name in zip(keys, shown)) or fallback[r.id]
        for r in comparison.rows
    }
    values = list(labels.values())
    return {rid: text if values.count(text) == 1 or text == fallback[rid] else f"{fallback[rid]} {text}" for rid, text in labels.items()}
