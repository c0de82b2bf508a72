"""``launch_detached``: start a ``kwb`` verb as a detached process and learn its run directory.

The one launcher behind ``kwb train --detach``, ``kwb resume --detach`` and the app's
``T`` (train detached). The child runs ``python -m tui.cli VERB --detached --announce
FILE …`` in its own session (so closing the terminal does not reach it), with stdin closed
and its output in a temp file; once it has created its run directory it writes that
path to ``FILE`` (atomically) and moves its own output into the run's ``output.log``.
The launcher waits for that announcement, not for any line of human output.

No Textual and no typer here: the CLI and the app word success and failure themselves.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

__all__ = ["LaunchFailed", "launch_detached", "START_TIMEOUT_S"]

START_TIMEOUT_S = 300.0
"""How long a detached run may take to create its run directory (loading TensorFlow and the data)."""


class LaunchFailed(Exception):
    """The detached process exited before announcing its run directory, or never announced it.

    Args:
        message: what went wrong; the process's own output when it exited.
        code: its exit status. Defaults to None (it did not exit: timed out).
    """

    def __init__(self, message: str, code: int | None = None) -> None:
        super().__init__(message)
        self.code = code


def _child_env() -> dict[str, str]:
    # The child imports ``tui`` from the same tree as this process, installed or not.
    env = dict(os.environ)
    root = str(Path(__file__).resolve().parents[1])
    env["PYTHONPATH"] = root + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    return env


def launch_detached(argv: list[str], timeout: float = START_TIMEOUT_S, poll_s: float = 0.05) -> tuple[Path, int]:
    """Start ``kwb ARGV`` detached; return ``(run directory, pid)`` once it announced its run directory.

    Args:
        argv: the verb and its arguments, e.g. ``["train", "cfg.yaml", "--runs-dir", "runs"]``.
        timeout: seconds to wait for the announcement. Defaults to ``START_TIMEOUT_S``.
        poll_s: how often to look for it. Defaults to 0.05.

    Raises:
        LaunchFailed: the process exited first (with its output and exit status), or
            did not announce within ``timeout`` (it is left running; its output file is named).
        KeyboardInterrupt: interrupted while waiting; the process is terminated first.
    """
    fd, announce = tempfile.mkstemp(prefix="kwb-announce-", suffix=".txt")
    os.close(fd)
    os.unlink(announce)  # the child creates it, by rename, once its run directory exists
    out_fd, out_path = tempfile.mkstemp(prefix="kwb-detached-", suffix=".log")
    # Right after the verb: ``kwb run``'s arguments after its SCRIPT belong to the script.
    cmd = [sys.executable, "-m", "tui.cli", argv[0], "--detached", "--announce", announce, *argv[1:]]
    try:
        proc = subprocess.Popen(
            cmd, stdin=subprocess.DEVNULL, stdout=out_fd, stderr=subprocess.STDOUT, start_new_session=True,
            close_fds=True, env=_child_env(),
        )  # fmt: skip
    finally:
        os.close(out_fd)
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            if os.path.exists(announce):
                run_path = Path(Path(announce).read_text(encoding="utf-8").strip())
                os.unlink(announce)
                os.unlink(out_path)
                return run_path, proc.pid
            code = proc.poll()
            if code is not None:
                text = Path(out_path).read_text(errors="replace").strip()
                os.unlink(out_path)
                raise LaunchFailed(text or f"kwb {argv[0]} --detached exited with {code}", code)
            time.sleep(poll_s)
    except KeyboardInterrupt:
        proc.terminate()
        raise
    raise LaunchFailed(f"the background run did not start within {timeout:.0f} s; see {out_path}")
