"""engine.events: every event type survives encode/decode, NaN and infinities included; bad lines are refused."""

from __future__ import annotations

import dataclasses
import json
import math

import pytest

from engine import events as ev
from engine.control import CommandName

NAN, INF = float("nan"), float("inf")

SAMPLES: list[ev.Event] = [
    ev.RunStarted(
        run_id="20240101-120000-spirals", run_dir="/tmp/runs/20240101-120000-spirals", name="spirals",
        epochs=30, initial_epoch=2, steps_per_epoch=50, batch_size=32, train_samples=1600, val_samples=400,
        params=8642, metrics=("loss", "accuracy", "val_loss", "val_accuracy"), learning_rate=0.005,
        strategy="mirrored", replicas=2, device="gpu×2", t=1.5,
    ),  # fmt: skip
    ev.RunStarted(run_id="r", run_dir=None, name="n", epochs=1),
    ev.EpochStarted(epoch=3, epochs=30),
    ev.Batch(epoch=0, step=7, steps=50, logs={"loss": 0.5, "accuracy": 0.75}, samples_per_s=1234.5),
    ev.Batch(epoch=0, step=0, steps=None, logs={}),
    ev.Batch(epoch=1, step=3, steps=9, logs={"loss": NAN, "accuracy": INF, "mae": -INF}, samples_per_s=NAN),
    ev.EpochEnded(epoch=4, logs={"loss": 0.25, "val_loss": 0.3, "learning_rate": 1e-3}, learning_rate=1e-3, duration_s=2.5),
    ev.EpochEnded(epoch=5, logs={"loss": NAN, "val_loss": INF}, learning_rate=NAN, duration_s=INF),
    ev.LrChanged(old=0.01, new=0.005, source="user", epoch=2, step=17),
    ev.LrChanged(old=INF, new=-INF, source="schedule"),
    ev.CheckpointSaved(path="/tmp/runs/r/checkpoints/manual-001.keras", kind="manual", epoch=1, step=3),
    ev.CheckpointSaved(path="best.keras", kind="best"),
    ev.Paused(epoch=2, step=10),
    ev.Resumed(epoch=2, step=10, paused_s=3.25),
    ev.Stopping(reason="user", epoch=3, step=4),
    ev.Stopping(reason="early_stopping"),
    ev.RunEnded(
        status="finished", epochs_completed=12, duration_s=61.0, model_path="/tmp/runs/r/model.keras",
        best={"val_accuracy": 0.9, "loss": NAN}, test={"test_loss": INF}, reason="early_stopping",
    ),  # fmt: skip
    ev.RunEnded(status="failed"),
    ev.Error(message="boom", command=None, fatal=True, traceback="Traceback (most recent call last):\n  ...\nValueError: boom\n"),
    ev.Error(message="not paused", command="resume"),
    ev.Log(message="data: synthetic spirals", level="info"),
    ev.Log(message="ünïcødé ✓ \"quoted\"\nnew line", level="warning"),
    # Strings that spell a non-finite number stay strings.
    ev.Log(message="nan"),
    ev.Error(message="inf", command="set_lr"),
    ev.RunStarted(run_id="20240101-120000-nan", run_dir=None, name="nan", epochs=2, device="-inf"),
    ev.RunEnded(status="stopped", reason="nan"),
]


def same(a: object, b: object) -> bool:
    """Equality that treats NaN as equal to NaN (and tells 1 from True, and str from float)."""
    if isinstance(a, float) and isinstance(b, float):
        return (math.isnan(a) and math.isnan(b)) or a == b
    if type(a) is not type(b) and not (isinstance(a, (int, float)) and isinstance(b, (int, float))):
        return False
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)  # type: ignore[union-attr]
    if isinstance(a, (list, tuple)):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b))  # type: ignore[arg-type]
    if dataclasses.is_dataclass(a):
        return all(same(getattr(a, f.name), getattr(b, f.name)) for f in dataclasses.fields(a))  # type: ignore[arg-type]
    return a == b


def _leaves(event: ev.Event):
    for f in dataclasses.fields(event):
        value = getattr(event, f.name)
        if isinstance(value, dict):
            yield from value.values()
        elif isinstance(value, (list, tuple)):
            yield from value
        else:
            yield value


class TestRoundTrip:
    """Every event type survives encode then decode, NaN and infinities as strict JSON."""

    def test_samples_cover_every_event_type(self):
        assert {type(e) for e in SAMPLES} == set(ev.EVENT_TYPES.values())
        assert set(ev.EVENT_TYPES) == {
            "run_started", "epoch_started", "batch", "epoch_ended", "lr_changed", "checkpoint_saved",
            "paused", "resumed", "stopping", "run_ended", "error", "log",
        }  # fmt: skip

    @pytest.mark.parametrize("event", SAMPLES, ids=lambda e: e.type)
    def test_round_trip(self, event: ev.Event):
        line = ev.encode(event)
        assert "\n" not in line
        back = ev.decode(line)
        assert type(back) is type(event)
        assert same(back, event), f"{event!r}\n!=\n{back!r}"
        if not any(isinstance(v, float) and math.isnan(v) for v in _leaves(event)):
            assert back == event
        assert ev.decode(line.encode("utf-8")) == back or same(ev.decode(line.encode("utf-8")), back)
        assert ev.encode(back) == line

    @pytest.mark.parametrize("event", [e for e in SAMPLES if any(isinstance(v, float) and not math.isfinite(v) for v in _leaves(e))], ids=lambda e: e.type)
    def test_non_finite_numbers_are_strict_json(self, event: ev.Event):
        def refuse(token: str) -> float:
            raise AssertionError(f"bare {token} in JSON output")

        raw = json.loads(ev.encode(event), parse_constant=refuse)
        assert raw["type"] == event.type

    def test_encoded_line_is_compact_and_tagged(self):
        line = ev.encode(ev.Paused(epoch=1, step=2, t=3.0))
        assert line == '{"type":"paused","t":3.0,"epoch":1,"step":2}'

    def test_command_names_are_written_as_plain_words(self):
        """A refusal names its command as the word in events.jsonl, which old readers and ``kwb control`` match."""
        line = ev.encode(ev.Error(message="not paused", command=CommandName.RESUME, t=1.0))
        assert json.loads(line)["command"] == "resume"
        assert ev.decode(line) == ev.Error(message="not paused", command="resume", t=1.0)


class TestDecode:
    """decode ignores fields it does not know and refuses bad lines with a reason."""

    def test_unknown_fields_are_ignored(self):
        line = '{"type":"paused","t":1.0,"epoch":1,"step":2,"added_in_v2":{"x":1}}'
        assert ev.decode(line) == ev.Paused(epoch=1, step=2, t=1.0)

    @pytest.mark.parametrize(
        ("line", "message"),
        [
            ('{"type":"telemetry","t":1.0}', "unknown event type 'telemetry'"),
            ('{"type":"batch","t":1.0,"epoch":0,"step":3,"steps":10,"logs":{"lo', "not JSON"),
            ("", "not JSON"),
            ("[1, 2]", "an event must be a JSON object with a 'type' field"),
            ('{"epoch": 1}', "an event must be a JSON object with a 'type' field"),
            ('{"type":"paused","t":1.0,"epoch":1}', "paused: "),
        ],
        ids=["unknown-type", "torn-line", "empty", "not-an-object", "no-type", "missing-field"],
    )
    def test_decode_refuses_bad_lines(self, line: str, message: str):
        with pytest.raises(ev.DecodeError) as info:
            ev.decode(line)
        assert str(info.value).startswith(message)
        assert isinstance(info.value, ValueError)


class TestEventObjects:
    """Events are frozen and stamped with the time they were made."""

    def test_t_defaults_to_now(self):
        import time

        before = time.time()
        e = ev.Log(message="x")
        assert before <= e.t <= time.time()

    def test_events_are_frozen(self):
        e = ev.EpochStarted(epoch=0, epochs=1)
        with pytest.raises(dataclasses.FrozenInstanceError):
            e.epoch = 2  # type: ignore[misc]


class TestDamagedLines:
    """A line with the right shape but wrong types is refused by decode, so no reader (the dashboard's reducer) sees it."""

    @pytest.mark.parametrize(
        "line",
        [
            '{"type":"epoch_ended","epoch":"x","logs":{}}',
            '{"type":"epoch_ended","epoch":5,"logs":[1]}',
            '{"type":"epoch_ended","epoch":5,"logs":{"loss":"high"}}',
            '{"type":"lr_changed","old":"a","new":null}',
            '{"type":"run_started","run_id":1,"run_dir":null,"name":"n","epochs":3}',
            b'\xff\xfe{\x00}\x00',
        ],
    )
    def test_refused(self, line):
        with pytest.raises(ev.DecodeError):
            ev.decode(line)

    def test_nan_written_as_a_string_still_reads(self):
        event = ev.decode('{"type":"epoch_ended","epoch":5,"logs":{"loss":"nan"}}')
        assert math.isnan(event.logs["loss"])
