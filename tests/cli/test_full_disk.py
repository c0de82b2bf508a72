"""A full disk while training (issue 14, point 4): the run fails with one line naming the file, leaves no temp
file, keeps its earlier checkpoints loadable, and ``kwb resume`` finishes it once there is space again.

The run directory lives on a small tmpfs mounted for the test (root only; skipped where
``mount`` is refused), so the disk really fills: no write is faked. ``kwb`` runs as a
separate process, as a person runs it, so the exit status and the terminal line are real.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SPIRALS = ROOT / "sample_configs" / "spirals.yaml"
EPOCHS = 8
SETTINGS = ["data.samples=200", f"fit.epochs={EPOCHS}", "callbacks.early_stopping=null",
            "callbacks.reduce_lr_on_plateau=null", "callbacks.model_checkpoint.save_best_only=false"]  # fmt: skip
"""Every epoch saves a ~137 kB checkpoint and a ~132 kB backup: a 1 MB disk fills in the fifth or sixth."""

RUN_FILES = r"(checkpoints/(epoch-\d{3}|best)\.keras|backup/latest\.weights\.h5|model\.keras|history\.csv|events\.jsonl|status\.json)"


def kwb(*args: object, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2", "TMPDIR": str(cwd)}
    return subprocess.run([sys.executable, "-m", "tui.cli", *map(str, args)], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=300)  # fmt: skip


@dataclass
class Disk:
    """A tmpfs mounted at ``path``."""

    path: Path

    def grow(self) -> None:
        """Give it 32 MB: the user freed space."""
        subprocess.run(["mount", "-o", "remount,size=32m", str(self.path)], check=True)


@pytest.fixture
def small_disk(tmp_path: Path):
    """A 1 MB tmpfs at ``tmp_path/disk``, unmounted afterwards."""
    if os.geteuid() != 0:
        pytest.skip("mounting a tmpfs needs root")
    disk = tmp_path / "disk"
    disk.mkdir()
    mount = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(disk)], capture_output=True, text=True)
    if mount.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {mount.stderr.strip()}")
    try:
        yield Disk(disk)
    finally:
        subprocess.run(["umount", "-l", str(disk)], capture_output=True)


def epochs_in(run: Path) -> tuple[list[int], list[int]]:
    rows = [int(line.split(",", 1)[0]) for line in (run / "history.csv").read_text().splitlines()[1:] if line]
    ended = [json.loads(line)["epoch"] for line in (run / "events.jsonl").read_text().splitlines()
             if '"epoch_ended"' in line]  # fmt: skip
    return rows, ended


class TestFullDisk:
    """The disk fills mid-run; then space comes back."""

    def test_fails_in_one_line_keeps_checkpoints_and_resumes(self, small_disk: Disk, tmp_path: Path):
        disk = small_disk.path
        sets = [a for s in SETTINGS for a in ("--set", s)]
        failed = kwb("train", SPIRALS, "--runs-dir", disk / "runs", *sets, cwd=tmp_path)
        assert failed.returncode == 1, failed.stderr
        (line,) = [ln for ln in failed.stderr.splitlines() if "no space left on device" in ln]
        assert re.fullmatch(rf"training failed: no space left on device while writing {RUN_FILES}", line), line
        assert "Traceback" not in failed.stderr + failed.stdout
        (run,) = (disk / "runs").iterdir()
        status = json.loads((run / "status.json").read_text())
        assert (status["state"], status["reason"]) == ("failed", "disk")
        assert not [p.name for p in run.rglob(".*")], "temp files left behind"
        assert not list(tmp_path.glob("kwb-preload-*"))

        from engine.kerasapi import keras

        saved = sorted((run / "checkpoints").glob("epoch-*.keras"))
        assert 1 <= len(saved) < EPOCHS
        for path in saved:
            keras().models.load_model(path, safe_mode=True)

        small_disk.grow()
        resumed = kwb("resume", run, cwd=tmp_path)
        assert resumed.returncode == 0, resumed.stderr
        rows, ended = epochs_in(run)
        assert rows == list(range(EPOCHS)) and ended == list(range(EPOCHS))
        keras().models.load_model(run / "model.keras", safe_mode=True)
        assert json.loads((run / "status.json").read_text())["state"] == "finished"
