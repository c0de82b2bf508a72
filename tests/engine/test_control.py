"""engine.control: the one list of commands, kwb control's words for them, what acknowledges each, and the inbox."""

from __future__ import annotations

import json
import threading

import pytest

from engine import events as ev
from engine.control import (
    ACKNOWLEDGED_BY,
    COMMANDS,
    Command,
    CommandError,
    CommandName,
    Control,
    ControlVerb,
    parse_command,
)


class TestCommandName:
    """CommandName is the vocabulary; each member is its plain word wherever it is written."""

    def test_members_and_words(self):
        assert [n.value for n in CommandName] == ["stop", "lr_scale", "set_lr", "checkpoint", "pause", "resume"]
        assert COMMANDS == tuple(n.value for n in CommandName)

    def test_a_member_reads_as_its_word(self):
        assert CommandName.SET_LR == "set_lr" and str(CommandName.SET_LR) == "set_lr"
        assert f"{CommandName.SET_LR}" == "set_lr" and json.dumps(CommandName.SET_LR) == '"set_lr"'

    def test_only_the_rate_commands_take_a_value(self):
        assert {n for n in CommandName if n.takes_value} == {CommandName.LR_SCALE, CommandName.SET_LR}


class TestCommand:
    """A Command keeps a CommandName, checks its value, and writes the plain word to its file."""

    def test_a_word_becomes_a_command_name(self):
        cmd = Command("pause", source="control")
        assert cmd.name is CommandName.PAUSE

    def test_the_file_carries_the_plain_word_and_reads_back(self):
        cmd = Command(CommandName.LR_SCALE, 0.5, source="control", id="abc")
        assert json.loads(cmd.to_json()) == {"name": "lr_scale", "value": 0.5, "source": "control", "id": "abc"}
        assert parse_command(cmd.to_json()) == cmd

    def test_a_file_from_an_older_kwb_still_parses(self):
        cmd = parse_command('{"name": "set_lr", "value": 0.001, "source": "control", "id": "x1", "extra": 1}')
        assert (cmd.name, cmd.value, cmd.source) == (CommandName.SET_LR, 0.001, "control")

    @pytest.mark.parametrize(
        ("name", "value", "message"),
        [
            ("jump", None, "unknown command 'jump'; expected one of stop, lr_scale, set_lr, checkpoint, pause, resume"),
            ("lr_scale", 0, "lr_scale needs a positive number, got 0"),
            ("set_lr", None, "set_lr needs a positive number, got None"),
            ("set_lr", float("inf"), "set_lr needs a finite number, got inf"),
        ],
    )
    def test_bad_commands_are_refused_with_a_reason(self, name: str, value: float | None, message: str):
        with pytest.raises(CommandError) as info:
            Command(name, value)
        assert str(info.value) == message

    @pytest.mark.parametrize("text", ["{not json", "[1]", '{"value": 1}', '{"name": ["stop"]}'])
    def test_bad_files_are_refused(self, text: str):
        with pytest.raises(CommandError):
            parse_command(text)


class TestControlVerb:
    """ControlVerb is kwb control's words, in its help's order, each naming one command."""

    def test_words_and_commands(self):
        assert [(v.value, v.command) for v in ControlVerb] == [
            ("stop", CommandName.STOP), ("pause", CommandName.PAUSE), ("resume", CommandName.RESUME),
            ("checkpoint", CommandName.CHECKPOINT), ("lr-drop", CommandName.LR_SCALE), ("set-lr", CommandName.SET_LR),
        ]  # fmt: skip

    def test_every_command_has_a_word(self):
        assert {v.command for v in ControlVerb} == set(CommandName)

    def test_lookup_by_word(self):
        assert ControlVerb("lr-drop") is ControlVerb.LR_DROP and str(ControlVerb.LR_DROP) == "lr-drop"
        with pytest.raises(ValueError):
            ControlVerb("lr_scale")


class TestAcknowledgement:
    """Command.acknowledged_by is the one place that knows which event answers which command."""

    def test_every_command_is_covered(self):
        assert set(ACKNOWLEDGED_BY) == set(CommandName)

    @pytest.mark.parametrize(
        ("cmd", "event"),
        [
            (Command("stop"), ev.Stopping(reason="user")),
            (Command("stop"), ev.RunEnded(status="stopped")),
            (Command("lr_scale", 0.5, source="control"), ev.LrChanged(old=0.1, new=0.05, source="control")),
            (Command("set_lr", 0.01), ev.LrChanged(old=0.1, new=0.01, source="user")),
            (Command("checkpoint"), ev.CheckpointSaved(path="m.keras", kind="manual")),
            (Command("pause"), ev.Paused(epoch=0, step=1)),
            (Command("resume"), ev.Resumed(epoch=0, step=1, paused_s=1.0)),
        ],
        ids=lambda x: getattr(x, "type", None) or str(getattr(x, "name", "")),
    )
    def test_acknowledged(self, cmd: Command, event: ev.Event):
        assert cmd.acknowledged_by(event) and not cmd.refused_by(event)

    @pytest.mark.parametrize(
        ("cmd", "event"),
        [
            (Command("lr_scale", 0.5, source="control"), ev.LrChanged(old=0.1, new=0.05, source="schedule")),
            (Command("checkpoint"), ev.CheckpointSaved(path="best.keras", kind="best")),
            (Command("pause"), ev.Resumed(epoch=0, step=1, paused_s=1.0)),
            (Command("resume"), ev.RunEnded(status="stopped")),
        ],
        ids=["someone-else's-lr-change", "best-checkpoint", "pause-vs-resumed", "resume-vs-run-ended"],
    )
    def test_not_acknowledged(self, cmd: Command, event: ev.Event):
        assert not cmd.acknowledged_by(event)

    def test_a_refusal_names_its_command(self):
        assert Command("resume").refused_by(ev.Error(message="not paused", command="resume"))
        assert not Command("pause").refused_by(ev.Error(message="not paused", command="resume"))


class TestControl:
    """Control is the inbox: a flag read without a lock, commands drained in order, a wait that wakes."""

    def test_send_and_drain(self):
        control = Control()
        assert not control.pending
        control.pause()
        control.lr_scale(0.5)
        assert control.pending
        assert [(c.name, c.value) for c in control.drain()] == [(CommandName.PAUSE, None), (CommandName.LR_SCALE, 0.5)]
        assert not control.pending and control.drain() == []

    def test_wait_wakes_on_a_command_from_another_thread(self):
        control = Control()
        assert not control.wait(0.01)
        timer = threading.Timer(0.05, control.stop)
        timer.start()
        assert control.wait(10)
        timer.join()
        assert [c.name for c in control.drain()] == [CommandName.STOP]
