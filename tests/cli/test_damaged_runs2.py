"""Damaged or resumed run folders, as a demanding user found them: resume never trains a finished run again.

A finished run whose status.json is damaged is refused as any finished run is (its end read
from events.jsonl), or exit 2 naming status.json when nothing tells; an empty events.jsonl is
damage; without model.keras, ``evaluate`` and ``predict`` use the best checkpoint and say so;
a resume with a new ``fit.epochs`` makes that the run's total. Each case copies one tiny
finished run (trained once, in-process) and goes through the CLI (the ``kwb`` fixture).
The matrix of damages × readers is in tests/cli/test_damaged_runs.py.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import numpy as np
import pytest
import yaml

from engine.runs import run_info

ROOT = Path(__file__).resolve().parents[2]

KEPT = ("model.keras", "history.csv", "report.json", "status.json", "events.jsonl")
"""The files a refused resume must leave exactly as they were."""


@pytest.fixture(scope="module")
def finished(tmp_path_factory) -> Path:
    """A finished tiny spirals run of 2 epochs, with a best checkpoint, in its own runs folder."""
    from engine.config_io import load_config
    from engine.session import train

    cfg = load_config(
        ROOT / "sample_configs" / "spirals.yaml",
        ["data.samples=200", "fit.epochs=2", "callbacks.early_stopping=null", "callbacks.reduce_lr_on_plateau=null",
         "callbacks.model_checkpoint={monitor: val_loss, save_best_only: true}"],
    )  # fmt: skip
    result = train(cfg, runs_dir=tmp_path_factory.mktemp("runs"), capture_output=False)
    assert result.status == "finished", result.error
    assert (result.run_dir / "checkpoints" / "best.keras").is_file()
    return result.run_dir


@pytest.fixture
def copy_run(tmp_path: Path, finished: Path):
    """``copy_run()``: a copy of the finished run in a runs folder of its own; returns the runs folder and the copy."""

    def make() -> tuple[Path, Path]:
        runs = tmp_path / "runs"
        run = runs / finished.name
        shutil.copytree(finished, run)
        return runs, run

    return make


def snapshot(run: Path) -> dict[str, bytes]:
    return {name: (run / name).read_bytes() for name in KEPT if (run / name).exists()}


def drop_run_ended(run: Path) -> None:
    """events.jsonl as a killed process leaves it: every line but its run_ended."""
    lines = (run / "events.jsonl").read_text().splitlines(keepends=True)
    (run / "events.jsonl").write_text("".join(ln for ln in lines if '"run_ended"' not in ln))


class TestResumeWithDamagedStatus:
    """A finished run whose status.json is cut off or garbage is never trained again over its files."""

    @pytest.mark.parametrize("damage", ["cut", "list"])
    def test_a_finished_run_is_refused_from_its_events(self, kwb, copy_run, damage: str):
        runs, run = copy_run()
        status = (run / "status.json").read_bytes()
        (run / "status.json").write_bytes(status[:40] if damage == "cut" else b"[1,2")
        before = snapshot(run)
        result = kwb("resume", run.name, "--runs-dir", runs)
        assert result.code == 2, result
        assert f"run {run.name} finished 2 epochs" in result.err, result
        assert f"to train more: kwb resume {run.name} --set fit.epochs=" in result.err, result
        assert "Traceback" not in result.out + result.err
        assert snapshot(run) == before  # nothing retrained, nothing rewritten

    def test_neither_file_tells_exit_2_naming_status_json(self, kwb, copy_run):
        runs, run = copy_run()
        (run / "status.json").write_bytes(b"[1,2")
        drop_run_ended(run)  # a run killed, or still running: events.jsonl cannot say it ended
        before = snapshot(run)
        result = kwb("resume", run.name, "--runs-dir", runs)
        assert result.code == 2, result
        assert f"error in {run / 'status.json'}:" in result.err, result
        assert "status.json is not valid JSON and events.jsonl records no end" in result.err and "does not guess" in result.err, result
        assert snapshot(run) == before

    def test_a_died_run_with_its_status_intact_still_resumes(self, kwb, copy_run):
        runs, run = copy_run()
        drop_run_ended(run)
        status = json.loads((run / "status.json").read_text())
        status.update(state="running", pid=2**22 + 12345, heartbeat=0)  # no such process: died
        (run / "status.json").write_text(json.dumps(status))
        result = kwb("resume", run.name, "--set", "fit.epochs=3", "--runs-dir", runs)
        assert result.code == 0, result
        info = run_info(run)
        assert (info.state, info.epochs_done) == ("finished", 3), info


class TestListingWithDamagedStatus:
    """``kwb runs`` on a finished run whose status.json is garbage: its state and epochs from events.jsonl's end, still marked damaged."""

    def test_state_comes_from_the_recorded_end(self, kwb, copy_run):
        runs, run = copy_run()
        (run / "status.json").write_bytes(b"[1,2")
        result = kwb("runs", "--runs-dir", runs)
        lines = result.out.splitlines()
        at = next(i for i, line in enumerate(lines) if line.startswith(run.name))
        assert lines[at].split()[1:3] == ["finished", "2/?"], result
        assert lines[at + 1] == "  damaged: status.json is not valid JSON", result
        drop_run_ended(run)  # killed, or still running: nothing says how it ended
        info = run_info(run)
        assert (info.state, info.epochs_done) == ("unknown", 2), info


class TestResumeTotal:
    """``kwb resume RUN --set fit.epochs=M``: M is the run's total in status.json, ``kwb runs`` and ``kwb show``."""

    def test_resumed_run_carries_the_new_total(self, kwb, copy_run):
        runs, run = copy_run()
        status = json.loads((run / "status.json").read_text())
        status.update(state="stopped", epochs=300, reason="stopped by the user")  # stopped early, of 300
        (run / "status.json").write_text(json.dumps(status))
        config = yaml.safe_load((run / "config.yaml").read_text())
        config["fit"]["epochs"] = 300
        (run / "config.yaml").write_text(yaml.safe_dump(config))
        result = kwb("resume", run.name, "--set", "fit.epochs=3", "--runs-dir", runs)
        assert result.code == 0, result
        assert json.loads((run / "status.json").read_text())["epochs"] == 3
        listing = kwb("runs", "--runs-dir", runs)
        row = next(line for line in listing.out.splitlines() if line.startswith(run.name))
        assert row.split()[1:3] == ["finished", "3/3"], listing
        shown = kwb("show", run.name, "--runs-dir", runs)
        assert any(line.startswith("epochs   3/3 ") for line in shown.out.splitlines()), shown


class TestEmptyEvents:
    """An empty events.jsonl is damage; the run's state and epochs still come from status.json and history.csv."""

    def test_runs_marks_it_damaged_with_its_state(self, kwb, copy_run):
        runs, run = copy_run()
        (run / "events.jsonl").write_bytes(b"")
        alone = runs / "20990101-000000-only-events"
        alone.mkdir()
        (alone / "events.jsonl").write_bytes(b"")  # nothing else at all
        result = kwb("runs", "--runs-dir", runs)
        assert result.code == 0, result
        lines = result.out.splitlines()
        for folder, state in ((run, "finished"), (alone, "unknown")):
            at = next(i for i, line in enumerate(lines) if line.startswith(folder.name))
            assert lines[at].split()[1] == state, result
            assert lines[at + 1].startswith("  damaged: ") and "events.jsonl is empty" in lines[at + 1], result
        info = run_info(run)
        assert (info.state, info.epochs_done, info.epochs) == ("finished", 2, 2), info

    def test_a_live_run_that_has_not_written_yet_is_not_damaged(self, copy_run):
        import socket
        import time

        _, run = copy_run()
        (run / "events.jsonl").write_bytes(b"")
        status = json.loads((run / "status.json").read_text())
        status.update(state="starting", pid=os.getpid(), host=socket.gethostname(), heartbeat=time.time())
        (run / "status.json").write_text(json.dumps(status))
        assert run_info(run).damaged is None


class TestModelMissing:
    """Without model.keras, evaluate and predict use checkpoints/best.keras and say so in one line on stderr."""

    @pytest.mark.parametrize("verb", ["evaluate", "predict"])
    def test_best_checkpoint_is_used_and_named(self, kwb, copy_run, tmp_path: Path, verb: str):
        runs, run = copy_run()
        (run / "model.keras").unlink()
        np.save(tmp_path / "x.npy", np.zeros((3, 2), dtype="float32"))
        extra = [tmp_path / "x.npy"] if verb == "predict" else []
        result = kwb(verb, run.name, *extra, "--runs-dir", runs)
        assert result.code == 0, result
        notes = [line for line in result.err.splitlines() if "model.keras is missing" in line]
        assert notes == [f"note: {run / 'model.keras'} is missing; using the best checkpoint instead: "
                         f"{run / 'checkpoints' / 'best.keras'}"], result  # fmt: skip
        assert "model.keras" not in result.out

    def test_no_model_and_no_checkpoint_exit_2(self, kwb, copy_run):
        runs, run = copy_run()
        (run / "model.keras").unlink()
        (run / "checkpoints" / "best.keras").unlink()
        result = kwb("evaluate", run.name, "--runs-dir", runs)
        assert result.code == 2, result
        assert "model.keras: the run has no saved model (no model.keras, no checkpoints/best.keras)" in result.err, result
