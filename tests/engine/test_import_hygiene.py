"""Import boundaries, checked in fresh interpreters: engine never pulls in the UI; kwb's light verbs never load TensorFlow."""

from __future__ import annotations

import json
import os
import pkgutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

import engine

ROOT = Path(__file__).resolve().parents[2]
ENGINE_MODULES = sorted(name for _, name, _ in pkgutil.walk_packages(engine.__path__, "engine."))
NEEDS_KERAS = {
    "engine.callbacks.bridge", "engine.callbacks.checkpoint", "engine.callbacks.nan", "engine.callbacks.schedule",
    "engine.callbacks.steps",
    "engine.distributed", "engine.data.hdf5_sequence", "engine.live",
}  # fmt: skip
"""The only engine modules that may import Keras at import time (they subclass keras.callbacks.Callback
or keras.utils.PyDataset); they are imported only when a run starts or streams data, and ``engine.live``
is what a user's own script imports for ``KwbCallback``, after importing Keras itself."""

UI = ("textual", "typer", "tui", "click", "plotext")
HEAVY = ("tensorflow", "keras", "textual")


def python(code: str, *args: str, env: dict[str, str] | None = None) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, *args, "-c", code] if code else [sys.executable, *args],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", **(env or {})},
    )  # fmt: skip


@pytest.fixture(scope="module")
def engine_imports() -> dict[str, list[str]]:
    """Top-level packages in sys.modules after importing each engine module alone (all in parallel)."""
    code = (
        "import importlib, json, sys; importlib.import_module(sys.argv[1]); "
        "print(json.dumps(sorted({m.split('.')[0] for m in sys.modules})))"
    )
    procs = {
        name: subprocess.Popen(
            [sys.executable, "-c", code, name], cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
            env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"},
        )  # fmt: skip
        for name in ENGINE_MODULES
    }
    out = {}
    for name, proc in procs.items():
        stdout, stderr = proc.communicate(timeout=120)
        assert proc.returncode == 0, f"import {name} failed:\n{stderr}"
        out[name] = json.loads(stdout.strip().splitlines()[-1])
    return out


def test_engine_modules_are_found():
    assert {"engine.events", "engine.control", "engine.config", "engine.layers", "engine.model", "engine.callbacks.bridge",
            "engine.session", "engine.runs", "engine.control_client", "engine.errors", "engine.data"} <= set(ENGINE_MODULES)  # fmt: skip


@pytest.mark.parametrize("module", ENGINE_MODULES)
def test_engine_module_imports_no_ui(engine_imports, module: str):
    leaked = sorted(set(engine_imports[module]) & set(UI))
    assert leaked == [], f"{module} imports {leaked}"


@pytest.mark.parametrize("module", [m for m in ENGINE_MODULES if m not in NEEDS_KERAS])
def test_engine_module_defers_tensorflow(engine_imports, module: str):
    """Config checks, run listing and control must stay instant: Keras loads only when training needs it."""
    leaked = sorted(set(engine_imports[module]) & {"tensorflow", "keras"})
    assert leaked == [], f"{module} imports {leaked} at import time"


def test_kwb_help_imports_no_tensorflow_or_textual():
    proc = python("", "-X", "importtime", "-m", "tui.cli", "--help")
    stdout, stderr = proc.communicate(timeout=60)
    assert proc.returncode == 0, stderr
    assert "Usage:" in stdout and "train" in stdout
    imported = {line.rsplit("|", 1)[-1].strip().split(".")[0] for line in stderr.splitlines() if line.startswith("import time:")}
    assert "typer" in imported  # the probe works
    assert not imported & set(HEAVY), sorted(imported & set(HEAVY))


def test_light_verbs_import_no_tensorflow_or_textual(tmp_path: Path):
    """--help, runs, show, control and a config that fails validation never load TensorFlow or Textual."""
    script = textwrap.dedent(
        f"""
        import json, sys
        from engine.config_io import parse_config
        from engine.runs import create_run_dir
        run = create_run_dir(parse_config({{"name": "done", "model": {{"layers": [{{"Dense": {{"units": 2}}}}]}}}}), {str(tmp_path)!r})
        run.write_status(state="finished", epochs_done=1)

        from typer.testing import CliRunner
        from tui.cli import app

        def heavy():
            return sorted({{m.split(".")[0] for m in sys.modules}} & {set(HEAVY)!r})

        out = {{"import": [0, heavy()]}}
        for label, args in (
            ("help", ["--help"]),
            ("train-help", ["train", "--help"]),
            ("runs", ["runs", "--runs-dir", {str(tmp_path)!r}]),
            ("show", ["show", run.id, "--runs-dir", {str(tmp_path)!r}]),
            ("control", ["control", run.id, "pause", "--runs-dir", {str(tmp_path)!r}]),
            ("validate", ["validate", {str(ROOT / "sample_configs" / "invalid" / "unknown_key.yaml")!r}]),
            ("train", ["train", {str(ROOT / "sample_configs" / "invalid" / "wrong_type.yaml")!r}]),
        ):
            result = CliRunner().invoke(app, args)
            out[label] = [result.exit_code, heavy()]
        print(json.dumps(out))
        """
    )
    proc = python(script)
    stdout, stderr = proc.communicate(timeout=60)
    assert proc.returncode == 0, stderr
    out = json.loads(stdout.strip().splitlines()[-1])
    assert {k: v[1] for k, v in out.items()} == {k: [] for k in out}, out
    assert out["help"][0] == out["train-help"][0] == out["runs"][0] == out["show"][0] == 0
    assert out["control"][0] == 1 and out["validate"][0] == 2 and out["train"][0] == 2


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(path: Path, known: set[str]) -> set[str]:
    """The project modules ``path`` imports anywhere in its body (functions included), except under TYPE_CHECKING."""
    import ast

    here = _module_name(path)
    package = here if path.name == "__init__.py" else here.rpartition(".")[0]
    found: set[str] = set()

    def visit(node: ast.AST) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.If) and "TYPE_CHECKING" in ast.unparse(child.test):
                for sub in child.orelse:
                    visit(sub)
                continue
            if isinstance(child, ast.Import):
                found.update(a.name for a in child.names)
            elif isinstance(child, ast.ImportFrom):
                base = child.module or ""
                if child.level:
                    anchor = package.split(".")[: len(package.split(".")) - (child.level - 1)]
                    base = ".".join([*anchor, base] if base else anchor)
                for alias in child.names:
                    found.add(f"{base}.{alias.name}" if f"{base}.{alias.name}" in known else base)
            visit(child)

    visit(ast.parse(path.read_text(encoding="utf-8")))
    return {m for m in found if m in known and m != here}


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    out: list[list[str]] = []

    def strong(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in graph[v]:
            if w not in index:
                strong(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                out.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            strong(v)
    return out


class TestNoImportCircles:
    """No two modules of engine/ or tui/ import each other, directly or round a loop (function-level imports count)."""

    def test_no_cycles(self):
        files = [p for top in ("engine", "tui") for p in sorted((ROOT / top).rglob("*.py"))]
        known = {_module_name(p) for p in files}
        graph = {_module_name(p): _imports(p, known) for p in files}
        assert graph["engine.session"], "the import scan found nothing: it is broken"
        assert _cycles(graph) == []

    def test_the_scan_sees_a_cycle(self):
        assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


class TestFunctionLength:
    """No function in engine/ or tui/ is longer than about 80 lines (split by responsibility)."""

    LIMIT = 80

    def test_functions_are_short(self):
        import ast

        long = []
        for path in sorted([*(ROOT / "engine").rglob("*.py"), *(ROOT / "tui").rglob("*.py")]):
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                    lines = node.end_lineno - node.lineno + 1
                    if lines > self.LIMIT:
                        long.append(f"{path.relative_to(ROOT)}:{node.lineno} {node.name} ({lines} lines)")
        assert long == []
