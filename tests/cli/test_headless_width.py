"""The headless live line fits the terminal (issue 14, point 20a), measured on a real pseudo-terminal.

The printer writes to the slave side of a ``pty`` whose size is set with ``TIOCSWINSZ``
(what a terminal emulator does on a resize); what arrives on the master side is split
at each ``\\r\\x1b[2K`` redraw and every line measured.
"""

from __future__ import annotations

import fcntl
import os
import pty
import re
import struct
import termios

from engine import events as ev
from tui.headless import Printer, fit_fields

LOGS = {"loss": 0.61234, "accuracy": 0.8123, "precision": 0.7777, "recall": 0.6666, "auc": 0.9123,
        "mean_absolute_error": 0.1234}  # fmt: skip


def set_size(fd: int, cols: int, rows: int = 24) -> None:
    fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))


def drain(fd: int) -> str:
    chunks = []
    while True:
        try:
            data = os.read(fd, 65536)
        except BlockingIOError:
            break
        if not data:
            break
        chunks.append(data)
    return b"".join(chunks).decode("utf-8", errors="replace")


def live_lines(text: str) -> list[str]:
    """The drawn lines: split at carriage returns and newlines, the clear-line escape taken off."""
    return [part for part in re.split(r"[\r\n]+", text.replace("\x1b[2K", "")) if part.strip()]


class TestLiveLineWidth:
    """On 80 columns the line is at most 79 characters; a resize is followed at the next redraw."""

    def test_the_line_follows_the_terminal_size(self):
        master, slave = pty.openpty()
        os.set_blocking(master, False)
        try:
            set_size(slave, 80)
            stream = os.fdopen(slave, "w", encoding="utf-8", closefd=False)
            printer = Printer(stream=stream, mode="tty", interval=0.0)
            printer.emit(ev.RunStarted(run_id="r", run_dir=None, name="r", epochs=300, steps_per_epoch=12500,
                                       params=1_234_567))  # fmt: skip
            drain(master)
            batch = ev.Batch(epoch=41, step=6250, steps=12500, logs=LOGS, samples_per_s=123456.0)
            printer.emit(batch)
            wide = live_lines(drain(master))
            set_size(slave, 50)
            printer.emit(batch)
            narrow = live_lines(drain(master))
        finally:
            os.close(master)
            os.close(slave)
        assert wide and max(map(len, wide)) <= 79
        assert wide[-1].startswith("epoch 42/300") and "loss 0.6123" in wide[-1]
        assert narrow and max(map(len, narrow)) <= 49
        assert narrow[-1].startswith("epoch 42/300") and "6250/12500" in narrow[-1]


class TestFieldOrder:
    """Fields go least important first; the epoch is the last to go."""

    def test_samples_per_second_goes_before_the_loss(self):
        fields = [("epoch 1/3", 9), ("2/10", 8), ("loss 0.5000", 7), ("acc 0.9000", 4), ("99 samples/s", 1)]
        assert fit_fields(fields, 80) == "epoch 1/3  2/10  loss 0.5000  acc 0.9000  99 samples/s"
        assert fit_fields(fields, 40) == "epoch 1/3  2/10  loss 0.5000  acc 0.9000"
        assert fit_fields(fields, 30) == "epoch 1/3  2/10  loss 0.5000"
        assert fit_fields(fields, 6) == "epoch…"


class TestStepsPerExecution:
    """The headless output names N always (1 as well) and says so when auto re-tunes it."""

    def test_n_at_the_start_and_after_a_re_tune(self):
        import io

        out = io.StringIO()
        printer = Printer(out, mode="plain")
        started = dict(run_id="r", run_dir=None, name="r", epochs=3, steps_per_epoch=1688)
        printer.emit(ev.RunStarted(**started, steps_per_execution=306))
        for epoch, n in ((0, 306), (1, 27), (2, 27)):
            printer.emit(ev.EpochStarted(epoch=epoch, epochs=3, steps_per_execution=n))
        text = out.getvalue()
        assert "306 steps per execution)" in text
        assert text.count("auto re-tuned") == 1 and "from epoch 2: 27 steps per execution (auto re-tuned it; was 306)" in text
        out = io.StringIO()
        Printer(out, mode="plain").emit(ev.RunStarted(**started, steps_per_execution=1))
        assert "1 step per execution)" in out.getvalue()
