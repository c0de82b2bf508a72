"""TensorFlow's own output kept off the terminal: fd 2 pointed at a log file, and the log level.

TensorFlow and XLA write from C++ straight to file descriptor 2, below anything
Python's ``sys.stderr`` can catch. Every front door (``kwb train``, the app's worker,
``kwb evaluate`` …) calls :func:`quiet_tensorflow` before TensorFlow loads and
:func:`start_preload` to send fd 2 to a temp file; the run's lifecycle then moves it
into the run's ``train.log`` (:meth:`NativeLog.switch`, which copies the import noise
logged so far) and restores the terminal when the run closes.
"""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

__all__ = [
    "NativeLog", "native_log", "quiet_tensorflow", "start_preload", "preload_path", "remove_preload", "PRELOAD_PREFIX",
    "TF_LOG_LEVEL",
]  # fmt: skip

TF_LOG_LEVEL = "1"
"""``TF_CPP_MIN_LOG_LEVEL`` unless the user set one: INFO off, warnings kept (they land in train.log, not on screen)."""

PRELOAD_PREFIX = "kwb-preload-"
"""Name prefix of the temp log that holds TensorFlow's output before a run directory exists."""


def quiet_tensorflow() -> None:
    """Set TensorFlow's C++ log level and Keras' home before TensorFlow is imported (the user's values win)."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", TF_LOG_LEVEL)
    os.environ.setdefault("KERAS_HOME", os.path.expanduser("~/.keras"))


class NativeLog:
    """Points file descriptor 2 at a log file so TensorFlow's C-level output stays off the terminal.

    ``start(path)`` redirects (remembering the original stderr), ``switch(path)`` moves
    the redirection to another file, copying what was logged so far into it (so the
    TensorFlow import noise logged before a run directory existed lands in its
    train.log), ``stop()`` restores the terminal. ``terminal`` is a text stream on
    the original stderr for messages meant for the user.
    """

    def __init__(self) -> None:
        self._saved_fd: int | None = None
        self.path: Path | None = None
        self.terminal = sys.stderr

    @property
    def active(self) -> bool:
        return self._saved_fd is not None

    def start(self, path: str | os.PathLike[str]) -> None:
        if self.active:
            self.switch(path)
            return
        sys.stderr.flush()
        self._saved_fd = os.dup(2)
        self.terminal = os.fdopen(os.dup(self._saved_fd), "w", buffering=1, encoding="utf-8", errors="replace")
        self._point_at(Path(path))

    def _point_at(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        sys.stderr.flush()
        os.dup2(fd, 2)
        os.close(fd)
        self.path = path

    def switch(self, path: str | os.PathLike[str]) -> None:
        new = Path(path)
        if self.path is not None and self.path != new and self.path.exists():
            sys.stderr.flush()
            with open(self.path, "rb") as src, open(new, "ab") as dst:
                dst.write(src.read())
            old = self.path
            self._point_at(new)
            if old.name.startswith(PRELOAD_PREFIX):
                old.unlink(missing_ok=True)
        else:
            self._point_at(new)

    def stop(self) -> None:
        if self._saved_fd is None:
            return
        sys.stderr.flush()
        os.dup2(self._saved_fd, 2)
        os.close(self._saved_fd)
        self._saved_fd = None
        if self.path is not None and self.path.name.startswith(PRELOAD_PREFIX):
            self.path.unlink(missing_ok=True)
        self.path = None


native_log = NativeLog()
"""The process-wide redirection of fd 2 (there is only one fd 2)."""


def start_preload() -> bool:
    """Point fd 2 at this process's preload log unless it already goes somewhere; True if this call started it.

    The preload log is removed when the process ends, however it ends short of ``os._exit``
    or a kill (:func:`remove_preload` at exit): a verb that never opens a run directory
    (``validate``, ``predict`` …) leaves nothing in the temp folder.
    """
    if native_log.active:
        return False
    _remove_at_exit()
    native_log.start(preload_path())
    return True


def preload_path(pid: int | None = None) -> Path:
    """This process's (or ``pid``'s) preload log in the temp folder."""
    return Path(tempfile.gettempdir()) / f"{PRELOAD_PREFIX}{pid if pid is not None else os.getpid()}.log"


def remove_preload() -> None:
    """Give fd 2 back to the terminal if it still points at the preload log, and delete that log."""
    if native_log.path is not None and native_log.path.name.startswith(PRELOAD_PREFIX):
        native_log.stop()
    preload_path().unlink(missing_ok=True)


_registered: list[bool] = []


def _remove_at_exit() -> None:
    if not _registered:
        import atexit

        atexit.register(remove_preload)
        _registered.append(True)
