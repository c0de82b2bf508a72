"""The ``kwb`` fixture: run a CLI verb in-process (typer's CliRunner) from an empty working folder.

``kwb`` verbs that load TensorFlow point file descriptor 2 at a log file
(``engine.native_log.native_log``) and print user-facing errors to the saved terminal
descriptor, not to ``sys.stderr``; and ``kwb train`` installs SIGINT/SIGTERM/SIGHUP
handlers. Both are right for a process that exits afterwards, so the fixture
captures at the descriptor level (``capfd``) and puts descriptor 2 and the signal
handlers back after every call.
"""

from __future__ import annotations

import signal
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import pytest

SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)


@dataclass
class Outcome:
    code: int
    out: str
    err: str
    exception: BaseException | None

    def __str__(self) -> str:
        return f"exit {self.code}\n--- stdout\n{self.out}\n--- stderr\n{self.err}\n--- exception\n{self.exception!r}"


@pytest.fixture
def kwb(capfd: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Callable[..., Outcome]:
    """``kwb("train", path, "--set", "fit.epochs=2")`` -> Outcome(code, out, err, exception), run in ``tmp_path``."""
    from typer.testing import CliRunner

    from engine.native_log import native_log
    from tui.cli import app

    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("COLUMNS", "200")
    saved = {s: signal.getsignal(s) for s in SIGNALS}
    runner = CliRunner()

    def invoke(*args: object) -> Outcome:
        capfd.readouterr()
        try:
            result = runner.invoke(app, [str(a) for a in args])
        finally:
            native_log.stop()
            for sig, handler in saved.items():
                signal.signal(sig, handler)
        captured = capfd.readouterr()
        exception = result.exception if not isinstance(result.exception, SystemExit) else None
        return Outcome(result.exit_code, result.stdout + captured.out, result.stderr + captured.err, exception)

    yield invoke
    native_log.stop()
