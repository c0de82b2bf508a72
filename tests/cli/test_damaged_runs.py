"""Damaged run directories (issue 14, point 2): every reader shows what it can and names what is wrong.

A matrix of damage × reader: one tiny finished run is trained once; each case copies it,
damages one file, and runs a reader on it through the CLI (``kwb runs``, ``show``,
``resume``, ``evaluate``, ``predict``; the ``kwb`` fixture, so not a terminal). No case may
show a traceback; a verb that cannot proceed exits 2 with a sentence naming the file. The
Runs screen and ``attach`` on the same damage are in tests/tui/test_damaged_runs_screen.py.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from run_damages import DAMAGES, cut_history

from engine.runs import list_runs, read_history, run_info

ROOT = Path(__file__).resolve().parents[2]


EXIT_2 = {
    ("resume", "config-missing"): "config.yaml",
    ("evaluate", "config-missing"): "config.yaml",
    ("evaluate", "model-missing"): "model.keras",
    ("predict", "model-missing"): "model.keras",
}
"""The (reader, damage) pairs that cannot proceed: exit 2 with a message naming this file."""


@pytest.fixture(scope="module")
def finished(tmp_path_factory) -> Path:
    """A finished tiny spirals run of 2 epochs (trained in-process), in its own runs folder."""
    from engine.config_io import load_config
    from engine.session import train

    cfg = load_config(
        ROOT / "sample_configs" / "spirals.yaml",
        ["data.samples=200", "fit.epochs=2", "callbacks.early_stopping=null", "callbacks.reduce_lr_on_plateau=null"],
    )
    result = train(cfg, runs_dir=tmp_path_factory.mktemp("runs"), capture_output=False)
    assert result.status == "finished", result.error
    return result.run_dir


def damaged_copy(finished: Path, runs: Path, damage: str) -> Path:
    """A copy of ``finished`` under ``runs`` (named after the damage) with that damage done to it."""
    run = runs / f"20990101-000000-{damage}"
    shutil.copytree(finished, run)
    DAMAGES[damage][0](run)
    return run


@pytest.fixture
def runs(tmp_path: Path, finished: Path) -> Path:
    """A runs folder holding one intact copy of the finished run (a damaged one must not hide it)."""
    shutil.copytree(finished, tmp_path / "runs" / finished.name)
    return tmp_path / "runs"


def no_traceback(result) -> None:
    assert result.exception is None, result
    assert "Traceback" not in result.out + result.err, result


class TestRunInfo:
    """``run_info`` never raises: it returns what it read and says what is damaged."""

    @pytest.mark.parametrize("damage", list(DAMAGES))
    def test_run_info_names_the_damage(self, finished: Path, tmp_path: Path, damage: str):
        run = damaged_copy(finished, tmp_path, damage)
        info = run_info(run)
        assert info is not None and info.damaged is not None and DAMAGES[damage][1] in info.damaged, info
        assert info.id == run.name
        assert info.epochs_done in (1, 2)  # status.json lost: history.csv still counts the epochs

    def test_a_line_nested_too_deeply_is_damage_not_a_crash(self, finished: Path, tmp_path: Path):
        run = tmp_path / finished.name
        shutil.copytree(finished, run)
        with open(run / "events.jsonl", "a") as fh:
            fh.write("[" * 100_000 + "\n")
        info = run_info(run)
        assert info is not None and info.damaged is not None and "is not an event" in info.damaged

    def test_a_live_run_writing_its_last_lines_is_not_damaged(self, finished: Path, tmp_path: Path):
        import json
        import socket
        import time

        run = damaged_copy(finished, tmp_path, "events-cut")
        cut_history(run)
        status = json.loads((run / "status.json").read_text())
        status.update(state="running", pid=os.getpid(), host=socket.gethostname(), heartbeat=time.time())
        (run / "status.json").write_text(json.dumps(status))
        info = run_info(run)
        assert info is not None and info.live and info.damaged is None, info
        status["state"] = "stopped"  # once it has ended, the same cut lines are damage
        (run / "status.json").write_text(json.dumps(status))
        assert "cut-off" in (run_info(run).damaged or "")

    @pytest.mark.parametrize("pid", [0, -1, 1e30, 2**70, "x", [1], True])
    def test_a_garbage_pid_reads_as_died(self, finished: Path, tmp_path: Path, pid):
        """pid 0 or -1 would ask os.kill about a process group (alive); a huge one overflowed."""
        import json

        run = tmp_path / finished.name
        shutil.copytree(finished, run)
        (run / "status.json").write_text(json.dumps({"state": "running", "pid": pid, "heartbeat": "soon"}))
        info = run_info(run)
        assert info is not None and info.state == "died" and not info.live

    def test_an_intact_run_is_not_damaged(self, finished: Path):
        info = run_info(finished)
        assert info is not None and info.damaged is None and info.state == "finished"

    def test_a_cut_history_keeps_its_whole_rows(self, finished: Path, tmp_path: Path):
        run = damaged_copy(finished, tmp_path, "history-cut")
        assert [row["epoch"] for row in read_history(run)] == [0]
        assert [row["epoch"] for row in read_history(finished)] == [0, 1]


class TestReaders:
    """Every CLI reader on every damage: no traceback; the listing and show name the damage; a verb that cannot go on exits 2."""

    @pytest.mark.parametrize("damage", list(DAMAGES))
    def test_runs_lists_the_damaged_run_and_the_others(self, kwb, finished: Path, runs: Path, damage: str):
        run = damaged_copy(finished, runs, damage)
        result = kwb("runs", "--runs-dir", runs)
        no_traceback(result)
        assert result.code == 0, result
        lines = result.out.splitlines()
        row = next(i for i, line in enumerate(lines) if line.startswith(run.name))
        assert lines[row + 1].startswith("  damaged: ") and DAMAGES[damage][1] in lines[row + 1], result
        assert any(line.startswith(finished.name) for line in lines), result

    @pytest.mark.parametrize("damage", list(DAMAGES))
    def test_show_says_what_is_damaged(self, kwb, finished: Path, runs: Path, damage: str):
        run = damaged_copy(finished, runs, damage)
        result = kwb("show", run.name, "--runs-dir", runs)
        no_traceback(result)
        assert result.code == 0, result
        damaged = next(line for line in result.out.splitlines() if line.startswith("damaged  "))
        assert DAMAGES[damage][1] in damaged
        assert "epoch" in result.out  # what could be read is still shown: the history table

    @pytest.mark.parametrize("reader", ["evaluate", "predict", "resume"])
    @pytest.mark.parametrize("damage", list(DAMAGES))
    def test_verbs_go_on_or_name_the_file(self, kwb, finished: Path, runs: Path, tmp_path: Path, damage: str, reader: str):
        run = damaged_copy(finished, runs, damage)
        np.save(tmp_path / "x.npy", np.zeros((3, 2), dtype="float32"))
        extra = {"predict": [tmp_path / "x.npy"], "resume": ["--set", "fit.epochs=3"]}.get(reader, [])  # one epoch more
        result = kwb(reader, run.name, *extra, "--runs-dir", runs)
        no_traceback(result)
        if (reader, damage) in EXIT_2:
            assert result.code == 2, result
            assert EXIT_2[reader, damage] in result.err, result
        else:
            assert result.code == 0, result


class TestOneBadRunHidesNoOther:
    """Every damage at once in one folder, through a real pipe: every run is listed, each damaged one says why."""

    def test_kwb_runs_through_a_pipe(self, finished: Path, runs: Path):
        for damage in DAMAGES:
            damaged_copy(finished, runs, damage)
        (runs / "not-a-run").mkdir()  # a stray folder is no run
        done = subprocess.run(
            [sys.executable, "-m", "tui.cli", "runs", "--runs-dir", str(runs)],
            capture_output=True, text=True, timeout=60, env={**os.environ, "COLUMNS": "200"},
        )  # fmt: skip
        assert done.returncode == 0 and "Traceback" not in done.stdout + done.stderr, done
        rows = [line.split()[0] for line in done.stdout.splitlines()[1:] if not line.startswith(" ")]
        assert sorted(rows) == sorted([finished.name, *(f"20990101-000000-{d}" for d in DAMAGES)])
        assert done.stdout.count("  damaged: ") == len(DAMAGES)
        assert len(list_runs(runs)) == len(DAMAGES) + 1
