"""kill -9 then ``kwb resume`` (issue 14, point 5): a few of the soak's moments, in the suite.

``benchmarks/kill_soak.py`` kills a real ``kwb train`` process with SIGKILL while a
checkpoint or the backup is being written (it polls for their temp files), resumes it,
and checks that every epoch is recorded exactly once in history.csv and events.jsonl,
that model.keras loads with ``safe_mode`` and that no temp file is left. The full soak
(20 moments) is a benchmark; these are the two windows most likely to tear a file.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def load_soak():
    spec = importlib.util.spec_from_file_location("kill_soak", ROOT / "benchmarks" / "kill_soak.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


class TestKillResume:
    """SIGKILL inside the backup and checkpoint writes, then resume to the end: nothing lost, nothing twice."""

    def test_kills_inside_backup_and_checkpoint_writes_lose_no_epoch(self, tmp_path: Path):
        soak = load_soak()
        epochs = 8  # room for both windows: each is armed after 0-2 more epochs
        result = soak.soak(["backup", "checkpoint"], epochs, tmp_path, seed=1)
        hit = [m["kind"] for m in result["moments"] if m["hit"]]
        assert hit == ["backup", "checkpoint"], result["moments"]
        assert result["state"] == "finished", result
        assert result["history_epochs"] == list(range(epochs))
        assert result["event_epochs"] == list(range(epochs))
        assert result["model_loads"] is True, result["model_loads"]
        assert result["temp_files_left"] == []
