"""Keep the terminal for Textual alone: TensorFlow's C-level output goes to a log file.

Textual's Linux driver draws on ``sys.__stderr__`` and measures the terminal through
``sys.__stdout__``. Training points file descriptor 2 at the run's ``train.log``, and
TensorFlow's C++ logging writes to fd 2 (sometimes fd 1) directly. So before the app
starts, :func:`guard_terminal` duplicates fds 1 and 2, hands Textual text files on the
duplicates, and points fds 1 and 2 at ``~/.cache/kwb/app.log`` (mode 0600).
"""

from __future__ import annotations

import contextlib
import os
import sys
from pathlib import Path
from typing import Iterator

__all__ = ["cache_dir", "guard_terminal"]


def cache_dir() -> Path:
    """``$XDG_CACHE_HOME/kwb`` (default ``~/.cache/kwb``), created with mode 0700."""
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    path = Path(base) / "kwb"
    path.mkdir(parents=True, exist_ok=True, mode=0o700)
    return path


@contextlib.contextmanager
def guard_terminal(log_path: Path | None = None) -> Iterator[Path]:
    """Within the block, fds 1 and 2 go to ``log_path``; Textual draws on duplicates of them."""
    log_path = log_path or cache_dir() / "app.log"
    saved_out, saved_err = sys.__stdout__, sys.__stderr__
    sys.stdout.flush()
    sys.stderr.flush()
    tty_out = os.dup(1)
    tty_err = os.dup(2)
    log_fd = os.open(log_path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    os.chmod(log_path, 0o600)
    try:
        os.dup2(log_fd, 1)
        os.dup2(log_fd, 2)
        sys.__stdout__ = os.fdopen(tty_out, "w", encoding="utf-8", closefd=False)  # type: ignore[misc]
        sys.__stderr__ = os.fdopen(tty_err, "w", encoding="utf-8", closefd=False)  # type: ignore[misc]
        yield log_path
    finally:
        for stream in (sys.__stdout__, sys.__stderr__):
            with contextlib.suppress(Exception):
                stream.flush()
        os.dup2(tty_out, 1)
        os.dup2(tty_err, 2)
        sys.__stdout__, sys.__stderr__ = saved_out, saved_err  # type: ignore[misc]
        for fd in (tty_out, tty_err, log_fd):
            with contextlib.suppress(OSError):
                os.close(fd)
