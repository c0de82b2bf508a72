"""Turn ``benchmarks/results/*.json`` into the performance table and its notes (docs/performance.md).

    python benchmarks/report.py            # print the table (Markdown)
    python benchmarks/report.py --write    # replace the tables between the markers in docs/performance.md
                                           # (every result) and README.md (the SUMMARY scripts: kwb against
                                           # the plain script and the tools people use instead)

Quick runs (``--quick``, files named ``*_quick.json``) are left out: the table shows full runs only.
A result file is credited to the script that wrote it: ``responsiveness_burn1.json`` comes from
``responsiveness.py --burn 1``. The notes under the table are one entry per script: what all its
rows share is said once, and only what differs is listed per row (or per group of rows).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from _common import RESULTS, ROOT  # noqa: E402

ORDER = [
    "bridge_overhead", "headless_overhead", "control_latency", "app_start", "responsiveness",
    "terminal_traffic", "app_memory", "streaming", "levers", "multi_worker", "steps_per_execution", "peers",
    "csv_read",
]  # fmt: skip
SUMMARY = ["steps_per_execution", "peers", "csv_read"]
"""The scripts whose rows README.md shows (the rest are in docs/performance.md only)."""
BEGIN, END = "<!-- perf-table:begin -->", "<!-- perf-table:end -->"
SCRIPTS = Path(__file__).resolve().parent


def _met(value: object) -> str:
    return {True: "met", False: "**not met**", None: "reported"}.get(value, str(value))  # type: ignore[arg-type]


def script_of(benchmark: str, scripts: Path = SCRIPTS) -> str:
    """The script (without ``.py``) that wrote the result named ``benchmark``.

    A variant's result carries a suffix (``responsiveness_burn1``): the longest prefix,
    cut at an underscore, that names a script in ``scripts`` wins.

    Args:
        benchmark: The ``benchmark`` field of a result file.
        scripts: The folder holding the benchmark scripts. Defaults to this file's folder.
    """
    parts = benchmark.split("_")
    for end in range(len(parts), 0, -1):
        name = "_".join(parts[:end])
        if (scripts / f"{name}.py").is_file():
            return name
    return benchmark


def load(results: Path = RESULTS) -> list[dict]:
    """Every full-run result file in ``results``, in the README's order of scripts.

    Args:
        results: The folder of result files. Defaults to ``benchmarks/results``.
    """
    docs = []
    for path in sorted(results.glob("*.json")):
        if path.stem.endswith("_quick"):
            continue
        doc = json.loads(path.read_text())
        doc.setdefault("script", script_of(doc["benchmark"]))
        docs.append(doc)
    rank = {name: i for i, name in enumerate(ORDER)}
    return sorted(docs, key=lambda d: (rank.get(d["script"], len(ORDER)), d["script"], d["benchmark"]))


def _split(text: str, sep: str) -> list[str]:
    """Split ``text`` at ``sep`` outside parentheses."""
    out, depth, start = [], 0, 0
    for i, ch in enumerate(text):
        depth += {"(": 1, ")": -1}.get(ch, 0)
        if depth == 0 and text.startswith(sep, i):
            out.append(text[start:i])
            start = i + len(sep)
    out.append(text[start:])
    return [c.strip() for c in out if c.strip()]


def _parts(note: str) -> list[list[str]]:
    """A note as clauses (``"; "``) of parts (``", "``)."""
    return [_split(clause, ", ") for clause in _split(note, "; ")]


def _join(clauses: list[list[str]], shared: set[str], want_shared: bool) -> str:
    """The shared parts (or the others), with the note's own separators."""
    kept = (", ".join(p for p in clause if (p in shared) == want_shared) for clause in clauses)
    return "; ".join(c for c in kept if c)


def _group_label(whats: list[str]) -> str:
    """What a group of rows has in common: the shared tail of their names, or the first name."""
    if len(whats) == 1:
        return whats[0]
    tail = os.path.commonprefix([w[::-1] for w in whats])[::-1]
    if ", " in tail:
        return tail.split(", ", 1)[1].strip()
    return f"{whats[0]} and {len(whats) - 1} more"


def notes(docs: list[dict]) -> list[str]:
    """One Markdown bullet per script: the shared clauses once, then what differs per row (group)."""
    by_script: dict[str, list[dict]] = {}
    for doc in docs:
        by_script.setdefault(doc["script"], []).extend(r for r in doc["rows"] if r.get("note"))
    lines = []
    for script, rows in by_script.items():
        if not rows:
            continue
        split = [_parts(r["note"]) for r in rows]
        flat = [{p for clause in note for p in clause} for note in split]
        shared = set.intersection(*flat)
        groups: dict[str, list[str]] = {}
        for row, clauses in zip(rows, split):
            extra = _join(clauses, shared, want_shared=False)
            if extra:
                groups.setdefault(extra, []).append(row["what"])
        common = _join(split[0], shared, want_shared=True)
        items = [f"*{_group_label(whats)}*: {extra}." for extra, whats in groups.items()]
        if len(items) == 1 and not common:
            items = [next(iter(groups)) + "."]
        lines.append(" ".join([f"- `{script}.py`:", *([common + "."] if common else []), *items]))
    return lines


def render(docs: list[dict]) -> str:
    """The Markdown table, the machines it ran on, and the notes."""
    lines = ["| what | measured | target | | script |", "|---|---|---|---|---|"]
    machines = {}
    for doc in docs:
        m = doc["machine"]
        machines[(m.get("cpu"), m.get("cores"), m.get("memory_gib"))] = m
        for row in doc["rows"]:
            cells = [str(row.get(k, "")).replace("|", "\\|") for k in ("what", "measured", "target")]
            lines.append(
                f"| {' | '.join(cells)} | {_met(row.get('met'))} | "
                f"`{doc['script']}.py` |"
            )
    lines.append("")
    for m in machines.values():
        versions = ", ".join(f"{k} {m[k]}" for k in ("tensorflow", "keras", "textual") if k in m)
        lines.append(
            f"Machine: {m.get('cpu')}, {m.get('cores')} cores, {m.get('memory_gib')} GiB, Python {m.get('python')}"
            + (f", {versions}" if versions else "")
            + f", {m.get('os')}."
        )
    bullets = notes(docs)
    if bullets:
        lines += ["", "Notes:", *bullets]
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--write", action="store_true", help="write the table into docs/performance.md between the markers")
    args = parser.parse_args()
    docs = load()
    table = render(docs)
    if not args.write:
        print(table)
        return
    summary = render([d for d in docs if d["script"] in SUMMARY and not d["benchmark"].endswith("_auto")])
    for target, text in ((ROOT / "docs" / "performance.md", table), (ROOT / "README.md", summary)):
        write_between_markers(target, text)
        print(f"wrote the table into {target}")


def write_between_markers(target: Path, table: str) -> None:
    """Replace what lies between ``BEGIN`` and ``END`` in ``target`` (written to a temporary name, then renamed)."""
    text = target.read_text()
    if BEGIN not in text or END not in text:
        sys.exit(f"{target} has no {BEGIN} … {END} markers")
    head, rest = text.split(BEGIN, 1)
    _, tail = rest.split(END, 1)
    tmp = target.with_name(target.name + ".tmp")
    tmp.write_text(head + BEGIN + "\n" + table + END + tail)
    os.replace(tmp, target)


if __name__ == "__main__":
    main()
