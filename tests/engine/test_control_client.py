"""engine.control_client: the one "may this run be controlled" check, the run's lr factor, kwb control's words."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from engine.config_io import parse_config
from engine.control import Command, CommandName
from engine.control_client import CLI_COMMANDS, ControlRefused, RunNotLive, deliver, lr_factor_of, send_and_wait
from engine.errors import UserError
from engine.runs import RunDir, create_run_dir

MINIMAL = {"name": "mini", "model": {"layers": [{"Dense": {"units": 2}}]}}


@pytest.fixture
def live_run(tmp_path: Path) -> RunDir:
    """A run directory whose status says this (live) process is starting it."""
    return create_run_dir(parse_config({**MINIMAL, "controls": {"lr_factor": 0.25}}), tmp_path)


class TestLrFactorOf:
    """lr_factor_of reads the run's controls.lr_factor, or the default when it cannot."""

    def test_from_the_resolved_config(self, live_run: RunDir):
        assert lr_factor_of(live_run) == 0.25
        assert lr_factor_of(live_run.path) == 0.25

    def test_default_without_a_readable_config(self, live_run: RunDir):
        live_run.config.write_text("controls: [unclosed")
        assert lr_factor_of(live_run) == 0.5
        live_run.config.unlink()
        assert lr_factor_of(live_run, default=0.1) == 0.1

    def test_default_without_a_factor(self, live_run: RunDir):
        live_run.config.write_text("name: mini\n")
        assert lr_factor_of(live_run) == 0.5


class TestDeliver:
    """deliver drops the command file only into a live run's control/ folder, else says why not."""

    def test_a_live_run_gets_the_file(self, live_run: RunDir):
        path = deliver(live_run, Command(CommandName.PAUSE, source="control"))
        assert path.parent == live_run.control
        assert json.loads(path.read_text())["name"] == "pause"

    @pytest.mark.parametrize("state", ["finished", "stopped", "failed"])
    def test_an_ended_run_is_refused(self, live_run: RunDir, state: str):
        live_run.write_status(state=state)
        with pytest.raises(RunNotLive) as info:
            deliver(live_run, Command("stop"))
        assert str(info.value) == f"run {live_run.id} {state}; nothing to control"
        assert (info.value.run_id, info.value.state) == (live_run.id, state)
        assert list(live_run.control.iterdir()) == []

    def test_a_run_whose_process_is_gone_is_refused(self, live_run: RunDir):
        live_run.write_status(pid=2**22 + 12345)  # no such process
        with pytest.raises(RunNotLive, match=r"died; nothing to control"):
            deliver(live_run, Command("stop"))

    def test_a_missing_control_folder_is_refused(self, live_run: RunDir):
        live_run.control.rmdir()
        with pytest.raises(ControlRefused) as info:
            deliver(live_run, Command("stop"))
        assert str(info.value) == f"{live_run.control} is gone"

    @pytest.mark.skipif(os.geteuid() == 0, reason="root may write anywhere")
    def test_a_control_folder_that_is_not_ours_is_refused(self, live_run: RunDir):
        os.chmod(live_run.control, 0o500)
        try:
            with pytest.raises(ControlRefused, match=r"^no permission to write to .*only the run's owner may control it"):
                deliver(live_run, Command("stop"))
        finally:
            os.chmod(live_run.control, 0o700)


class TestSendAndWait:
    """kwb control's words become commands (lr-drop uses the run's factor); bad words are a UserError."""

    def test_the_words(self):
        assert CLI_COMMANDS == ("stop", "pause", "resume", "checkpoint", "lr-drop", "set-lr")

    def test_lr_drop_sends_the_runs_factor_then_waits(self, live_run: RunDir):
        with pytest.raises(ControlRefused, match=r"no acknowledgement from run .* within 0.2s"):
            send_and_wait(live_run.id, "lr-drop", timeout=0.2, runs_dir=live_run.path.parent)
        (path,) = live_run.control.glob("*.json")
        assert json.loads(path.read_text())["name"] == "lr_scale" and json.loads(path.read_text())["value"] == 0.25

    @pytest.mark.parametrize(
        ("word", "kwargs", "key", "message"),
        [
            ("halt", {}, "COMMAND", "unknown command 'halt'; expected one of stop, pause, resume, checkpoint, lr-drop, set-lr"),
            ("puase", {}, "COMMAND", (
                "unknown command 'puase' (did you mean 'pause'?); expected one of stop, pause, resume, checkpoint, lr-drop, set-lr"
            )),
            ("set-lr", {}, "VALUE", "set-lr needs a value, e.g. kwb control RUN set-lr 0.0005"),
            ("set-lr", {"value": -1.0}, "VALUE", "-1 is not a learning rate: it must be positive"),
            ("lr-drop", {"factor": 0.0}, "--factor", "0 is not a factor: it must be positive (0.5 halves the learning rate)"),
        ],
    )
    def test_bad_words_and_values(self, live_run: RunDir, word: str, kwargs: dict, key: str, message: str):
        with pytest.raises(UserError) as info:
            send_and_wait(live_run.id, word, runs_dir=live_run.path.parent, **kwargs)
        assert (info.value.key, info.value.message) == (key, message)
        assert list(live_run.control.iterdir()) == []  # nothing is sent
