"""The UI talks to the engine through its public API only: no private (underscore) engine name under tui/."""

from __future__ import annotations

import ast
from pathlib import Path

TUI = Path(__file__).resolve().parents[2] / "tui"


def private_engine_names(source: str) -> list[str]:
    """Every private engine name ``source`` imports or reaches (``from engine.runs import _info``, ``engine.runs._info``)."""
    found: list[str] = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.ImportFrom) and node.level == 0 and (node.module or "").split(".")[0] == "engine":
            module = node.module or ""
            if any(part.startswith("_") for part in module.split(".")):
                found.append(module)
            found += [f"{module}.{a.name}" for a in node.names if a.name.startswith("_")]
        elif isinstance(node, ast.Import):
            found += [
                a.name for a in node.names
                if a.name.split(".")[0] == "engine" and any(p.startswith("_") for p in a.name.split("."))
            ]  # fmt: skip
        elif isinstance(node, ast.Attribute) and node.attr.startswith("_") and not node.attr.startswith("__"):
            root = node.value
            while isinstance(root, ast.Attribute):
                root = root.value
            if isinstance(root, ast.Name) and root.id == "engine":
                found.append(ast.unparse(node))
    return found


class TestEngineBoundary:
    """No module under tui/ imports or reaches a private name of the engine."""

    def test_the_ui_uses_only_public_engine_names(self) -> None:
        modules = sorted(TUI.rglob("*.py"))
        assert len(modules) > 20  # the walk did find the app
        offenders = {
            str(path.relative_to(TUI.parent)): names
            for path in modules
            if (names := private_engine_names(path.read_text(encoding="utf-8")))
        }
        assert not offenders, offenders

    def test_the_check_sees_every_way_in(self) -> None:
        assert private_engine_names("from engine.runs import _info, run_info") == ["engine.runs._info"]
        assert private_engine_names("import engine.runs\nengine.runs._info(p)") == ["engine.runs._info"]
        assert private_engine_names("from engine._private import thing") == ["engine._private"]
        assert private_engine_names("import engine._private") == ["engine._private"]
        assert private_engine_names("from engine.runs import run_info\nfrom .x import _y\nfrom os import _exit") == []
