"""A real pseudo-terminal for the UI benchmarks: start ``kwb`` on a pty, record what it draws.

The app runs as its own process on the slave side of a pty of a fixed size, exactly as
in a terminal window (``TERM=xterm-256color``, ``COLORTERM=truecolor``); a reader thread
drains the master side and keeps every chunk with its arrival time, so a benchmark can
count bytes, find a string in what was drawn after a moment, and send keys. Nothing
here answers terminal queries: the app sees a plain xterm-like terminal.

Each app runs in a scratch directory with its own ``XDG_CACHE_HOME`` and runs folder,
so a benchmark never touches ``~/.cache/kwb`` or the repository's ``runs/``.
"""

from __future__ import annotations

import fcntl
import os
import re
import shutil
import signal
import struct
import subprocess
import sys
import tempfile
import termios
import threading
import time
from pathlib import Path

from _common import ROOT

__all__ = [
    "CONFIGS",
    "AppTerminal",
    "app_env",
    "cpu_seconds",
    "kwb_argv",
    "launch",
    "maps_mention",
    "rss_mib",
    "scratch_dir",
    "start_training",
    "strip_ansi",
]

ALT_SCREEN = b"\x1b[?1049h"
"""What Textual writes when it takes over the screen."""

# CSI … final byte, OSC … BEL/ST, DCS/APC … ST, and two-byte escapes.
_ANSI = re.compile(
    rb"\x1b\[[0-?]*[ -/]*[@-~]"
    rb"|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)"
    rb"|\x1b[PX^_][^\x1b]*\x1b\\"
    rb"|\x1b[@-Z\\-_]"
)


def strip_ansi(data: bytes) -> str:
    """The text in ``data`` with every escape sequence removed (cursor moves join runs of text)."""
    return _ANSI.sub(b"", data).decode("utf-8", "replace")


def kwb_argv(*args: str) -> list[str]:
    """The installed ``kwb`` console script with ``args``, else ``python -m tui.cli``."""
    exe = shutil.which("kwb")
    if exe:
        return [exe, *args]
    return [sys.executable, "-m", "tui.cli", *args]


def app_env(scratch: Path) -> dict[str, str]:
    """The environment of an app under test: an xterm, a private cache, the repo importable."""
    env = dict(os.environ)
    env.update(
        TERM="xterm-256color",
        COLORTERM="truecolor",
        XDG_CACHE_HOME=str(scratch / "cache"),
        PYTHONPATH=os.pathsep.join(
            p for p in (str(ROOT), env.get("PYTHONPATH", "")) if p
        ),
        TF_CPP_MIN_LOG_LEVEL="2",
    )
    for noisy in ("TEXTUAL", "TEXTUAL_DEBUG", "NO_COLOR", "TEXTUAL_FPS"):
        env.pop(noisy, None)
    return env


def scratch_dir(prefix: str) -> Path:
    """A fresh temporary directory (removed by the caller with ``shutil.rmtree``)."""
    return Path(tempfile.mkdtemp(prefix=f"kwb-bench-{prefix}-"))


def rss_mib(pid: int) -> float:
    """Resident set size of ``pid`` in MiB, from ``/proc``."""
    with open(f"/proc/{pid}/status") as fh:
        for line in fh:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    raise RuntimeError(f"no VmRSS for {pid}")


def cpu_seconds(pid: int) -> float:
    """User plus system CPU time of ``pid`` (all its threads), in seconds."""
    with open(f"/proc/{pid}/stat") as fh:
        fields = fh.read().rsplit(")", 1)[1].split()
    ticks = os.sysconf("SC_CLK_TCK")
    return (int(fields[11]) + int(fields[12])) / ticks


def maps_mention(pid: int, needle: str) -> bool:
    """True if a file whose path contains ``needle`` is mapped into ``pid`` (a shared library loaded)."""
    try:
        with open(f"/proc/{pid}/maps") as fh:
            return any(needle in line for line in fh)
    except OSError:
        return False


class AppTerminal:
    """One process on a ``cols`` × ``rows`` pty; ``chunks`` holds (arrival time, bytes) of its output."""

    def __init__(
        self,
        argv: list[str],
        cwd: Path,
        cols: int = 120,
        rows: int = 40,
        env: dict[str, str] | None = None,
    ) -> None:
        self.argv = argv
        self.cwd = cwd
        self.cols, self.rows = cols, rows
        self.env = env if env is not None else app_env(cwd)
        self.chunks: list[tuple[float, bytes]] = []
        self.total = 0
        self._cond = threading.Condition()
        self._closed = False
        self.proc: subprocess.Popen[bytes] | None = None
        self.t_exec = 0.0

    # ------------------------------------------------------------ lifecycle
    def start(self) -> AppTerminal:
        master, slave = os.openpty()
        fcntl.ioctl(
            slave, termios.TIOCSWINSZ, struct.pack("HHHH", self.rows, self.cols, 0, 0)
        )
        self.master = master
        self.t_exec = time.perf_counter()
        self.proc = subprocess.Popen(
            self.argv,
            stdin=slave,
            stdout=slave,
            stderr=slave,
            cwd=self.cwd,
            env=self.env,
            start_new_session=True,  # its own process group, ended as one by kill()
            close_fds=True,
        )
        os.close(slave)
        self._reader = threading.Thread(
            target=self._read, name="pty-reader", daemon=True
        )
        self._reader.start()
        return self

    def _read(self) -> None:
        while True:
            try:
                data = os.read(self.master, 1 << 16)
            except OSError:  # EIO once the slave side is closed
                data = b""
            now = time.perf_counter()
            with self._cond:
                if not data:
                    self._closed = True
                    self._cond.notify_all()
                    return
                self.chunks.append((now, data))
                self.total += len(data)
                self._cond.notify_all()

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    def send(self, keys: bytes | str) -> float:
        """Write ``keys`` as typed input; returns the time just before the write."""
        data = keys.encode() if isinstance(keys, str) else keys
        t = time.perf_counter()
        os.write(self.master, data)
        return t

    def close(self, timeout: float = 10.0) -> int | None:
        """Quit with ctrl+q; a process still there after ``timeout`` (a run in progress asks first) is ended."""
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            try:
                self.send(b"\x11")
                self.proc.wait(timeout=timeout)
            except (OSError, subprocess.TimeoutExpired):
                self.kill()
        self._reader.join(timeout=2)
        try:
            os.close(self.master)
        except OSError:
            pass
        return self.proc.returncode

    def kill(self) -> None:
        """End the app's process group: SIGTERM, then SIGKILL if it lingers."""
        if self.proc is None or self.proc.poll() is not None:
            return
        for sig in (signal.SIGTERM, signal.SIGKILL):
            try:
                os.killpg(self.proc.pid, sig)
                self.proc.wait(timeout=10)
                return
            except ProcessLookupError:
                return
            except subprocess.TimeoutExpired:
                continue

    # ------------------------------------------------------------ reading what was drawn
    def mark(self) -> int:
        """An index into ``chunks``: what arrives after this moment."""
        with self._cond:
            return len(self.chunks)

    def bytes_since(self, index: int) -> bytes:
        with self._cond:
            return b"".join(c for _t, c in self.chunks[index:])

    def screen_text_since(self, index: int) -> str:
        return strip_ansi(self.bytes_since(index))

    def wait_for(
        self, test, since: int = 0, timeout: float = 30.0
    ) -> tuple[float, int] | None:
        """Wait until ``test(raw_bytes_since)`` is true; return (arrival time of the deciding chunk, its index)."""
        deadline = time.perf_counter() + timeout
        seen = since
        buf = bytearray()
        with self._cond:
            while True:
                while seen < len(self.chunks):
                    buf += self.chunks[seen][1]
                    seen += 1
                    if test(bytes(buf)):
                        return self.chunks[seen - 1][0], seen
                left = deadline - time.perf_counter()
                if left <= 0 or self._closed:
                    return None
                self._cond.wait(left)

    def wait_text(
        self, text: str, since: int = 0, timeout: float = 30.0
    ) -> tuple[float, int] | None:
        """Wait until ``text`` shows in the output drawn after ``since``."""
        needle = text
        return self.wait_for(lambda raw: needle in strip_ansi(raw), since, timeout)

    def wait_quiet(self, quiet: float, timeout: float = 30.0) -> bool:
        """Wait until nothing was drawn for ``quiet`` seconds."""
        deadline = time.perf_counter() + timeout
        while time.perf_counter() < deadline:
            with self._cond:
                last = self.chunks[-1][0] if self.chunks else self.t_exec
            gap = time.perf_counter() - last
            if gap >= quiet:
                return True
            time.sleep(min(quiet - gap, 0.05) + 0.001)
        return False

    def bytes_between(self, t0: float, t1: float) -> int:
        with self._cond:
            return sum(len(c) for t, c in self.chunks if t0 <= t < t1)


CONFIGS = Path(__file__).resolve().parent / "configs"


def launch(
    config: str | Path,
    cols: int = 120,
    rows: int = 40,
    prefix: str = "ui",
    fit: dict[str, object] | None = None,
    argv: list[str] | None = None,
) -> tuple[AppTerminal, Path]:
    """``kwb ui CONFIG`` on a fresh pty in a scratch directory; returns once its first frame is drawn.

    ``fit`` overrides keys of the config's ``fit`` section (``{"epochs": 10}``); ``argv``
    runs another command line instead of ``kwb ui``, with the config's name appended.
    """
    import yaml

    config = Path(config)
    if not config.is_absolute():
        config = CONFIGS / config
    scratch = scratch_dir(prefix)
    doc = yaml.safe_load(config.read_text(encoding="utf-8"))
    doc.setdefault("fit", {}).update(fit or {})
    (scratch / config.name).write_text(
        yaml.safe_dump(doc, sort_keys=False), encoding="utf-8"
    )
    command = [*argv, config.name] if argv else kwb_argv("ui", config.name)
    term = AppTerminal(command, scratch, cols=cols, rows=rows).start()
    if term.wait_text("Quit", 0, timeout=60) is None:
        term.kill()
        raise RuntimeError(
            f"{' '.join(command)} drew nothing:\n{term.screen_text_since(0)[-2000:]}"
        )
    return term, scratch


def start_training(term: AppTerminal, timeout: float = 120.0) -> float:
    """Press ``t`` and wait until the dashboard shows the run going (a batch count above 0)."""
    mark = term.mark()
    term.send("t")
    hit = term.wait_for(
        lambda raw: re.search(r"batch [1-9]\d*/", strip_ansi(raw)) is not None,
        mark,
        timeout,
    )
    if hit is None:
        raise RuntimeError(
            f"the run did not start:\n{term.screen_text_since(mark)[-3000:]}"
        )
    return hit[0]
