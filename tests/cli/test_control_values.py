"""Values are named the way the user typed them: kwb control's VALUE and --factor, --workers, runtime.devices."""

from __future__ import annotations

from pathlib import Path

import pytest

from engine.config_io import parse_config
from engine.runs import RunDir, create_run_dir

ROOT = Path(__file__).resolve().parents[2]
SPIRALS = ROOT / "sample_configs" / "spirals.yaml"
MINIMAL = {"name": "mini", "model": {"layers": [{"Dense": {"units": 2}}]}}


@pytest.fixture
def live_run(tmp_path: Path) -> RunDir:
    """A run directory whose status says this (live) process is starting it; nobody reads its commands."""
    return create_run_dir(parse_config(MINIMAL), tmp_path / "runs")


class TestControlValues:
    """kwb control quotes a bad value as typed, names --factor, and says when lr-drop raises the rate."""

    @pytest.mark.parametrize(
        ("args", "message"),
        [
            (["set-lr", "-1"], "VALUE: -1 is not a learning rate: it must be positive"),
            (["set-lr", "-1e-3"], "VALUE: -1e-3 is not a learning rate: it must be positive"),
            (["set-lr", "0"], "VALUE: 0 is not a learning rate: it must be positive"),
            (["set-lr", "fast"], "VALUE: fast is not a learning rate: expected a positive number, e.g. 0.0005"),
            (["set-lr", "inf"], "VALUE: inf is not a learning rate: it must be finite"),
            (["lr-drop", "--factor", "0"], "--factor: 0 is not a factor: it must be positive (0.5 halves the learning rate)"),
            (["lr-drop", "--factor", "-2"], "--factor: -2 is not a factor: it must be positive (0.5 halves the learning rate)"),
            (["lr-drop", "0.3"], "lr-drop: takes no value, got 0.3; its factor goes in --factor, e.g. --factor 0.3"),
            (["stop", "--bogus"], "stop: no such option: --bogus"),
        ],
    )
    def test_a_bad_value_is_quoted_as_typed(self, kwb, live_run: RunDir, args: list[str], message: str) -> None:
        result = kwb("control", live_run.id, *args, "--runs-dir", live_run.path.parent)
        assert result.code == 2, result
        assert result.err.strip() == f"error:\n  {message}", result
        assert list(live_run.control.iterdir()) == []  # nothing was sent

    def test_a_factor_above_one_is_said_and_still_sent(self, kwb, live_run: RunDir) -> None:
        result = kwb("control", live_run.id, "lr-drop", "--factor", "5", "--timeout", "0.2", "--runs-dir", live_run.path.parent)
        assert result.err.splitlines()[0] == "kwb control: --factor 5 raises the learning rate ×5", result
        assert "no acknowledgement" in result.err  # sent; nobody was there to answer
        assert len([p for p in live_run.control.iterdir() if p.suffix == ".json"]) == 1

    def test_a_factor_below_one_says_nothing_more(self, kwb, live_run: RunDir) -> None:
        result = kwb("control", live_run.id, "lr-drop", "--factor", "0.5", "--timeout", "0.2", "--runs-dir", live_run.path.parent)
        assert "raises" not in result.err and "no acknowledgement" in result.err, result


class TestFlagsNamedOnce:
    """A bad --workers reads as one sentence after the flag's name, not the name twice."""

    @pytest.mark.parametrize(
        ("workers", "message"),
        [
            ("127.0.0.1:1", "--workers: expected at least two host:port entries, comma-separated"),
            ("127.0.0.1:1,127.0.0.1", "--workers: '127.0.0.1' is not host:port (e.g. 10.0.0.5:12345)"),
        ],
    )
    def test_workers(self, kwb, workers: str, message: str) -> None:
        result = kwb("train", SPIRALS, "--workers", workers, "--worker-index", "0")
        assert result.code == 2 and result.err.strip() == f"error:\n  {message}", result
        assert not Path("runs").exists()


class TestDevicesThatAreNotThere:
    """runtime.devices naming a GPU this machine lacks: doctor reports it, validate and train refuse it (exit 2)."""

    def test_doctor_validate_and_train_refuse_a_missing_gpu(self, kwb, write_config) -> None:
        import tensorflow as tf
        import yaml

        absent = f"/gpu:{len(tf.config.list_physical_devices('GPU'))}"
        raw = yaml.safe_load(SPIRALS.read_text())
        raw["runtime"] = {"strategy": "mirrored", "devices": [absent]}
        config = write_config(raw, "gpu.yaml")
        doctor = kwb("doctor", config)
        assert doctor.code == 1 and f"problem: runtime.devices lists {absent}, but TensorFlow" in doctor.out, doctor
        for verb in ("validate", "train"):
            result = kwb(verb, config)
            assert result.code == 2, result
            assert f"runtime.devices: lists {absent}, but TensorFlow" in result.err, result
            assert "Traceback" not in result.err + result.out
        assert not Path("runs").exists() or not any(Path("runs").iterdir())  # no run directory

    def test_a_gpu_listed_with_device_cpu_is_refused(self) -> None:
        from engine.doctor import device_problem

        rt = parse_config({**MINIMAL, "runtime": {"device": "cpu", "devices": ["/GPU:0"]}}).runtime
        assert device_problem(rt, 1) == ("runtime.devices", "lists /GPU:0, but runtime.device is cpu: drop one of them")
        rt = parse_config({**MINIMAL, "runtime": {"devices": ["/device:GPU:1", "/cpu:0"]}}).runtime
        assert device_problem(rt, 2) is None
        assert device_problem(rt, 1)[1].startswith("lists /device:GPU:1, but TensorFlow sees 1 GPU")
