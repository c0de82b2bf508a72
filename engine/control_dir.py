"""A run's command channel on disk: ``control/`` (mode 0700) and the watcher that feeds the bridge.

``kwb control`` (another process, even another terminal) writes one JSON file per
command with a temporary name and renames it, then nudges a datagram socket in the
same folder so the run's watcher picks it up at once instead of at its next poll.
Only the run's owner can write there, or reach the socket.
"""

from __future__ import annotations

import os
import socket
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
    tmp = run.control / f".{name}.tmp"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(command.to_json())
    final = run.control / name
    os.replace(tmp, final)
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
        n = 0
        try:
            names = sorted(p for p in os.listdir(self.run.control) if p.endswith(".json") and not p.startswith("."))
        except FileNotFoundError:
            return 0
        for name in names:
            path = self.run.control / name
            try:
                text = path.read_text()
                path.unlink()
            except FileNotFoundError:
                continue
            try:
                cmd = parse_command(text)
            except (CommandError, TypeError) as exc:
                self.sink.emit(ev.Error(message=f"refused {name}: {exc}", command="unknown"))
                continue
            self.control.send(cmd)
            n += 1
        return n

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
