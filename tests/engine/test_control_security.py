"""The control channel trusts nothing it finds in control/, and no run name or path leads out of the runs folder."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import pytest

from engine import events as ev
from engine.config_io import parse_config
from engine.control import CallbackSink, Command, Control
from engine.control_client import ControlRefused, deliver
from engine.control_dir import ControlWatcher, send_command
from engine.errors import ConfigError, UserError
from engine.runs import RunDir, check_run_name, create_run_dir, create_script_run_dir, find_run

MINIMAL = {"name": "mini", "model": {"layers": [{"Dense": {"units": 2}}]}}


@pytest.fixture
def run(tmp_path: Path) -> RunDir:
    return create_run_dir(parse_config(MINIMAL), tmp_path / "runs")


def poll(run: RunDir) -> tuple[list[Command], list[ev.Event]]:
    """One pass of the run's watcher: the commands it let through and the events it emitted."""
    control, events = Control(), []
    ControlWatcher(run, control, CallbackSink(events.append)).poll()
    return control.drain(), events


GOOD = Command("stop", source="control", id="abc").to_json()


class TestControlFolder:
    """control/ is 0700, stays so, and is never reached through a symbolic link."""

    def test_made_0700_whatever_the_umask(self, tmp_path: Path) -> None:
        old = os.umask(0)
        try:
            run = create_run_dir(parse_config(MINIMAL), tmp_path)
        finally:
            os.umask(old)
        assert stat.S_IMODE(run.control.stat().st_mode) == 0o700

    def test_a_widened_mode_is_put_back(self, run: RunDir) -> None:
        os.chmod(run.control, 0o777)
        send_command(run, Command("pause"))
        commands, events = poll(run)
        assert [c.name for c in commands] == ["pause"] and events == []
        assert stat.S_IMODE(run.control.stat().st_mode) == 0o700

    def test_a_symlinked_control_folder_is_neither_written_nor_read(self, run: RunDir, tmp_path: Path) -> None:
        elsewhere = tmp_path / "elsewhere"
        elsewhere.mkdir()
        (elsewhere / "1-x.json").write_text(GOOD)
        run.control.rmdir()
        run.control.symlink_to(elsewhere)
        with pytest.raises(ControlRefused, match=r"control is not a folder of its own .*nothing was sent"):
            deliver(run, Command("stop"))
        assert [p.name for p in elsewhere.iterdir()] == ["1-x.json"]
        commands, events = poll(run)
        assert commands == []
        assert len(events) == 1 and "is not a folder of its own" in events[0].message
        assert (elsewhere / "1-x.json").exists()  # not read, not removed


class TestCommandFiles:
    """A command file must be a plain file of the run's own user; anything else is refused, named and removed."""

    def test_a_symlink_is_never_followed(self, run: RunDir, tmp_path: Path) -> None:
        target = tmp_path / "target.json"
        target.write_text(GOOD)
        (run.control / "1-link.json").symlink_to(target)
        commands, events = poll(run)
        assert commands == []
        assert [e.message for e in events] == ["refused 1-link.json: a symbolic link; only the run's own user may send commands"]
        assert not (run.control / "1-link.json").is_symlink()
        assert target.read_text() == GOOD  # the target is untouched

    def test_a_fifo_is_refused_without_blocking(self, run: RunDir) -> None:
        os.mkfifo(run.control / "1-pipe.json")
        commands, events = poll(run)
        assert commands == [] and "refused 1-pipe.json: not a plain file" in events[0].message
        assert not (run.control / "1-pipe.json").exists()

    @pytest.mark.skipif(os.geteuid() != 0, reason="only root can give a file to another user")
    def test_a_file_of_another_user_is_refused(self, run: RunDir) -> None:
        foreign = run.control / "1-foreign.json"
        foreign.write_text(GOOD)
        os.chown(foreign, 65534, 65534)
        send_command(run, Command("pause"))
        commands, events = poll(run)
        assert [c.name for c in commands] == ["pause"]  # the run's own command still goes through
        assert [e.message for e in events] == [
            "refused 1-foreign.json: owned by user 65534, not by this run's user; only the run's own user may send commands"
        ]
        assert not foreign.exists()

    @pytest.mark.skipif(os.geteuid() != 0, reason="only root can give a folder to another user")
    def test_a_control_folder_of_another_user_is_not_read(self, run: RunDir) -> None:
        send_command(run, Command("pause"))
        os.chown(run.control, 65534, 65534)
        commands, events = poll(run)
        assert commands == [] and "belongs to user 65534" in events[0].message
        with pytest.raises(ControlRefused, match="no permission to write"):
            deliver(run, Command("stop"))

    def test_commands_from_two_clients_arrive_in_the_order_written(self, run: RunDir) -> None:
        for name in ("pause", "checkpoint", "resume", "stop"):
            send_command(run, Command(name, source="control"))
        commands, events = poll(run)
        assert [c.name for c in commands] == ["pause", "checkpoint", "resume", "stop"] and events == []
        assert os.listdir(run.control) == []


class TestRunNamesStayInside:
    """A run name, --name or a RUN argument cannot make kwb write outside its runs folder."""

    @pytest.mark.parametrize("name", ["../x", "/etc/x", "a/../../b", ".."])
    def test_a_config_name_that_is_a_path_is_refused(self, name: str) -> None:
        with pytest.raises(ConfigError, match="name: must be 1-64 letters"):
            parse_config({**MINIMAL, "name": name})

    @pytest.mark.parametrize("name", ["../x", "/etc/x", "a/b", ".."])
    def test_a_script_run_name_that_is_a_path_is_refused(self, tmp_path: Path, name: str) -> None:
        with pytest.raises(UserError, match="is not a run name"):
            create_script_run_dir(name, tmp_path / "runs", {"script": "x.py"})
        with pytest.raises(UserError, match="--name: .* is not a run name"):
            check_run_name(name, "--name")
        assert not any(p.is_dir() for p in tmp_path.rglob("*") if p.name != "runs")

    def test_a_run_argument_does_not_climb_out(self, run: RunDir, tmp_path: Path) -> None:
        outside = create_run_dir(parse_config({**MINIMAL, "name": "outside"}), tmp_path / "other")
        for ref in ("..", f"../other/{outside.id}"):  # names under the runs folder, not paths from here
            with pytest.raises(UserError, match="no run"):
                find_run(ref, tmp_path / "runs")
        assert find_run(run.id, tmp_path / "runs").path == run.path

    def test_a_symlinked_run_folder_is_not_followed(self, run: RunDir, tmp_path: Path) -> None:
        outside = create_run_dir(parse_config({**MINIMAL, "name": "outside"}), tmp_path / "other")
        link = run.path.parent / "20990101-000000-trap"
        link.symlink_to(outside.path)
        for ref in (link.name, "trap"):
            with pytest.raises(UserError, match=r"outside the runs folder .*kwb does not follow it"):
                find_run(ref, run.path.parent)
        assert json.loads(outside.status.read_text())["name"] == "outside"
