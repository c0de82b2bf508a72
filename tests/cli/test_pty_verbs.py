"""Every ``kwb`` verb as a person types it (issue 14, point 8): in a real pseudo-terminal of 80 columns, and through a pipe.

Terminal-only paths (``kwb show``'s plots, progress lines, colours, the full-screen app)
run only when stdout is a terminal, so each verb runs twice, at the same time: once
with a pty as its stdin, stdout and stderr (``os.openpty``, 80×24 set by TIOCSWINSZ),
once with stdout and stderr piped. One tiny run is trained once for the module (by the
``train`` case itself). Each case asserts the exit status and that no traceback shows.
The full-screen app (``kwb``, ``kwb attach``) is driven in the pty and quit with
ctrl+q; through a pipe it refuses to start (exit 2) instead of hanging.
"""

from __future__ import annotations

import fcntl
import os
import struct
import subprocess
import sys
import termios
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[2]
SPIRALS = ROOT / "sample_configs" / "spirals.yaml"
TINY = ["--set", "data.samples=200", "--set", "fit.epochs=2", "--set", "callbacks.early_stopping=null"]
TIMEOUT = 240.0
"""Seconds one verb may take on a loaded machine (TensorFlow's import alone takes seconds)."""

SCRIPT = """\
import numpy as np, keras
model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(2, activation="softmax")])
model.compile("adam", "sparse_categorical_crossentropy", metrics=["accuracy"])
model.fit(np.zeros((32, 2), "float32"), np.zeros(32, "int32"), epochs=1, verbose=0)
print("script done")
"""


@dataclass
class Ran:
    code: int | None
    out: str

    def __str__(self) -> str:
        return f"exit {self.code}\n{self.out}"


class Verb:
    """``kwb ARGS`` started in a pty (or through a pipe); ``keys`` are typed into the pty once ``ready`` shows in its output."""

    def __init__(self, args: list[str], cwd: Path, env: dict[str, str], tty: bool, keys: bytes = b"", ready: str = "") -> None:
        self.chunks: list[bytes] = []
        argv = [sys.executable, "-m", "tui.cli", *args]
        if not tty:
            self.proc = subprocess.Popen(argv, cwd=cwd, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
            self.reader = threading.Thread(target=self._read, args=(self.proc.stdout.fileno(),), daemon=True)
        else:
            master, slave = os.openpty()
            fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 80, 0, 0))
            self.proc = subprocess.Popen(argv, cwd=cwd, env=env, stdin=slave, stdout=slave, stderr=slave, start_new_session=True)
            os.close(slave)
            self.master = master
            self.reader = threading.Thread(target=self._read, args=(master,), daemon=True)
        self.reader.start()
        self.keys, self.ready, self.tty = keys, ready, tty

    def _read(self, fd: int) -> None:
        while True:
            try:
                chunk = os.read(fd, 65536)
            except OSError:  # EIO: the pty's other side closed
                return
            if not chunk:
                return
            self.chunks.append(chunk)

    def text(self) -> str:
        return b"".join(self.chunks).decode("utf-8", "replace")

    def finish(self, deadline: float) -> Ran:
        """Type the keys when ready (again every 10 s until it exits), wait for the exit (killing it at ``deadline``), and return what it printed."""
        if self.tty and self.keys:
            while self.ready not in self.text() and self.proc.poll() is None and time.monotonic() < deadline:
                time.sleep(0.1)
            while self.proc.poll() is None and time.monotonic() < deadline:  # again, should the first be read too early
                time.sleep(0.5)
                os.write(self.master, self.keys)
                try:
                    self.proc.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    continue
        try:
            code = self.proc.wait(timeout=max(1.0, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            self.proc.kill()
            code = None
        self.reader.join(timeout=5)
        if self.tty:
            os.close(self.master)
        return Ran(code, self.text())


@pytest.fixture(scope="module")
def place(tmp_path_factory) -> dict[str, object]:
    """A working folder (cache, runs, inputs, script) and the environment every verb runs in."""
    home = tmp_path_factory.mktemp("pty")
    env = {k: v for k, v in os.environ.items() if k not in ("COLUMNS", "LINES")}
    env.update(TERM="xterm-256color", XDG_CACHE_HOME=str(home / "cache"), PYTHONPATH=str(ROOT))
    np.save(home / "x.npy", np.array([[0.1, 0.2], [-0.5, 0.3]], dtype="float32"))
    (home / "fit.py").write_text(SCRIPT)
    return {"home": home, "env": env}


def both(place: dict[str, object], args: list[str], keys: bytes = b"", ready: str = "") -> tuple[Ran, Ran]:
    """``kwb ARGS`` in a pty and through a pipe, side by side; (pty, pipe). ``{mode}`` in an argument reads pty or pipe."""
    home, env = place["home"], place["env"]
    started = [
        Verb([a.replace("{mode}", "pty" if tty else "pipe") for a in args], home, env, tty, keys, ready)  # type: ignore[arg-type]
        for tty in (True, False)
    ]
    deadline = time.monotonic() + TIMEOUT
    pty, pipe = (verb.finish(deadline) for verb in started)
    for ran in (pty, pipe):
        assert "Traceback" not in ran.out, ran
    return pty, pipe


@pytest.fixture(scope="module")
def trained(place) -> tuple[Path, Ran, Ran]:
    """``kwb train`` in the pty and through the pipe (two runs); the pty's run is the one the other verbs read."""
    pty, pipe = both(place, ["train", str(SPIRALS), "--runs-dir", "runs-{mode}", *TINY])
    runs = sorted((place["home"] / "runs-pty").glob("*"))  # type: ignore[operator]
    return (runs[0] if runs else None), pty, pipe


class TestTraining:
    """validate, train, resume and run: the verbs that train (or check) with TensorFlow."""

    def test_train(self, place, trained):
        run, pty, pipe = trained
        assert (pty.code, pipe.code) == (0, 0), f"{pty}\n---\n{pipe}"
        assert run is not None and (run / "model.keras").exists()
        assert "finished after 2 epochs" in pty.out and "finished after 2 epochs" in pipe.out
        assert "\r" in pty.out  # the terminal's progress line is redrawn in place

    def test_validate(self, place):
        pty, pipe = both(place, ["validate", str(SPIRALS), *TINY])
        assert (pty.code, pipe.code) == (0, 0), f"{pty}\n---\n{pipe}"

    def test_resume_a_finished_run_is_refused(self, place, trained):
        run = trained[0]
        pty, pipe = both(place, ["resume", str(run)])
        assert (pty.code, pipe.code) == (2, 2), f"{pty}\n---\n{pipe}"
        assert run.name in pty.out and run.name in pipe.out

    def test_run_a_script(self, place):
        pty, pipe = both(place, ["run", "--runs-dir", "runs-script-{mode}", "fit.py"])
        assert (pty.code, pipe.code) == (0, 0), f"{pty}\n---\n{pipe}"
        assert "script done" in pty.out and "script done" in pipe.out


class TestReading:
    """runs, show, control, evaluate, predict, inspect, doctor on the trained run."""

    def test_runs(self, place, trained):
        pty, pipe = both(place, ["runs", "--runs-dir", str(trained[0].parent)])
        assert (pty.code, pipe.code) == (0, 0)
        assert trained[0].name in pty.out and trained[0].name in pipe.out

    def test_show_plots_in_a_terminal_only(self, place, trained):
        """The terminal-only plot (plotext 6) draws within 80 columns; through a pipe there is no plot."""
        pty, pipe = both(place, ["show", str(trained[0])])
        assert (pty.code, pipe.code) == (0, 0), f"{pty}\n---\n{pipe}"
        assert "epoch" in pipe.out and "┤" not in pipe.out
        assert "┤" in pty.out  # a plot's axis
        plot = [line for line in _plain(pty.out).splitlines() if any(c in line for c in "┤└┌")]
        assert plot and max(len(line) for line in plot) <= 80, max(plot, key=len)
        # the legend is a line under each plot, not plotext's box over the curves' start
        lines = _plain(pty.out).splitlines()
        assert any(line.split() == ["━━", "loss", "━━", "val_loss"] for line in lines), lines
        assert not any("│ ⢕ loss" in line for line in lines)

    def test_show_plots_around_nan_and_missing_values(self, place, trained, tmp_path: Path):
        """A NaN loss (terminate_on_nan) or an epoch without validation (NA, validation_freq) has no point, and no traceback."""
        import shutil

        run = tmp_path / trained[0].name
        shutil.copytree(trained[0], run)
        header, *rows = (run / "history.csv").read_text().splitlines()
        cells = [row.split(",") for row in rows]
        cells[0][header.split(",").index("val_loss")] = "NA"
        cells[-1][header.split(",").index("loss")] = "nan"
        (run / "history.csv").write_text("\n".join([header, *(",".join(c) for c in cells)]) + "\n")
        pty, pipe = both(place, ["show", str(run)])
        assert (pty.code, pipe.code) == (0, 0) and "┤" in pty.out, f"{pty}\n---\n{pipe}"

    def test_control_a_finished_run_is_refused(self, place, trained):
        pty, pipe = both(place, ["control", str(trained[0]), "stop"])
        assert (pty.code, pipe.code) == (1, 1), f"{pty}\n---\n{pipe}"
        assert "finished" in pty.out and "finished" in pipe.out

    def test_evaluate(self, place, trained):
        pty, pipe = both(place, ["evaluate", str(trained[0])])
        assert (pty.code, pipe.code) == (0, 0), f"{pty}\n---\n{pipe}"
        assert "test_loss" in pty.out and "test_loss" in pipe.out

    def test_predict(self, place, trained):
        pty, pipe = both(place, ["predict", str(trained[0]), "x.npy"])
        assert (pty.code, pipe.code) == (0, 0), f"{pty}\n---\n{pipe}"
        assert "class" in pty.out and "class" in pipe.out

    def test_inspect(self, place, trained):
        pty, pipe = both(place, ["inspect", str(trained[0] / "model.keras")])
        assert (pty.code, pipe.code) == (0, 0), f"{pty}\n---\n{pipe}"
        assert "Dense" in pty.out and "Dense" in pipe.out

    def test_doctor(self, place):
        pty, pipe = both(place, ["doctor"])
        assert (pty.code, pipe.code) == (0, 0), f"{pty}\n---\n{pipe}"


class TestFullScreen:
    """kwb, kwb ui and kwb attach open the app in a terminal (ctrl+q quits it) and refuse a pipe with one line."""

    @pytest.mark.parametrize("verb", ["kwb", "ui", "attach"])
    def test_app_in_a_terminal_refused_in_a_pipe(self, place, trained, verb: str):
        args = {"kwb": [], "ui": ["ui", str(SPIRALS)], "attach": ["attach", str(trained[0])]}[verb]
        pty, pipe = both(place, args, keys=b"\x11", ready="\x1b[?1049h")  # ctrl+q once the app has the screen
        assert pty.code == 0, pty
        assert pipe.code == 2 and "needs a terminal" in pipe.out and len(pipe.out.strip().splitlines()) == 1, pipe


def _plain(text: str) -> str:
    """The pty's output without colour codes and carriage returns."""
    import re

    return re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", text).replace("\r", "")
