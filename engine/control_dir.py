"""A run's command channel on disk: ``control/`` (mode 0700) and the watcher that feeds the bridge.

``kwb control`` (another process, even another terminal) writes one JSON file per
command with a temporary name and renames it, then nudges a datagram socket in the
same folder so the run's watcher picks it up at once instead of at its next poll.
Only the run's owner can write there, or reach the socket.

The watcher trusts nothing it finds there: ``control/`` itself must be a real folder
owned by the run's user (it is opened with ``O_NOFOLLOW`` and put back to 0700), and each
command file is opened with ``O_NOFOLLOW`` relative to that folder and checked with
``fstat``: a symbolic link, anything but a plain file, or a file another user owns is
refused with an ``error`` event naming it, and removed unread. Two clients writing at
once never collide (each file has a unique name) and are applied in the order written.
"""

from __future__ import annotations

import errno
import os
import socket
import stat
import threading
import time
import uuid
from pathlib import Path

from engine import events as ev
from engine.control import Command, CommandError, Control, EventSink, parse_command
from engine.runs import RunDir

__all__ = ["send_command", "ControlWatcher", "WAKE_SOCKET"]


def send_command(run: RunDir | str | os.PathLike[str], command: Command) -> Path:
    """Drop ``command`` into the run's control/ folder (temp name, then rename)."""
    run = run if isinstance(run, RunDir) else RunDir(Path(run))
    if command.id is None:
        command = Command(command.name, command.value, command.source, uuid.uuid4().hex[:12])
    name = f"{time.time_ns()}-{command.id}.json"
    folder = os.open(run.control, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW)  # never through a symlinked control/
    try:
        info = os.fstat(folder)
        if info.st_uid != os.geteuid():
            raise PermissionError(f"{run.control} belongs to another user")
        fd = os.open(f".{name}.tmp", os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600, dir_fd=folder)
        with os.fdopen(fd, "w") as fh:
            fh.write(command.to_json())
        os.replace(f".{name}.tmp", name, src_dir_fd=folder, dst_dir_fd=folder)
    finally:
        os.close(folder)
    final = run.control / name
    _wake(run)
    return final


WAKE_SOCKET = "wake.sock"
"""A datagram socket in the run's control/ folder; a byte sent there makes the watcher look now."""


def _wake_address(run: RunDir) -> str | bytes:
    """The socket file in control/ (mode 0700: only the owner can reach it), or, when that path
    is too long for AF_UNIX, an abstract name derived from it (a wake-up carries no data)."""
    path = str((run.control / WAKE_SOCKET).resolve())
    if len(path.encode()) < 104:
        return path
    import hashlib

    return b"\0kwb-wake-" + hashlib.sha1(path.encode()).hexdigest().encode()


def _wake(run: RunDir) -> None:
    """Nudge the run's watcher so a command acts at the next batch, not the next poll. Best effort."""
    if not hasattr(socket, "AF_UNIX"):
        return
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
            sock.sendto(b"!", _wake_address(run))
    except OSError:
        pass  # no live watcher (or an old one): it still finds the file at its next poll


class ControlWatcher:
    """Moves commands from a run's control/ folder into a ``Control``.

    Runs in its own daemon thread so the training hot path only ever sees the
    ``Control.pending`` flag. The thread waits on a datagram socket in control/
    (``send_command`` sends one byte after dropping a file), so a command reaches the
    bridge within a millisecond or so and acts at the next batch boundary; it also
    polls the folder every ``interval`` s, which catches a file dropped by other means
    (or when the socket cannot be made). A file that is not a valid command is refused
    with an ``error`` event naming it.
    """

    def __init__(self, run: RunDir, control: Control, sink: EventSink, interval: float = 0.1) -> None:
        self.run = run
        self.control = control
        self.sink = sink
        self.interval = interval
        self._stop = threading.Event()
        self._sock: socket.socket | None = None
        self._thread = threading.Thread(target=self._loop, name="kwb-control-watcher", daemon=True)

    def start(self) -> "ControlWatcher":
        self._sock = self._bind()
        self._thread.start()
        return self

    def _bind(self) -> socket.socket | None:
        if not hasattr(socket, "AF_UNIX"):
            return None
        address = _wake_address(self.run)
        if isinstance(address, str):
            try:
                os.unlink(address)  # left by a killed process; this run is ours now
            except FileNotFoundError:
                pass
            except OSError:
                return None
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        try:
            sock.bind(address)
            sock.setblocking(False)
        except OSError:
            sock.close()
            return None
        return sock

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=2)
        sock, self._sock = self._sock, None
        if sock is not None:
            sock.close()
            address = _wake_address(self.run)
            if isinstance(address, str):
                try:
                    os.unlink(address)
                except OSError:
                    pass

    def poll(self) -> int:
        """Move every command file in control/ (oldest first) into the control; return how many were taken."""
        try:
            folder = os.open(self.run.control, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW)
        except FileNotFoundError:
            return 0
        except OSError as exc:  # ELOOP/ENOTDIR: control/ was replaced by a link or a file
            self._refuse_folder(f"{self.run.control} is not a folder of its own ({exc.strerror}); commands are not read")
            return 0
        try:
            if not self._folder_ok(folder):
                return 0
            names = sorted(p for p in os.listdir(folder) if p.endswith(".json") and not p.startswith("."))
            n = 0
            for name in names:
                cmd = self._take(folder, name)
                if cmd is not None:
                    self.control.send(cmd)
                    n += 1
            return n
        finally:
            os.close(folder)

    def _folder_ok(self, folder: int) -> bool:
        """control/ must be ours; put its mode back to 0700 if something widened it."""
        info = os.fstat(folder)
        if info.st_uid != os.geteuid():
            self._refuse_folder(f"{self.run.control} belongs to user {info.st_uid}, not to this run's; commands are not read")
            return False
        if stat.S_IMODE(info.st_mode) != 0o700:
            os.fchmod(folder, 0o700)
        return True

    def _refuse_folder(self, message: str) -> None:
        if not getattr(self, "_folder_refused", False):  # said once, not at every poll
            self._folder_refused = True
            self.sink.emit(ev.Error(message=message, command="unknown"))

    def _take(self, folder: int, name: str) -> Command | None:
        """Read and remove one command file; refuse (with an error event) a link, a non-file, another user's file."""
        try:
            fd = os.open(name, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK, dir_fd=folder)
        except FileNotFoundError:
            return None
        except OSError as exc:  # ELOOP: a symbolic link, never followed
            return self._refuse(folder, name, "a symbolic link" if exc.errno == errno.ELOOP else exc.strerror)
        try:
            info = os.fstat(fd)
            if not stat.S_ISREG(info.st_mode):
                return self._refuse(folder, name, "not a plain file")
            if info.st_uid != os.geteuid():
                return self._refuse(folder, name, f"owned by user {info.st_uid}, not by this run's user")
            with os.fdopen(os.dup(fd), "rb") as fh:
                text = fh.read(64 * 1024)
        finally:
            os.close(fd)
        self._unlink(folder, name)
        try:
            return parse_command(text)
        except (CommandError, TypeError) as exc:
            self.sink.emit(ev.Error(message=f"refused {name}: {exc}", command="unknown"))
            return None

    def _refuse(self, folder: int, name: str, why: str | None) -> None:
        self._unlink(folder, name)
        self.sink.emit(ev.Error(message=f"refused {name}: {why}; only the run's own user may send commands", command="unknown"))
        return None

    @staticmethod
    def _unlink(folder: int, name: str) -> None:
        try:
            os.unlink(name, dir_fd=folder)  # a link itself, never its target
        except FileNotFoundError:
            pass

    def _loop(self) -> None:
        import select

        sock = self._sock
        while not self._stop.is_set():
            if sock is None:
                if self._stop.wait(self.interval):
                    return
            else:
                try:
                    ready, _, _ = select.select([sock], [], [], self.interval)
                    while ready:
                        sock.recv(64)  # drain every nudge; one poll serves them all
                except BlockingIOError:
                    pass
                except (OSError, ValueError):  # closed under us by stop()
                    return
            self.poll()
