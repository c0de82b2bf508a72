"""Runs that outlive the terminal, with real processes: detach, control, SIGKILL, died, resume."""

from __future__ import annotations

import csv
import json
import os
import signal
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SPIRALS = ROOT / "sample_configs" / "spirals.yaml"


def kwb(*args: str, cwd: Path, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "tui.cli", *args], cwd=cwd, capture_output=True, text=True, timeout=timeout
    )


def wait_for(predicate, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


def history_epochs(run: Path) -> list[int]:
    path = run / "history.csv"
    if not path.exists():
        return []
    with open(path, newline="") as fh:
        return [int(row["epoch"]) for row in csv.DictReader(fh)]


class TestDetachedRun:
    """A detached run is controlled, killed (died), and resumed to the end."""

    def test_detach_control_kill_resume(self, tmp_path: Path) -> None:
        epochs = 12
        started = kwb(
            "train", str(SPIRALS), "--detach", "--runs-dir", str(tmp_path / "runs"),
            "--set", f"fit.epochs={epochs}", "--set", "data.samples=12000", "--set", "callbacks.early_stopping=null",
            "--set", "callbacks.reduce_lr_on_plateau=null",
            cwd=tmp_path,
        )  # fmt: skip
        assert started.returncode == 0, started.stdout + started.stderr
        assert "started run" in started.stdout and "kwb control" in started.stdout
        (run,) = list((tmp_path / "runs").iterdir())
        status = json.loads((run / "status.json").read_text())
        pid = status["pid"]

        # The command channel belongs to the run's owner alone.
        assert stat.S_IMODE(os.stat(run / "control").st_mode) == 0o700

        wait_for(lambda: len(history_epochs(run)) >= 1, 60, "the first epoch")
        ack = kwb("control", run.name, "lr-drop", "--runs-dir", str(tmp_path / "runs"), cwd=tmp_path, timeout=30)
        assert ack.returncode == 0, ack.stderr
        assert "learning rate 0.005 -> 0.0025" in ack.stdout
        refused = kwb("control", run.name, "resume", "--runs-dir", str(tmp_path / "runs"), cwd=tmp_path, timeout=30)
        assert refused.returncode == 1 and "not paused" in refused.stderr

        wait_for(lambda: len(history_epochs(run)) >= 3, 60, "three epochs")
        os.kill(pid, signal.SIGKILL)
        wait_for(lambda: "died" in kwb("runs", "--runs-dir", str(tmp_path / "runs"), cwd=tmp_path).stdout, 20, "died")
        shown = kwb("show", run.name, "--runs-dir", str(tmp_path / "runs"), cwd=tmp_path)
        assert "state    died" in shown.stdout

        # A dead run refuses commands with a reason.
        dead = kwb("control", run.name, "stop", "--runs-dir", str(tmp_path / "runs"), cwd=tmp_path)
        assert dead.returncode == 1 and "died; nothing to control" in dead.stderr

        resumed = kwb("resume", run.name, "--runs-dir", str(tmp_path / "runs"), cwd=tmp_path, timeout=240)
        assert resumed.returncode == 0, resumed.stdout + resumed.stderr
        assert history_epochs(run) == list(range(epochs))
        status = json.loads((run / "status.json").read_text())
        assert status["state"] == "finished" and status["epochs_done"] == epochs
        events = [json.loads(line) for line in (run / "events.jsonl").read_text().splitlines()]
        ended = [e["epoch"] for e in events if e["type"] == "epoch_ended"]
        assert ended == list(range(epochs))
        assert events[-1]["type"] == "run_ended" and events[-1]["status"] == "finished"

        check = subprocess.run(
            [sys.executable, "-c", f"import keras; m = keras.models.load_model({str(run / 'model.keras')!r}); print(m.count_params())"],
            capture_output=True, text=True, timeout=120,
        )  # fmt: skip
        assert check.returncode == 0 and int(check.stdout.split()[-1]) > 0


class TestLaunchDetached:
    """tui.detach.launch_detached reports a child that exits before announcing its run directory."""

    def test_a_launch_that_fails_before_announcing_reports_why(self, tmp_path: Path) -> None:
        from tui.detach import LaunchFailed, launch_detached

        bad = tmp_path / "bad.yaml"
        bad.write_text("model: {layers: [{Dense: {units: -4}}]}\n")
        with pytest.raises(LaunchFailed) as failed:
            launch_detached(["train", str(bad), "--runs-dir", str(tmp_path / "runs")], timeout=120)
        assert failed.value.code == 2
        assert "model.layers[0].Dense.units" in str(failed.value) and "Traceback" not in str(failed.value)
        assert not (tmp_path / "runs").exists()


class TestOwnerOnly:
    """Command files and the control folder belong to the run's owner alone."""

    def test_command_files_are_owner_only(self, tmp_path: Path) -> None:
        from engine.config_io import parse_config
        from engine.control import Command, JsonlSink
        from engine.control_dir import send_command
        from engine.runs import create_run_dir

        cfg = parse_config({"model": {"layers": [{"Dense": {"units": 2}}]}})
        old = os.umask(0)  # the most permissive umask a user could have
        try:
            run = create_run_dir(cfg, tmp_path)
            path = send_command(run, Command("stop"))
            JsonlSink(run.events).close()
        finally:
            os.umask(old)
        assert stat.S_IMODE(os.stat(run.control).st_mode) == 0o700
        assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
        assert stat.S_IMODE(os.stat(run.events).st_mode) == 0o600
