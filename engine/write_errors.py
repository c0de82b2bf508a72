"""A failed write said in one line: "no space left on device while writing checkpoints/epoch-007.keras".

A full disk or a failing device (``ENOSPC``, ``EDQUOT``, ``EIO``, ``EROFS``) can hit any
file a run writes: a checkpoint, the backup, model.keras, history.csv, events.jsonl,
status.json. Python's ``OSError`` names the temp file (``.tmp-1a2b3c4d-best.keras``,
``.status.json.x8k2.tmp``) or no file at all (a buffered ``write``); h5py and Keras wrap
it in their own exceptions. This module finds the ``OSError`` in an exception's chain,
names the file the user knows (the temp prefix and suffix taken off, relative to the run
directory) and says what happened in a line.

Stdlib only: a leaf that ``engine.lifecycle``, ``engine.callbacks.checkpoint`` and the
CLI's last-resort handler share.
"""

from __future__ import annotations

import errno
import os
import re
from pathlib import Path
from typing import Any

__all__ = ["DISK_ERRNOS", "DiskWriteError", "disk_error", "user_path", "write_failure"]

DISK_ERRNOS = {errno.ENOSPC: "no space left on device", errno.EIO: "input/output error",
               errno.EROFS: "read-only file system", getattr(errno, "EDQUOT", -1): "disk quota exceeded"}  # fmt: skip
"""The errnos that mean "the storage refused the write", and how each is said."""

_TEMP = (
    re.compile(r"^\.tmp-[0-9a-f]{8}-(?P<name>.+)$"),  # save_model_atomic
    re.compile(r"^\.(?P<name>.+)\.[A-Za-z0-9_]{6,12}\.tmp$"),  # config_io.atomic_write_text (mkstemp)
    re.compile(r"^\.pending-(?P<name>.+)$"),  # the backup's two-file commit
)


class DiskWriteError(OSError):
    """A write the storage refused, with the file the user knows (``path``) and one line saying so."""

    def __init__(self, err: int, line: str, path: str) -> None:
        super().__init__(err, line)
        self.line = line
        self.path = path

    def __str__(self) -> str:
        return self.line


def user_path(name: str | os.PathLike[str], root: str | os.PathLike[str] | None = None) -> str:
    """``name`` without a temp file's prefix and suffix, relative to ``root`` when it lies inside it."""
    path = Path(name)
    for pattern in _TEMP:
        if m := pattern.match(path.name):
            path = path.with_name(m.group("name"))
            break
    if root is not None:
        try:
            return str(path.resolve().relative_to(Path(root).resolve()))
        except ValueError:
            pass
    return str(path)


def disk_error(exc: BaseException | None) -> OSError | None:
    """The ``OSError`` with a disk errno in ``exc``'s cause/context chain (or the message of a wrapper), or None."""
    seen: set[int] = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        if isinstance(exc, OSError) and exc.errno in DISK_ERRNOS:
            return exc
        text = str(exc)
        for err, words in DISK_ERRNOS.items():  # h5py: "Can't write data (file write failed: … errno = 28 …)"
            if f"errno = {err}" in text or f"[Errno {err}]" in text or words in text.lower():
                return OSError(err, os.strerror(err))
        exc = exc.__cause__ or exc.__context__
    return None


def write_failure(exc: BaseException, path: str | os.PathLike[str] | None = None,
                  root: str | os.PathLike[str] | None = None) -> DiskWriteError | None:  # fmt: skip
    """A :class:`DiskWriteError` for ``exc`` when the storage refused a write, else None.

    Args:
        exc: what the write raised (possibly wrapped by h5py or Keras).
        path: the file being written, when the caller knows it. Defaults to the file the
            ``OSError`` names.
        root: names are given relative to this folder (the run directory). Defaults to None.
    """
    found = disk_error(exc)
    if found is None:
        return None
    if path is None and isinstance(exc, DiskWriteError):
        path = exc.path
    target: Any = path if path is not None else (found.filename or getattr(exc, "filename", None))
    words = DISK_ERRNOS[found.errno] if found.errno in DISK_ERRNOS else "write failed"
    where = user_path(target, root) if target else "the run directory"
    return DiskWriteError(found.errno or errno.EIO, f"{words} while writing {where}", where)
