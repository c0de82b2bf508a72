"""``kwb train``: plain and --json output, exit codes 0/1, and Ctrl-C in a real process (130, stopped, saved)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

from engine import events as ev
from engine.runs import read_events, read_status

ROOT = Path(__file__).resolve().parents[2]
SPIRALS = ROOT / "sample_configs" / "spirals.yaml"
SMALL = ["--set", "data.samples=200", "--set", "fit.epochs=2", "--set", "callbacks.early_stopping=null",
         "--set", "callbacks.reduce_lr_on_plateau=null"]  # fmt: skip


def only_run(runs: Path) -> Path:
    (run,) = [p for p in runs.iterdir() if p.is_dir()]
    return run


def write_overflow_config(folder: Path) -> Path:
    rng = np.random.default_rng(0)
    np.savez(folder / "huge.npz", x=rng.normal(size=(64, 3)).astype("float32"), y=np.full(64, 1e30, dtype="float32"))
    path = folder / "overflow.yaml"
    path.write_text(
        "name: overflow\ndata: {source: npz, path: huge.npz, x: x, y: y}\n"
        "model: {layers: [{Dense: {units: 1}}]}\ncompile: {loss: mse, metrics: [mae]}\nfit: {epochs: 3}\n"
    )
    return path


class TestTrain:
    """kwb train prints progress for a person or JSON for a program and exits 0."""

    def test_train_prints_progress_and_exits_0(self, kwb, tmp_path: Path):
        result = kwb("train", SPIRALS, *SMALL)
        assert result.code == 0, result
        run = only_run(tmp_path / "runs")  # the default runs folder, under the working directory
        lines = result.out.splitlines()
        assert lines[0].startswith(f"run {run.name}  (8,642 parameters, 140 train / 40 val samples, device cpu")
        assert lines[1] == f"  dir {(tmp_path / 'runs' / run.name).resolve()}"  # absolute: valid from any folder
        assert [line[:12] for line in lines if line.startswith("epoch")] == ["epoch   1/2 ", "epoch   2/2 "]
        assert all(" loss " in line and " val_accuracy " in line for line in lines if line.startswith("epoch"))
        assert any(line.startswith("finished after 2 epochs in ") for line in lines)
        assert any(line.startswith("  final  ") and "test_loss" in line and "test_accuracy" in line for line in lines)
        assert any(line.startswith("  best   val_accuracy ") for line in lines)
        assert lines[-1].endswith("model.keras")
        assert "\r" not in result.out  # piped: plain lines, no live progress line
        assert read_status(run)["state"] == "finished"
        assert (run / "model.keras").exists()
        assert "Traceback" not in result.err

    def test_train_json_prints_the_event_stream(self, kwb, tmp_path: Path):
        result = kwb("train", SPIRALS, *SMALL, "--json", "--runs-dir", tmp_path / "elsewhere")
        assert result.code == 0, result
        events = [ev.decode(line) for line in result.out.splitlines()]  # every line is an event
        assert events[0].type == "run_started" and events[-1].type == "run_ended"
        assert events[-1].status == "finished" and events[-1].epochs_completed == 2
        run = only_run(tmp_path / "elsewhere")
        assert not (tmp_path / "runs").exists()
        assert events[0].run_id == run.name
        # Same stream as the run directory's events.jsonl.
        assert [e.type for e in events] == [e.type for e in read_events(run)]


class TestTrainFailure:
    """A failed run exits 1 and says where to look; --json stays JSON."""

    def test_failed_training_exits_1_and_says_where_to_look(self, kwb, tmp_path: Path):
        result = kwb("train", write_overflow_config(tmp_path))
        assert result.code == 1, result
        run = only_run(tmp_path / "runs")
        assert result.err.strip().splitlines() == [
            "training failed: the loss became NaN or infinite in epoch 1; training stopped",
            f"  details: {run.resolve()}/error.txt, {run.resolve()}/train.log",
        ]
        assert (run / "error.txt").exists() and (run / "train.log").exists()
        assert read_status(run)["state"] == "failed"
        assert "failed (nan) after 1 epoch " in result.out

    def test_failed_training_json_stays_json(self, kwb, tmp_path: Path):
        """Nothing but events on stdout with --json, even when Keras' TerminateOnNaN has something to say."""
        result = kwb("train", write_overflow_config(tmp_path), "--json")
        assert result.code == 1, result
        events = [ev.decode(line) for line in result.out.splitlines()]
        assert events[-1].type == "run_ended" and (events[-1].status, events[-1].reason) == ("failed", "nan")
        assert any(isinstance(e, ev.Error) and e.fatal for e in events)


class TestInterrupt:
    """Ctrl-C stops at a batch boundary, saves and exits 130."""

    def test_ctrl_c_stops_saves_and_exits_130(self, kwb, tmp_path: Path):
        """A real ``kwb train`` process: SIGINT after the first epoch stops at a batch boundary and saves."""
        runs = tmp_path / "runs"
        proc = subprocess.Popen(
            [sys.executable, "-m", "tui.cli", "train", str(SPIRALS), "--runs-dir", str(runs),
             "--set", "data.samples=4000", "--set", "fit.epochs=500", "--set", "callbacks.early_stopping=null"],
            cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
            env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"},
        )  # fmt: skip
        try:
            deadline = time.monotonic() + 120
            run = None
            while time.monotonic() < deadline and proc.poll() is None:
                dirs = [p for p in runs.iterdir() if p.is_dir()] if runs.exists() else []
                if dirs and any(isinstance(e, ev.EpochEnded) for e in read_events(dirs[0])):
                    run = dirs[0]
                    break
                time.sleep(0.1)
            assert run is not None, f"no epoch ended; exit {proc.poll()}"

            # While it runs, another process's `kwb control` reaches it through the run directory.
            ack = kwb("control", run.name, "lr-drop", "--runs-dir", runs)
            assert ack.code == 0 and ack.out.strip() == "learning rate 0.005 -> 0.0025", ack

            proc.send_signal(signal.SIGINT)
            stdout, stderr = proc.communicate(timeout=60)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.communicate()
        assert proc.returncode == 130, stdout + stderr
        status = read_status(run)
        assert (status["state"], status["reason"]) == ("stopped", "interrupt")
        assert (run / "model.keras").exists() and status["model"] == str(run / "model.keras")
        events = read_events(run)
        assert [e.reason for e in events if isinstance(e, ev.Stopping)] == ["interrupt"]
        assert events[-1].type == "run_ended" and events[-1].status == "stopped"
        assert "interrupted: stopping at the next batch boundary" in stdout
        assert "stopped (interrupt) after" in stdout
        assert "Traceback" not in stderr
        import keras

        assert keras.models.load_model(run / "model.keras").count_params() == 8642
        json.loads((run / "status.json").read_text())  # whole, not torn
