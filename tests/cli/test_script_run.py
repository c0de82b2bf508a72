"""``kwb run SCRIPT``: real processes running tiny unmodified Keras scripts; every fit a kwb run."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from engine.runs import read_status

ROOT = Path(__file__).resolve().parents[2]

COMMON = """
import sys
import numpy as np
import keras
import tensorflow as tf

rng = np.random.default_rng(0)
x = rng.normal(size=(256, 4)).astype("float32")
y = (x.sum(axis=1) > 0).astype("int32")


def mlp():
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(8, activation="relu"), keras.layers.Dense(2, activation="softmax")])
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    return model
"""

EVERY_KIND = COMMON + """
# 1. NumPy arrays, Sequential, validation_split, class_weight
mlp().fit(x, y, epochs=2, batch_size=32, validation_split=0.25, class_weight={0: 1.0, 1: 2.0}, verbose=0)

# 2. tf.data, functional, validation_data, a LearningRateSchedule optimizer
inputs = keras.Input((4,))
outputs = keras.layers.Dense(2, activation="softmax")(keras.layers.Dense(8, activation="relu")(inputs))
functional = keras.Model(inputs, outputs)
schedule = keras.optimizers.schedules.ExponentialDecay(0.01, decay_steps=10, decay_rate=0.9)
functional.compile(optimizer=keras.optimizers.Adam(schedule), loss="sparse_categorical_crossentropy")
train = tf.data.Dataset.from_tensor_slices((x, y)).batch(32)
functional.fit(train, epochs=2, validation_data=train.take(2), verbose=0)

# 3. PyDataset, a subclassed model
class Batches(keras.utils.PyDataset):
    def __len__(self):
        return 8
    def __getitem__(self, i):
        return x[i * 32:(i + 1) * 32], y[i * 32:(i + 1) * 32]

class Tiny(keras.Model):
    def __init__(self):
        super().__init__()
        self.hidden = keras.layers.Dense(8, activation="relu")
        self.out = keras.layers.Dense(2, activation="softmax")
    def call(self, inputs):
        return self.out(self.hidden(inputs))

subclassed = Tiny()
subclassed.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
subclassed.fit(Batches(), epochs=2, verbose=0)

# 4. a Python generator with steps_per_epoch
def forever():
    while True:
        for i in range(0, 256, 32):
            yield x[i:i + 32], y[i:i + 32]

mlp().fit(forever(), steps_per_epoch=4, epochs=2, verbose=0)
print("script went on after its fits", sys.argv)
"""


def kwb(*args: str, cwd: Path, timeout: float = 300, **kwargs) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2", "PYTHONPATH": str(ROOT)}
    return subprocess.run([sys.executable, "-m", "tui.cli", *args], cwd=cwd, capture_output=True, text=True,
                          timeout=timeout, env=env, **kwargs)  # fmt: skip


def with_common(body: str) -> str:
    return COMMON + textwrap.dedent(body)


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def runs_of(tmp_path: Path) -> list[Path]:
    root = tmp_path / "runs"
    return sorted(root.iterdir(), key=lambda p: p.name.rsplit("-", 1)[-1]) if root.exists() else []


def status(run: Path) -> dict:
    return json.loads((run / "status.json").read_text())


def state_now(run: Path) -> str | None:
    """The state of a run that may still be starting: its folder can exist a moment before its status.json."""
    return (read_status(run) or {}).get("state")


def events(run: Path) -> list[dict]:
    return [json.loads(line) for line in (run / "events.jsonl").read_text().splitlines()]


@pytest.fixture(scope="module")
def every_kind(tmp_path_factory) -> tuple[Path, subprocess.CompletedProcess[str]]:
    tmp = tmp_path_factory.mktemp("every-kind")
    script = write(tmp, "train.py", EVERY_KIND)
    return tmp, kwb("run", script.name, "--flag", "value", cwd=tmp)


class TestEveryFitIsARun:
    """NumPy, tf.data, PyDataset and a generator; Sequential, functional and subclassed: four fits, four runs."""

    def test_the_script_runs_as_written(self, every_kind):
        tmp, done = every_kind
        assert done.returncode == 0, done.stderr
        assert "script went on after its fits ['train.py', '--flag', 'value']" in done.stdout  # argv[0] as typed
        assert done.stderr.count("kwb: recording run ") == 4

    def test_four_runs_named_after_the_script(self, every_kind):
        tmp, _ = every_kind
        runs = runs_of(tmp)
        assert [r.name.split("-", 2)[2] for r in runs] == ["train-1", "train-2", "train-3", "train-4"]
        for run in runs:
            assert status(run)["state"] == "finished", run
            assert status(run)["epochs_done"] == 2
            kinds = [e["type"] for e in events(run)]
            assert kinds[0] == "run_started" and kinds[-1] == "run_ended" and kinds.count("epoch_ended") == 2
            assert (run / "history.csv").read_text().count("\n") == 3
            assert not (run / "config.yaml").exists()

    def test_script_json_records_the_script_and_the_fit(self, every_kind):
        tmp, _ = every_kind
        first, second, third, fourth = (json.loads((r / "script.json").read_text()) for r in runs_of(tmp))
        assert first["script"] == str(tmp / "train.py") and first["args"] == ["--flag", "value"]
        assert first["cwd"] == str(tmp) and {"python", "keras", "tensorflow"} <= set(first["versions"])
        assert first["fit"]["validation_split"] == 0.25 and first["fit"]["class_weight"] is True
        assert first["fit"]["x"] == "ndarray (256, 4)" and first["model"]["class"] == "Sequential"
        assert any("dense" in line.lower() for line in first["model"]["summary"])
        assert second["fit"]["validation_data"] == "_TakeDataset" and second["model"]["class"] == "Functional"
        assert third["fit"]["x"] == "Batches" and third["model"]["class"] == "Tiny"
        assert fourth["fit"]["x"] == "generator" and fourth["fit"]["steps_per_epoch"] == 4

    def test_models_are_saved_and_load(self, every_kind):
        tmp, _ = every_kind
        runs = runs_of(tmp)
        for run in runs[:2] + runs[3:]:
            assert (run / "model.keras").exists(), run
        # A subclassed model without get_config cannot be saved as .keras: its weights are.
        third = runs[2]
        assert (third / "model.keras").exists() or (third / "model.weights.h5").exists()

    def test_steps_are_known_or_left_out(self, every_kind):
        tmp, _ = every_kind
        started = [events(r)[0] for r in runs_of(tmp)]
        assert started[0]["steps_per_epoch"] == 6  # 192 training rows in batches of 32
        assert started[2]["steps_per_epoch"] == 8 and started[3]["steps_per_epoch"] == 4

    def test_validation_metrics_are_recorded(self, every_kind):
        tmp, _ = every_kind
        first = runs_of(tmp)[0]
        ended = [e for e in events(first) if e["type"] == "epoch_ended"]
        assert {"loss", "accuracy", "val_loss", "val_accuracy", "learning_rate"} <= set(ended[0]["logs"])


class TestSteering:
    """A detached script is steered from another process; kwb's stop ends fit and the script goes on."""

    def test_detach_lr_drop_on_a_schedule_checkpoint_stop(self, tmp_path: Path):
        script = write(tmp_path, "long.py", with_common("""
            schedule = keras.optimizers.schedules.ExponentialDecay(0.01, decay_steps=100, decay_rate=0.9)
            model = mlp()
            model.compile(optimizer=keras.optimizers.Adam(schedule), loss="sparse_categorical_crossentropy")
            history = model.fit(x, y, epochs=10000, batch_size=8, verbose=0)
            print("fit returned after", len(history.history["loss"]), "epochs")
            model.save("mine.keras")
            print("the script saved its own model")
        """))
        started = kwb("run", "--detach", str(script), cwd=tmp_path, timeout=120)
        assert started.returncode == 0, started.stdout + started.stderr
        (run,) = runs_of(tmp_path)
        assert f"run {run.name}" in started.stdout
        deadline = time.monotonic() + 120
        while state_now(run) != "running" and time.monotonic() < deadline:
            time.sleep(0.2)
        for verb in (["lr-drop"], ["checkpoint"], ["stop"]):
            done = kwb("control", run.name, *verb, "--runs-dir", str(tmp_path / "runs"), cwd=tmp_path, timeout=60)
            assert done.returncode == 0, done.stdout + done.stderr
        deadline = time.monotonic() + 60
        while "the script saved its own model" not in (run / "output.log").read_text() and time.monotonic() < deadline:
            time.sleep(0.2)
        output = (run / "output.log").read_text()
        assert "fit returned after" in output and "the script saved its own model" in output
        assert status(run)["state"] == "stopped"
        kinds = [e["type"] for e in events(run)]
        assert {"lr_changed", "checkpoint_saved", "stopping", "run_ended"} <= set(kinds)
        lr = next(e for e in events(run) if e["type"] == "lr_changed")
        assert lr["new"] == pytest.approx(lr["old"] * 0.5, rel=1e-3)
        assert (run / "checkpoints" / "manual-001.keras").exists()

    def test_first_ctrl_c_stops_fit_and_the_script_goes_on(self, tmp_path: Path):
        script = write(tmp_path, "long.py", with_common("""
            history = mlp().fit(x, y, epochs=10000, batch_size=8, verbose=0)
            print("fit returned after", len(history.history["loss"]), "epochs", flush=True)
        """))
        env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2", "PYTHONPATH": str(ROOT)}
        proc = subprocess.Popen([sys.executable, "-m", "tui.cli", "run", str(script)], cwd=tmp_path, env=env,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)  # fmt: skip
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and not any(state_now(r) == "running" for r in runs_of(tmp_path)):
            time.sleep(0.2)
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=60)
        assert proc.returncode == 0, err
        assert "fit returned after" in out and "stopping at the end of this batch" in err
        (run,) = runs_of(tmp_path)
        assert (status(run)["state"], status(run)["reason"]) == ("stopped", "interrupt")


class TestFailures:
    """The user's own exception is shown as Python shows it; the run is failed with error.txt; exit 1."""

    def test_an_exception_in_fit(self, tmp_path: Path):
        script = write(tmp_path, "boom.py", with_common("""
            class Boom(keras.callbacks.Callback):
                def on_epoch_end(self, epoch, logs=None):
                    raise RuntimeError("the user's own bug")

            mlp().fit(x, y, epochs=3, verbose=0, callbacks=[Boom()])
        """))
        done = kwb("run", str(script), cwd=tmp_path)
        assert done.returncode == 1
        assert done.stderr.count("Traceback (most recent call last):") == 1
        assert f'File "{script}"' in done.stderr and "RuntimeError: the user's own bug" in done.stderr
        assert "script_runner.py" not in done.stderr and "engine/live.py" not in done.stderr
        (run,) = runs_of(tmp_path)
        assert status(run)["state"] == "failed" and "the user's own bug" in status(run)["error"]
        assert "RuntimeError: the user's own bug" in (run / "error.txt").read_text()

    def test_json_stdout_is_the_event_stream_alone(self, tmp_path: Path):
        script = write(tmp_path, "talks.py", with_common("""
            print("the script talks")
            mlp().fit(x, y, epochs=1, verbose=0)
            print("and talks again")
        """))
        done = kwb("run", "--json", str(script), cwd=tmp_path)
        assert done.returncode == 0, done.stderr
        kinds = [json.loads(line)["type"] for line in done.stdout.splitlines()]  # every line is JSON
        assert kinds[0] == "run_started" and kinds[-1] == "run_ended"
        assert "the script talks" in done.stderr and "and talks again" in done.stderr

    def test_the_scripts_exit_status_is_kept(self, tmp_path: Path):
        script = write(tmp_path, "exits.py", "import sys\nprint('bye')\nsys.exit(3)\n")
        done = kwb("run", str(script), cwd=tmp_path)
        assert (done.returncode, done.stdout) == (3, "bye\n")
        assert runs_of(tmp_path) == []
        env = {k: v for k, v in os.environ.items() if k != "TF_CPP_MIN_LOG_LEVEL"} | {"PYTHONPATH": str(ROOT)}
        plain = subprocess.run([sys.executable, "-m", "tui.cli", "run", str(script)], cwd=tmp_path, env=env,
                               capture_output=True, text=True, timeout=300)  # fmt: skip
        assert (plain.returncode, plain.stdout, plain.stderr) == (3, "bye\n", "")  # no TensorFlow import noise


class TestBadInput:
    """A script that cannot run: one-screen message, exit 2, nothing written, no TensorFlow loaded."""

    @pytest.mark.parametrize(
        ("name", "content", "message"),
        [
            ("missing.py", None, "file not found"),
            ("folder", "dir", "this is a folder; give the Python script to run"),
            ("binary.py", b"\x7fELF\x00\x01", "not a Python script (a binary file)"),
            ("broken.py", "def f(:\n    pass\n", "not valid Python: invalid syntax (line 1, column 7)\n    def f(:"),
        ],
    )  # fmt: skip
    def test_bad_script(self, tmp_path: Path, name: str, content, message: str):
        path = tmp_path / name
        if content == "dir":
            path.mkdir()
        elif isinstance(content, bytes):
            path.write_bytes(content)
        elif content is not None:
            path.write_text(content)
        done = kwb("run", str(path), cwd=tmp_path, timeout=60)
        assert done.returncode == 2
        assert done.stderr == f"error in {path}:\n  {message}\n"
        assert not (tmp_path / "runs").exists()

    def test_resume_and_evaluate_of_a_script_run_say_why_not(self, tmp_path: Path):
        from engine.runs import create_script_run_dir

        run = create_script_run_dir("train-1", tmp_path / "runs", {"script": "/x/train.py", "argv0": "train.py",
                                                                   "args": ["--epochs", "3"]})  # fmt: skip
        run.write_status(state="stopped")
        done = kwb("resume", run.id, "--runs-dir", str(tmp_path / "runs"), cwd=tmp_path, timeout=60)
        assert done.returncode == 2
        assert "a script run is continued by running the script again (kwb run train.py --epochs 3)" in done.stderr
        done = kwb("evaluate", run.id, "--runs-dir", str(tmp_path / "runs"), cwd=tmp_path, timeout=60)
        assert done.returncode == 2 and "it has no data config for kwb evaluate" in done.stderr
