"""engine.runs: the run directory a real run leaves behind, listing, died runs, the control channel, tailing."""

from __future__ import annotations

import csv
import json
import os
import socket
import stat
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import keras
import numpy as np
import pytest

from engine import events as ev
from engine.config_io import load_config, parse_config
from engine.control import CallbackSink, Command, Control
from engine.control_client import ControlRefused, send_and_wait
from engine.errors import UserError
from engine.control_dir import ControlWatcher, send_command
from engine.runs import (
    Heartbeat,
    RunDir,
    create_run_dir,
    effective_state,
    find_run,
    list_runs,
    read_events,
    read_history,
    read_status,
    run_info,
    run_state,
    tail_events,
)

ROOT = Path(__file__).resolve().parents[2]
MINIMAL = {"name": "mini", "model": {"layers": [{"Dense": {"units": 2}}]}}


@pytest.fixture(scope="module")
def finished(tmp_path_factory):
    """One real, finished spirals run (tiny) in its own runs folder."""
    from engine.session import train

    cfg = load_config(
        ROOT / "sample_configs" / "spirals.yaml",
        ["data.samples=300", "fit.epochs=3", "callbacks.early_stopping=null", "callbacks.reduce_lr_on_plateau=null"],
    )
    runs = tmp_path_factory.mktemp("runs")
    result = train(cfg, runs_dir=runs, capture_output=False)
    assert result.status == "finished", result.error
    return cfg, result, RunDir(result.run_dir)


def dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def fake_run(root: Path, name: str, **status: Any) -> RunDir:
    """A run directory with ``status`` written into its status.json, nothing trained."""
    run = create_run_dir(parse_config({**MINIMAL, "name": name}), root)
    run.write_status(**status)
    return run


class TestFinishedRun:
    """A real finished run leaves the documented run directory, readable by plain Keras."""

    def test_run_directory_layout(self, finished):
        cfg, result, run = finished
        assert run.path.parent.is_dir() and run.id.endswith("-spirals-mlp")
        assert len(run.id.split("-")[0]) == 8 and len(run.id.split("-")[1]) == 6  # YYYYmmdd-HHMMSS-name
        names = {p.name for p in run.path.iterdir()}
        assert {"config.yaml", "status.json", "events.jsonl", "history.csv", "checkpoints", "backup", "model.keras",
                "train.log", "control"} <= names  # fmt: skip
        assert "tensorboard" not in names and "error.txt" not in names
        leftovers = [p for p in run.path.rglob("*") if p.name.startswith(".tmp") or p.name.endswith(".tmp")]
        assert leftovers == []
        assert stat.S_IMODE(os.stat(run.control).st_mode) == 0o700
        assert list(run.control.iterdir()) == []

    def test_config_yaml_is_resolved_and_reloadable(self, finished):
        cfg, _, run = finished
        again = load_config(run.config)
        assert again == cfg
        raw = run.config.read_text()
        for key in ("validation_split:", "batch_size:", "early_stopping: null", "model_checkpoint:", "runs_dir:"):
            assert key in raw

    def test_status_json_of_a_finished_run(self, finished):
        _, result, run = finished
        status = read_status(run.path)
        assert status["state"] == "finished" and effective_state(status) == "finished"
        assert status["run_id"] == run.id and status["name"] == "spirals-mlp"
        assert status["pid"] == os.getpid() and status["host"] == socket.gethostname()
        assert status["epochs"] == 3 and status["epochs_done"] == 3
        assert status["started"] <= status["ended"] <= status["heartbeat"] + 1
        assert status["model"] == str(run.model) and status["error"] is None
        assert set(status["best"]) == {"loss", "accuracy", "val_loss", "val_accuracy"}
        assert set(status["evaluation"]) == {"test_loss", "test_accuracy"}

    def test_events_jsonl_starts_and_ends_the_run(self, finished):
        _, _, run = finished
        lines = run.events.read_text().splitlines()
        events = [ev.decode(line) for line in lines]  # every line is a whole event
        assert events[0].type == "run_started" and events[-1].type == "run_ended"
        assert events[-1].status == "finished" and events[-1].epochs_completed == 3
        assert [e.epoch for e in events if isinstance(e, ev.EpochEnded)] == [0, 1, 2]
        assert read_events(run.path) == events
        assert stat.S_IMODE(os.stat(run.events).st_mode) == 0o600

    def test_history_csv_has_one_row_per_epoch(self, finished):
        _, _, run = finished
        with open(run.history, newline="") as fh:
            rows = list(csv.DictReader(fh))
        assert [int(r["epoch"]) for r in rows] == [0, 1, 2]
        assert {"loss", "accuracy", "val_loss", "val_accuracy"} <= set(rows[0])
        history = read_history(run.path)
        assert [h["epoch"] for h in history] == [0, 1, 2]
        epoch_logs = [e.logs for e in read_events(run.path) if isinstance(e, ev.EpochEnded)]
        for h, logs in zip(history, epoch_logs):
            assert h["val_loss"] == pytest.approx(logs["val_loss"]) and h["accuracy"] == pytest.approx(logs["accuracy"])

    def test_saved_models_load_with_plain_keras(self, finished):
        from engine.data import load_data

        cfg, _, run = finished
        best = keras.models.load_model(run.checkpoints / "best.keras")
        assert best.count_params() == 8642
        model = keras.models.load_model(run.model)
        data = load_data(load_config(run.config).data, seed=cfg.seed, batch_size=cfg.fit.batch_size)
        scores = model.evaluate(data.x_test, data.y_test, batch_size=cfg.fit.batch_size, verbose=0, return_dict=True)
        evaluation = read_status(run.path)["evaluation"]
        assert evaluation["test_loss"] == pytest.approx(scores["loss"], rel=1e-5)
        assert evaluation["test_accuracy"] == pytest.approx(scores["accuracy"], rel=1e-5)


class TestListing:
    """Runs are listed, found and summarized; a live state whose process is gone reads as died."""

    def test_list_runs_newest_first(self, finished, tmp_path: Path):
        _, _, run = finished
        infos = list_runs(run.path.parent)
        assert [i.id for i in infos] == [run.id]
        info = infos[0]
        assert (info.name, info.state, info.epochs_done, info.epochs) == ("spirals-mlp", "finished", 3, 3)
        assert info.duration_s is not None and info.duration_s > 0 and info.best["val_loss"] > 0

        a = fake_run(tmp_path, "a", state="finished")
        b = fake_run(tmp_path, "b", state="stopped")
        same_second = fake_run(tmp_path, "a", state="failed")
        (tmp_path / "not-a-run").mkdir()
        (tmp_path / "stray.txt").write_text("x")
        ids = [i.id for i in list_runs(tmp_path)]
        assert sorted(ids) == sorted([a.id, b.id, same_second.id]) and ids == sorted(ids, reverse=True)
        assert list_runs(tmp_path / "missing") == []

    def test_a_running_run_whose_process_is_gone_shows_died(self, tmp_path: Path):
        run = fake_run(tmp_path, "crashed", state="running", pid=dead_pid(), heartbeat=time.time())
        (info,) = list_runs(tmp_path)
        assert info.state == "died" and read_status(run.path)["state"] == "running"
        assert effective_state(read_status(run.path)) == "died"

    @pytest.mark.parametrize(
        ("status", "expected"),
        [
            ({"state": "running", "pid": os.getpid()}, "running"),
            ({"state": "paused", "pid": None}, "died"),
            ({"state": "running", "host": "elsewhere", "pid": 1, "age": 1}, "running"),
            ({"state": "running", "host": "elsewhere", "pid": 1, "age": 60}, "died"),
            ({"state": "finished", "pid": None}, "finished"),
            ({"state": "stopped", "pid": None}, "stopped"),
            ({}, "unknown"),
        ],
        ids=["alive", "no-pid", "other-host-fresh", "other-host-stale", "finished", "stopped", "empty"],
    )
    def test_effective_state(self, status: dict, expected: str):
        """Another host's pid cannot be checked: there the heartbeat's age decides (stale after 5 beats)."""
        status = dict(status)
        age = status.pop("age", 0)
        assert effective_state({"host": socket.gethostname(), **status, "heartbeat": time.time() - age}) == expected

    def test_find_run(self, tmp_path: Path, monkeypatch):
        a = fake_run(tmp_path, "alpha", state="finished")
        b = fake_run(tmp_path, "beta", state="finished")
        assert find_run(a.id, tmp_path).path == a.path
        assert find_run("alpha", tmp_path).path == a.path  # a unique part of the id
        assert find_run(str(b.path), tmp_path / "elsewhere").path == b.path
        monkeypatch.chdir(tmp_path)
        assert find_run(b.id, ".").path.resolve() == b.path
        with pytest.raises(UserError) as info:
            find_run(a.id.split("-")[0], tmp_path)
        assert info.value.key == "RUN" and "matches several runs" in info.value.message
        with pytest.raises(UserError) as info:
            find_run("gamma", tmp_path)
        assert info.value.message.startswith("no run 'gamma'")

    def test_run_info_and_run_state_read_one_run(self, tmp_path: Path):
        here = socket.gethostname()
        live = fake_run(tmp_path, "live", state="running", pid=os.getpid(), host=here, heartbeat=time.time())
        dead = fake_run(tmp_path, "dead", state="running", pid=dead_pid(), host=here, heartbeat=time.time())
        done = fake_run(tmp_path, "done", state="finished")
        assert (run_state(live), run_state(live.path), run_state(dead), run_state(done)) == ("running", "running", "died", "finished")
        info = run_info(live.path)
        assert info is not None and info.live and info.run_dir.config == live.config and info.id == live.id
        assert not run_info(dead.path).live and not run_info(done.path).live
        (tmp_path / "empty").mkdir()
        assert run_info(tmp_path / "empty") is None and run_state(tmp_path / "empty") == "unknown"


class TestControlChannel:
    """The control/ folder: owner-only, watched, woken by a datagram, answered by send_and_wait."""

    def test_control_folder_and_command_files_are_owner_only(self, tmp_path: Path):
        old = os.umask(0o000)
        try:
            run = create_run_dir(parse_config(MINIMAL), tmp_path)
            path = send_command(run, Command("lr_scale", 0.5))
        finally:
            os.umask(old)
        assert stat.S_IMODE(os.stat(run.control).st_mode) == 0o700
        assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
        assert path.parent == run.control and path.suffix == ".json"
        assert json.loads(path.read_text()) == {"name": "lr_scale", "value": 0.5, "source": "user", "id": path.stem.split("-", 1)[1]}
        assert [p.name for p in run.control.iterdir()] == [path.name]  # no temp file left

    def test_control_watcher_delivers_dropped_commands(self, tmp_path: Path):
        run = create_run_dir(parse_config(MINIMAL), tmp_path)
        control = Control()
        refused: list[ev.Event] = []
        watcher = ControlWatcher(run, control, CallbackSink(refused.append), interval=0.02).start()
        try:
            send_command(run, Command("checkpoint", source="control"))
            send_command(run, Command("set_lr", 0.01))
            (run.control / "junk.json").write_text("{not json")
            (run.control / ".half-written.json.tmp").write_text('{"name": "stop"}')
            deadline = time.monotonic() + 5
            while (not control.pending or len(list(run.control.glob("*.json")))) and time.monotonic() < deadline:
                time.sleep(0.02)
            time.sleep(0.1)
        finally:
            watcher.stop()
        commands = control.drain()
        assert [(c.name, c.value, c.source) for c in commands] == [("checkpoint", None, "control"), ("set_lr", 0.01, "user")]
        assert all(c.id for c in commands)
        (error,) = refused
        assert isinstance(error, ev.Error) and error.command == "unknown" and error.message.startswith("refused junk.json: ")
        assert sorted(p.name for p in run.control.iterdir()) == [".half-written.json.tmp"]  # temp names are never read

    def test_send_command_wakes_the_watcher_instead_of_waiting_for_its_poll(self, tmp_path: Path):
        run = create_run_dir(parse_config(MINIMAL), tmp_path)
        control = Control()
        watcher = ControlWatcher(run, control, CallbackSink(lambda e: None), interval=30).start()
        try:
            assert stat.S_ISSOCK(os.stat(run.control / "wake.sock").st_mode)
            time.sleep(0.05)
            send_command(run, Command("pause", source="control"))
            assert control.wait(10)  # a poll would take 30 s; the wake-up is immediate
        finally:
            watcher.stop()
        assert [c.name for c in control.drain()] == ["pause"]
        assert list(run.control.iterdir()) == []  # the socket goes with the watcher

    def test_send_and_wait_against_a_live_run(self, tiny_config, tmp_path: Path):
        """``kwb control`` end to end, in-process: a file in control/, the acknowledgement from events.jsonl."""
        from engine.session import train

        cfg = tiny_config("fit.epochs=1000", "data.samples=2000")
        started = threading.Event()
        box: dict[str, Any] = {}

        def on_event(event: ev.Event) -> None:
            if isinstance(event, ev.EpochEnded):
                started.set()

        worker = threading.Thread(
            target=lambda: box.update(
                result=train(cfg, sink=CallbackSink(on_event), runs_dir=tmp_path, capture_output=False)
            )
        )
        worker.start()
        try:
            assert started.wait(60)
            (run_dir,) = [p for p in tmp_path.iterdir() if p.is_dir()]
            ref = run_dir.name
            assert send_and_wait(ref, "lr-drop", runs_dir=tmp_path) == "learning rate 0.005 -> 0.0025"
            assert send_and_wait(ref, "set-lr", value=0.001, runs_dir=tmp_path) == "learning rate 0.0025 -> 0.001"
            with pytest.raises(ControlRefused, match="the run refused resume: not paused"):
                send_and_wait(ref, "resume", runs_dir=tmp_path)
            assert send_and_wait(ref, "pause", runs_dir=tmp_path).startswith("paused at epoch ")
            assert read_status(run_dir)["state"] in ("running", "paused")
            saved = send_and_wait(ref, "checkpoint", runs_dir=tmp_path)
            assert saved == f"checkpoint saved: {run_dir / 'checkpoints' / 'manual-001.keras'}"
            assert send_and_wait(ref, "resume", runs_dir=tmp_path).startswith("resumed after ")
            assert send_and_wait(ref, "stop", runs_dir=tmp_path) == "stopping at the next batch boundary"
        finally:
            if worker.is_alive():  # an assertion failed: never leave training running (stop also ends a pause)
                for p in tmp_path.iterdir():
                    if (p / "control").is_dir():
                        send_command(RunDir(p), Command("stop"))
            worker.join(60)
        assert not worker.is_alive()
        result = box["result"]
        assert (result.status, result.reason) == ("stopped", "control")
        with pytest.raises(ControlRefused, match=r"stopped; nothing to control"):
            send_and_wait(run_dir.name, "pause", runs_dir=tmp_path)
        with pytest.raises(UserError, match="set-lr needs a value"):
            send_and_wait(run_dir.name, "set-lr", runs_dir=tmp_path)
        with pytest.raises(UserError, match="unknown command 'halt'"):
            send_and_wait(run_dir.name, "halt", runs_dir=tmp_path)


class TestTolerantReading:
    """Readers tolerate torn lines and missing files; writers never tear or reuse."""

    def test_tail_events_skips_a_torn_last_line(self, tmp_path: Path):
        path = tmp_path / "events.jsonl"
        first, second = ev.EpochStarted(epoch=0, epochs=2, t=1.0), ev.Batch(epoch=0, step=1, steps=2, logs={"loss": 0.5}, t=2.0)
        third = ev.EpochEnded(epoch=0, logs={"loss": 0.4}, t=3.0)
        whole, torn = ev.encode(third)[:25], ev.encode(third)[25:]
        path.write_text(ev.encode(first) + "\n" + ev.encode(second) + "\n" + whole)
        events, offset = tail_events(path, 0)
        assert events == [first, second] and offset == len((ev.encode(first) + "\n" + ev.encode(second) + "\n").encode())
        assert tail_events(path, offset) == ([], offset)
        with open(path, "a") as fh:
            fh.write(torn + "\n" + "garbage line\n")
        events, end = tail_events(tmp_path, offset)  # a run directory works too
        assert events == [third] and end == path.stat().st_size
        assert read_events(path) == [first, second, third]
        assert tail_events(tmp_path / "missing.jsonl", 7) == ([], 7)

    def test_read_status_and_history_tolerate_missing_files(self, tmp_path: Path):
        assert read_status(tmp_path) is None
        (tmp_path / "status.json").write_text("{half")
        assert read_status(tmp_path) is None
        assert read_history(tmp_path) == []

    def test_write_status_merges_atomically(self, tmp_path: Path):
        run = create_run_dir(parse_config(MINIMAL), tmp_path)
        before = read_status(run.path)
        assert before["state"] == "starting" and before["epochs_done"] == 0
        run.write_status(state="running", epochs_done=2)
        after = read_status(run.path)
        assert after == {**before, "state": "running", "epochs_done": 2}
        assert sorted(p.name for p in run.path.iterdir()) == ["checkpoints", "config.yaml", "control", "status.json"]

    def test_heartbeat_rewrites_status(self, tmp_path: Path):
        run = create_run_dir(parse_config(MINIMAL), tmp_path)
        first = read_status(run.path)["heartbeat"]
        beat = Heartbeat(run, interval=0.05).start()
        beat.update(epochs_done=4, state="running")
        time.sleep(0.3)
        beat.stop()
        status = read_status(run.path)
        assert status["heartbeat"] > first and status["epochs_done"] == 4 and status["state"] == "running"

    def test_create_run_dir_never_reuses_a_directory(self, tmp_path: Path):
        cfg = parse_config(MINIMAL)
        paths = {create_run_dir(cfg, tmp_path).path for _ in range(3)}
        assert len(paths) == 3
        assert all(load_config(p / "config.yaml") == cfg for p in paths)
        np.testing.assert_equal(sorted(p.name.endswith(("-mini", "-mini-2", "-mini-3")) for p in paths), [True] * 3)


class TestDamagedStatus:
    """A status.json that is not an object, or has fields of the wrong type, is read as far as it goes: no exception."""

    @pytest.mark.parametrize(
        "text",
        ["[]", "null", '"x"', '{"epochs_done": "x", "best": [1], "heartbeat": "y", "state": "running", "started": "z"}',
         '{"state": ["a"], "duration_s": "q", "pid": "p", "epochs": 1e400}'],
    )  # fmt: skip
    def test_listing_survives(self, tmp_path, text):
        from engine.runs import list_runs

        good, bad = tmp_path / "good", tmp_path / "bad"
        good.mkdir()
        bad.mkdir()
        (good / "status.json").write_text('{"state": "finished", "epochs_done": 3, "best": {"loss": 0.5}}')
        (bad / "status.json").write_text(text)
        infos = {i.id: i for i in list_runs(tmp_path)}
        assert infos["good"].state == "finished" and infos["good"].best == {"loss": 0.5}
        if "bad" in infos:  # an object: read as far as it goes
            assert infos["bad"].epochs_done == 0 and infos["bad"].best == {}
