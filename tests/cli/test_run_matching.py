"""Which run a RUN argument means (issue 14, point 16): a unique live match wins for control and attach.

The README's own ``kwb control spirals lr-drop`` must reach the live spirals run when
finished ones share the name; an ambiguous part lists every match; an empty RUN matches
nothing (it used to match every run).
"""

from __future__ import annotations

import json
import os
import socket
import time
from pathlib import Path

import pytest

from engine.errors import UserError
from engine.runs import find_run


def fake_run(runs: Path, stamp: str, state: str, live: bool = False) -> Path:
    """A run folder holding a status.json (``live``: this test process's pid, a fresh heartbeat) and its control/ folder."""
    run = runs / f"20261202-{stamp}-spirals-mlp"
    (run / "control").mkdir(parents=True, mode=0o700)
    pid = os.getpid() if live else 2**22 + 1
    status = {"state": state, "pid": pid, "host": socket.gethostname(), "heartbeat": time.time(), "name": "spirals-mlp"}
    (run / "status.json").write_text(json.dumps(status))
    (run / "config.yaml").write_text("name: spirals-mlp\n")
    return run


@pytest.fixture
def spirals_runs(tmp_path: Path) -> tuple[Path, list[Path], Path]:
    """Seven finished spirals runs and one running one (the newest-but-one), in ``tmp_path/runs``."""
    runs = tmp_path / "runs"
    ended = [fake_run(runs, f"0{i}0000", "finished") for i in range(7)]
    live = fake_run(runs, "075959", "running", live=True)
    return runs, ended, live


class TestFindRun:
    """engine.runs.find_run: live_wins, every match named, empty refused."""

    def test_a_unique_live_match_wins(self, spirals_runs):
        runs, _, live = spirals_runs
        assert find_run("spirals", runs, live_wins=True).path == live

    def test_without_live_wins_every_match_is_listed(self, spirals_runs):
        runs, ended, live = spirals_runs
        with pytest.raises(UserError) as info:
            find_run("spirals", runs)
        assert "matches several runs (8)" in info.value.message
        for run in [*ended, live]:
            assert run.name in info.value.message
        assert f"{live.name}  (running)" in info.value.message

    def test_two_live_matches_are_ambiguous(self, spirals_runs):
        runs, _, _ = spirals_runs
        fake_run(runs, "080000", "running", live=True)
        with pytest.raises(UserError) as info:
            find_run("spirals", runs, live_wins=True)
        assert "matches several runs (9)" in info.value.message

    @pytest.mark.parametrize("ref", ["", "  "])
    def test_an_empty_run_is_refused(self, spirals_runs, ref: str):
        with pytest.raises(UserError) as info:
            find_run(ref, spirals_runs[0])
        assert info.value.key == "RUN" and "empty" in info.value.message


class TestVerbs:
    """kwb control and kwb attach pick the live run; show stays strict; an empty RUN exits 2."""

    def test_control_reaches_the_live_run(self, kwb, spirals_runs):
        runs, _, live = spirals_runs
        result = kwb("control", "spirals", "pause", "--timeout", "0.3", "--runs-dir", runs)
        # Nothing trains here to acknowledge it: the command is in the live run's control/ folder.
        assert result.code == 1 and f"no acknowledgement from run {live.name}" in result.err, result
        assert [json.loads(p.read_text())["name"] for p in (live / "control").glob("*.json")] == ["pause"]

    def test_attach_picks_the_live_run(self, kwb, spirals_runs):
        runs, _, live = spirals_runs
        result = kwb("attach", "spirals", "--runs-dir", runs)  # not a terminal: it names the run and refuses
        assert result.code == 2 and f"kwb show {live.name}" in result.err, result

    def test_show_lists_every_match(self, kwb, spirals_runs):
        runs, ended, live = spirals_runs
        result = kwb("show", "spirals", "--runs-dir", runs)
        assert result.code == 2 and all(run.name in result.err for run in [*ended, live]), result

    @pytest.mark.parametrize("verb", ["control", "attach", "show", "evaluate"])
    def test_an_empty_run_exits_2(self, kwb, spirals_runs, verb: str):
        args = ["stop"] if verb == "control" else []
        result = kwb(verb, "", *args, "--runs-dir", spirals_runs[0])
        assert result.code == 2 and "empty run id" in result.err, result
