"""No silent exit (issue 14, point 11): every failure prints one clear line, and nothing is left in the temp folder.

The verbs run as separate processes through the console script's entry (``tui.cli.main``,
``run_guarded``), with ``TMPDIR`` pointed at an empty folder: a preload log left there, or a
failure that reaches only that log, fails the test.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import typer

from tui.commands.common import EXIT_BAD_INPUT, EXIT_FAILED, run_guarded

ROOT = Path(__file__).resolve().parents[2]
SPIRALS = ROOT / "sample_configs" / "spirals.yaml"


def kwb(*args: object, tmp: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2", "TMPDIR": str(tmp)}
    return subprocess.run([sys.executable, "-m", "tui.cli", *map(str, args)], cwd=tmp, env=env, capture_output=True,
                          text=True, timeout=300)  # fmt: skip


def lines(text: str) -> list[str]:
    return [ln for ln in text.splitlines() if ln.strip()]


@pytest.fixture
def empty_tmp(tmp_path: Path) -> Path:
    folder = tmp_path / "tmp"
    folder.mkdir()
    return folder


class TestNeverSilent:
    """A failure says what happened in one line, on the terminal, with the right exit status."""

    def test_an_unwritable_runs_folder_is_bad_input(self, empty_tmp: Path):
        done = kwb("train", SPIRALS, "--runs-dir", "/proc/kwbruns", tmp=empty_tmp)
        assert done.returncode == EXIT_BAD_INPUT
        assert "--runs-dir: cannot create the runs folder /proc/kwbruns" in done.stderr
        assert "Traceback" not in done.stderr and not list(empty_tmp.iterdir())

    def test_predict_into_a_missing_folder_names_it(self, empty_tmp: Path, tmp_path: Path):
        from engine.config_io import load_config
        from engine.session import train

        cfg = load_config(SPIRALS, ["data.samples=120", "fit.epochs=1", "callbacks.early_stopping=null"])
        run = train(cfg, runs_dir=tmp_path / "runs", capture_output=False).run_dir
        np.save(tmp_path / "x.npy", np.zeros((3, 2), dtype="float32"))
        done = kwb("predict", run, tmp_path / "x.npy", "-o", "/nonexistent/dir/out.csv", tmp=empty_tmp)
        assert done.returncode == EXIT_BAD_INPUT, done.stderr
        assert "/nonexistent/dir" in done.stderr and ".tmp" not in done.stderr  # the user's path, not a temp name
        assert "Traceback" not in done.stderr
        assert not list(empty_tmp.glob("kwb-preload-*"))

    def test_validate_leaves_the_temp_folder_empty(self, empty_tmp: Path):
        done = kwb("validate", SPIRALS, tmp=empty_tmp)
        assert done.returncode == 0, done.stderr
        assert not list(empty_tmp.iterdir())


class TestLastResort:
    """An exception no verb handled becomes one line, a saved traceback and exit 1 — never silence."""

    def test_an_unexpected_exception_is_said_and_its_traceback_kept(self, capfd, monkeypatch, tmp_path: Path):
        monkeypatch.setenv("TMPDIR", str(tmp_path))
        monkeypatch.setattr(sys, "argv", ["kwb", "boom"])
        import tempfile

        monkeypatch.setattr(tempfile, "tempdir", None)
        app = typer.Typer()

        @app.command()
        def boom() -> None:
            raise RuntimeError("the widget fell over")

        @app.command()
        def other() -> None: ...

        with pytest.raises(SystemExit) as exit_:
            run_guarded(app)
        assert exit_.value.code == EXIT_FAILED
        (line,) = lines(capfd.readouterr().err)
        assert "kwb boom failed: internal error: RuntimeError: the widget fell over" in line
        (trace,) = tmp_path.glob("kwb-traceback-*.txt")
        assert str(trace) in line and "the widget fell over" in trace.read_text()

    def test_a_missing_file_the_user_named_is_bad_input(self, capfd, monkeypatch, tmp_path: Path):
        monkeypatch.setenv("TMPDIR", str(tmp_path))
        monkeypatch.setattr(sys, "argv", ["kwb", "write"])
        import tempfile

        monkeypatch.setattr(tempfile, "tempdir", None)
        app = typer.Typer()

        @app.command()
        def write() -> None:
            (tmp_path / "no" / ".out.csv.a1b2c3d4.tmp").write_text("x")

        @app.command()
        def other() -> None: ...

        with pytest.raises(SystemExit) as exit_:
            run_guarded(app)
        assert exit_.value.code == EXIT_BAD_INPUT
        (line,) = lines(capfd.readouterr().err)
        assert f"no such file or directory: {tmp_path / 'no' / 'out.csv'}" in line
