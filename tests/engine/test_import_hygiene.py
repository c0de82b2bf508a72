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
NEEDS_KERAS = {"engine.bridge", "engine.distributed"}
"""The only engine modules that may import Keras at import time (they subclass keras.callbacks.Callback);
both are imported only when a run starts."""

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
    assert {"engine.events", "engine.control", "engine.config", "engine.layers", "engine.model", "engine.bridge",
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
        from engine.config import parse_config
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
