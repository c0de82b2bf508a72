"""Several clients on one live run: two viewers follow it, two ``kwb control`` at once are both answered, an ended run is refused.

One real ``kwb train`` process trains a tiny model for many epochs; the tests in the
class share it, in order, and the last one stops it.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Iterator

import pytest

from engine import events as ev
from engine.runs import RunDir, read_status

ROOT = Path(__file__).resolve().parents[2]
SPIRALS = ROOT / "sample_configs" / "spirals.yaml"
KWB = [sys.executable, "-m", "tui.cli"]


def kwb(*args: object) -> subprocess.Popen[str]:
    return subprocess.Popen([*KWB, *map(str, args)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


@pytest.fixture(scope="class")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunDir]:
    """A run training in another process (thousands of tiny epochs), running when handed over."""
    runs = tmp_path_factory.mktemp("concurrency") / "runs"
    sets = ["fit.epochs=5000", "data.samples=200", "callbacks.early_stopping=null", "callbacks.reduce_lr_on_plateau=null",
            "callbacks.model_checkpoint=null", "callbacks.backup_and_restore=false"]  # fmt: skip
    args = ["train", SPIRALS, "--runs-dir", runs] + [a for s in sets for a in ("--set", s)]
    proc = subprocess.Popen([*KWB, *map(str, args)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            env={k: v for k, v in os.environ.items() if k != "TF_CONFIG"})  # fmt: skip
    try:
        deadline = time.monotonic() + 120
        run = None
        while time.monotonic() < deadline and run is None:
            found = [p.parent for p in runs.glob("*/history.csv")] if runs.exists() else []
            run = RunDir(found[0]) if found else None
            assert proc.poll() is None, "the training process ended early"
            time.sleep(0.1)
        assert run is not None, "the run never finished an epoch"
        yield run
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait()


class TestOneRunManyClients:
    """Two viewers and two controllers on one live run; then the run ends and further commands are refused."""

    def test_two_viewers_both_see_new_events(self, live: RunDir) -> None:
        from tui.remote import follow

        seen: list[list[ev.Event]] = [[], []]
        stop = threading.Event()
        threads = [
            threading.Thread(target=follow, args=(live, lambda events: None, seen[i].append, stop.is_set), kwargs={"poll_s": 0.05})
            for i in range(2)
        ]
        for t in threads:
            t.start()
        try:
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline and not all(any(isinstance(e, ev.EpochEnded) for e in s) for s in seen):
                time.sleep(0.05)
        finally:
            stop.set()
            for t in threads:
                t.join(5)
        epochs = [{e.epoch for e in s if isinstance(e, ev.EpochEnded)} for s in seen]
        assert epochs[0] and epochs[1], "a viewer saw no new epoch"
        assert epochs[0] & epochs[1], "the two viewers never saw the same epoch"

    def test_two_controls_at_once_are_both_acknowledged_in_order(self, live: RunDir) -> None:
        procs = [kwb("control", live.path, "set-lr", "0.004"), kwb("control", live.path, "lr-drop", "--factor", "0.5")]
        outs = [p.communicate(timeout=60) for p in procs]
        assert [p.returncode for p in procs] == [0, 0], outs
        pairs = []
        for out, _ in outs:
            found = re.fullmatch(r"learning rate (\S+) -> (\S+)\n", out)
            assert found, out
            pairs.append((round(float(found.group(1)), 9), round(float(found.group(2)), 9)))
        (old_a, new_a), (old_b, new_b) = pairs
        assert new_a == pytest.approx(0.004)
        # One was applied after the other: its "old" is the other's "new"; neither was lost.
        assert old_b == pytest.approx(new_a) or old_a == pytest.approx(new_b), pairs
        changes = [e for e in _events(live) if isinstance(e, ev.LrChanged) and e.source == "control"]
        recorded = [(round(c.old, 9), round(c.new, 9)) for c in changes[-2:]]
        assert recorded in ([pairs[0], pairs[1]], [pairs[1], pairs[0]]), (recorded, pairs)  # in the run's own order

    def test_an_ended_run_is_refused_with_its_state(self, live: RunDir) -> None:
        stop = kwb("control", live.path, "stop")
        assert stop.communicate(timeout=60)[0] == "stopping at the next batch boundary\n"
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and (read_status(live.path) or {}).get("state") != "stopped":
            time.sleep(0.1)
        late = kwb("control", live.id, "pause", "--runs-dir", live.path.parent)
        out, err = late.communicate(timeout=60)
        assert late.returncode == 1 and out == ""
        assert err.strip() == f"kwb control: run {live.id} stopped; nothing to control"


def _events(run: RunDir) -> list[ev.Event]:
    from engine.runs import read_events

    return read_events(run.events)


class TestTwoControlsNeverCollide:
    """Command files written at the same moment by two clients have distinct names, and both are read."""

    def test_many_clients_at_once(self, tmp_path: Path) -> None:
        from engine.config_io import parse_config
        from engine.control import Command, Control
        from engine.control_dir import ControlWatcher, send_command
        from engine.runs import create_run_dir

        run = create_run_dir(parse_config({"name": "mini", "model": {"layers": [{"Dense": {"units": 2}}]}}), tmp_path)
        barrier = threading.Barrier(8)

        def client(i: int) -> None:
            barrier.wait()
            send_command(run, Command("set_lr", 0.001 * (i + 1), source="control"))

        threads = [threading.Thread(target=client, args=(i,)) for i in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        control = Control()
        ControlWatcher(run, control, sink=type("Sink", (), {"emit": lambda self, e: None})()).poll()
        got = sorted(c.value for c in control.drain())
        assert got == pytest.approx([0.001 * (i + 1) for i in range(8)])
        assert json.loads(json.dumps(os.listdir(run.control))) == []
