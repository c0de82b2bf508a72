"""Turn ``benchmarks/results/*.json`` into the README's Performance table.

    python benchmarks/report.py            # print the table (Markdown)
    python benchmarks/report.py --readme   # replace the table between the markers in README.md

Quick runs (``--quick``, files named ``*_quick.json``) are left out: the table shows full runs only.
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
    "terminal_traffic", "app_memory", "streaming", "levers", "multi_worker",
]  # fmt: skip
BEGIN, END = "<!-- perf-table:begin -->", "<!-- perf-table:end -->"


def _met(value: object) -> str:
    return {True: "met", False: "**not met**", None: "reported"}.get(value, str(value))  # type: ignore[arg-type]


def load() -> list[dict]:
    docs = []
    for path in sorted(RESULTS.glob("*.json")):
        if path.stem.endswith("_quick"):
            continue
        docs.append(json.loads(path.read_text()))
    rank = {name: i for i, name in enumerate(ORDER)}
    return sorted(docs, key=lambda d: (rank.get(d["benchmark"], len(ORDER)), d["benchmark"]))


def render(docs: list[dict]) -> str:
    lines = ["| what | measured | target | | script |", "|---|---|---|---|---|"]
    machines = {}
    for doc in docs:
        m = doc["machine"]
        machines[(m.get("cpu"), m.get("cores"), m.get("memory_gib"))] = m
        for row in doc["rows"]:
            cell = lambda k: str(row.get(k, "")).replace("|", "\\|")  # noqa: E731
            lines.append(
                f"| {cell('what')} | {cell('measured')} | {cell('target')} | {_met(row.get('met'))} | "
                f"`{doc['benchmark']}.py` |"
            )
    lines.append("")
    for m in machines.values():
        versions = ", ".join(f"{k} {m[k]}" for k in ("tensorflow", "keras", "textual") if k in m)
        lines.append(
            f"Machine: {m.get('cpu')}, {m.get('cores')} cores, {m.get('memory_gib')} GiB, Python {m.get('python')}"
            + (f", {versions}" if versions else "")
            + f", {m.get('os')}."
        )
    notes = [(d["benchmark"], r["note"]) for d in docs for r in d["rows"] if r.get("note")]
    if notes:
        lines.append("")
        lines.append("Notes:")
        for bench, note in notes:
            lines.append(f"- `{bench}`: {note}")
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--readme", action="store_true", help="write the table into README.md between the markers")
    args = parser.parse_args()
    table = render(load())
    if not args.readme:
        print(table)
        return
    readme = ROOT / "README.md"
    text = readme.read_text()
    if BEGIN not in text or END not in text:
        sys.exit(f"README.md has no {BEGIN} … {END} markers")
    head, rest = text.split(BEGIN, 1)
    _, tail = rest.split(END, 1)
    tmp = readme.with_suffix(".md.tmp")
    tmp.write_text(head + BEGIN + "\n" + table + END + tail)
    os.replace(tmp, readme)
    print(f"wrote the table into {readme}")


if __name__ == "__main__":
    main()
