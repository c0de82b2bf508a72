"""The run directory: create it, write status with a heartbeat, list runs, read and tail events.

Layout (docs/architecture.md): ``runs/<YYYYmmdd-HHMMSS>-<name>/`` holding config.yaml,
status.json, events.jsonl, history.csv, checkpoints/, backup/, model.keras,
train.log and control/. Every file is written to a temp name and renamed.
``control/`` is the run's command channel (``engine.control_dir``): mode 0700, so
only the run's owner can read or drop commands there.
"""

from __future__ import annotations

import json
import os
import re
import socket
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, Callable, Iterator

from engine import events as ev
from engine.config import RunConfig
from engine.config_io import atomic_write_text, dump_config
from engine.errors import UserError
from engine.run_damage import events_problem, history_problem, history_rows, recorded_end, status_and_problem

__all__ = [
    "RunDir",
    "RunInfo",
    "LIVE_STATES",
    "create_run_dir",
    "create_script_run_dir",
    "write_script_json",
    "script_run",
    "list_runs",
    "find_run",
    "check_run_name",
    "RUN_NAME",
    "read_status",
    "effective_state",
    "run_state",
    "run_info",
    "training_seconds",
    "read_events",
    "tail_events",
    "read_history",
    "is_run_dir",
    "events_problem",
    "history_problem",
    "Heartbeat",
    "HEARTBEAT_S",
]

HEARTBEAT_S = 2.0
"""How often a live run rewrites status.json; a run silent for 5× this is ``died``."""

LIVE_STATES = ("starting", "running", "paused", "stopping")
"""The states of a run that can still take commands (its process is alive)."""


@dataclass
class RunDir:
    """Paths inside one run directory."""

    path: Path

    @property
    def id(self) -> str:
        return self.path.name

    config = property(lambda self: self.path / "config.yaml")
    script = property(lambda self: self.path / "script.json")
    """What ``kwb run`` or ``KwbCallback`` records instead of config.yaml: the script, its arguments, the fit."""
    output = property(lambda self: self.path / "output.log")
    """A detached script's stdout and stderr."""
    status = property(lambda self: self.path / "status.json")
    events = property(lambda self: self.path / "events.jsonl")
    history = property(lambda self: self.path / "history.csv")
    checkpoints = property(lambda self: self.path / "checkpoints")
    backup = property(lambda self: self.path / "backup")
    model = property(lambda self: self.path / "model.keras")
    log = property(lambda self: self.path / "train.log")
    control = property(lambda self: self.path / "control")
    tensorboard = property(lambda self: self.path / "tensorboard")
    error = property(lambda self: self.path / "error.txt")

    def write_status(self, **fields: Any) -> dict[str, Any]:
        """Merge ``fields`` into status.json (atomically) and return the new status."""
        current = read_status(self.path) or {}
        current.update(fields)
        atomic_write_text(self.status, json.dumps(current, indent=2, sort_keys=True) + "\n")
        return current


def create_run_dir(cfg: RunConfig, runs_dir: str | os.PathLike[str] | None = None) -> RunDir:
    """Make ``<runs_dir>/<stamp>-<name>/`` with its sub-folders and the resolved config."""
    root = runs_dir if runs_dir is not None else cfg.output.runs_dir
    return _new_run_dir(root, cfg.name, cfg.fit.epochs, lambda run: atomic_write_text(run.config, dump_config(cfg)))


def create_script_run_dir(name: str, runs_dir: str | os.PathLike[str], script: dict[str, Any], epochs: int = 0) -> RunDir:
    """Make a run directory for a ``fit`` that no config describes; ``script`` is what script.json records."""
    return _new_run_dir(runs_dir, name, epochs, lambda run: write_script_json(run, script))


def script_run(run: RunDir) -> str | None:
    """For a run of a user's own ``fit`` (script.json, no config.yaml): the script and its arguments, as a command line; else None."""
    if run.config.exists() or not run.script.exists():
        return None
    try:
        info = json.loads(run.script.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError):
        info = None
    if not isinstance(info, dict) or not info.get("script"):
        return "your script"
    args = info.get("args") if isinstance(info.get("args"), list) else []
    return " ".join([str(info.get("argv0") or info["script"]), *map(str, args)])


def write_script_json(run: RunDir, script: dict[str, Any]) -> None:
    """(Re)write the run's script.json, atomically."""
    atomic_write_text(run.script, json.dumps(script, indent=2, sort_keys=True, default=str) + "\n")


RUN_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}")
"""What a run's name may be (``name:`` in a config, ``kwb run --name``): one plain folder name, never a path."""


def check_run_name(name: str, key: str = "name") -> str:
    """``name`` if it is a plain run name (``RUN_NAME``); else UserError naming ``key``, so no name can reach outside the runs folder."""
    if not RUN_NAME.fullmatch(name):
        raise UserError(
            f"{name!r} is not a run name: use 1-64 letters, digits, '.', '_' or '-', starting with a letter or digit "
            "(a run name is one folder inside the runs folder, never a path)",
            key=key,
        )
    return name


def _inside(root: Path, path: Path) -> Path:
    """``path`` if it resolves inside ``root``; UserError otherwise (a symbolic link, or ``..``, pointing out of it)."""
    real = path.resolve()
    if real != root.resolve() and root.resolve() not in real.parents:
        raise UserError(f"{path} leads to {real}, outside the runs folder {root}; kwb does not follow it", key="RUN")
    return path


def _new_run_dir(runs_dir: str | os.PathLike[str], name: str, epochs: int, describe: Callable[[RunDir], None]) -> RunDir:
    if not name or name.startswith(".") or any(c in name for c in ("/", "\\", "\0")) or len(name) > 200:
        check_run_name(name)  # a path, not a name (a script's own file name may hold spaces: those are fine)
    root = Path(runs_dir).expanduser().resolve()
    root.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
    base = f"{stamp}-{name}"
    for n in range(1, 1000):
        path = root / (base if n == 1 else f"{base}-{n}")
        try:
            path.mkdir()
            break
        except FileExistsError:
            continue
    else:  # pragma: no cover - a thousand runs in one second
        raise UserError(f"cannot create a run directory under {root}")
    run = RunDir(path)
    run.checkpoints.mkdir()
    run.control.mkdir(mode=0o700)
    os.chmod(run.control, 0o700)  # mkdir's mode is filtered by the umask; make it exact
    describe(run)
    run.write_status(
        state="starting",
        run_id=run.id,
        name=name,
        pid=os.getpid(),
        host=socket.gethostname(),
        started=time.time(),
        heartbeat=time.time(),
        epochs=epochs,
        epochs_done=0,
    )
    return run


def read_status(path: str | os.PathLike[str]) -> dict[str, Any] | None:
    """The run's status.json as a mapping; None when it is missing, unreadable or not a JSON object."""
    try:
        status = json.loads((Path(path) / "status.json").read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError):
        return None
    return status if isinstance(status, dict) else None


def _number(value: Any, kind: type = float) -> Any:
    """``value`` as ``kind`` (int or float) when it is a finite number, else None: a damaged status.json is read, not trusted."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return kind(value) if value == value and abs(value) != float("inf") else None


def _pid_alive(pid: Any, host: Any) -> bool | None:
    if host and host != socket.gethostname():
        return None  # cannot tell for another machine
    try:
        if isinstance(pid, bool) or int(pid) <= 0:
            return False  # a damaged status.json: 0 or -1 would ask about a whole process group
        os.kill(int(pid), 0)
    except (ProcessLookupError, ValueError, TypeError, OverflowError):
        return False
    except PermissionError:
        return True
    try:  # a killed child not yet reaped by its parent is a zombie: dead for our purposes
        with open(f"/proc/{int(pid)}/stat") as fh:
            if fh.read().rsplit(")", 1)[1].split()[0] == "Z":
                return False
    except (OSError, IndexError):
        pass
    return True


def effective_state(status: dict[str, Any]) -> str:
    """The recorded state, or ``died`` for a live state whose process or heartbeat is gone."""
    state = status.get("state", "unknown")
    if not isinstance(state, str):
        return "unknown"
    if state in LIVE_STATES:
        alive = _pid_alive(status.get("pid"), status.get("host"))
        stale = time.time() - (_number(status.get("heartbeat")) or 0.0) > 5 * HEARTBEAT_S
        if alive is False or (alive is None and stale):
            return "died"
    return state


def run_state(run: RunDir | str | os.PathLike[str]) -> str:
    """The run's effective state: ``died`` when its process or heartbeat is gone, ``unknown`` without status.json."""
    return effective_state(read_status(run.path if isinstance(run, RunDir) else run) or {})


@dataclass
class RunInfo:
    """One run's summary, from its status.json (what ``kwb runs`` and the Runs screen list);
    when that is damaged, from the end events.jsonl recorded and the rows of history.csv.

    ``damaged`` says what is wrong with the run's files (status.json missing or not JSON,
    a torn line in events.jsonl, a cut-off history.csv, no config.yaml, no model.keras
    after it finished), or None; the other fields are what could still be read.
    """

    id: str
    path: Path
    name: str
    state: str
    started: float | None
    epochs_done: int
    epochs: int | None
    best: dict[str, float] = field(default_factory=dict)
    duration_s: float | None = None
    pid: int | None = None
    damaged: str | None = None

    @property
    def live(self) -> bool:
        """True while the run can still take commands (its state is one of ``LIVE_STATES``)."""
        return self.state in LIVE_STATES

    @property
    def run_dir(self) -> RunDir:
        """The run's directory, for its files (``.config``, ``.events`` …)."""
        return RunDir(self.path)


_RUN_FILES = ("status.json", "events.jsonl", "history.csv", "script.json")


def is_run_dir(path: str | os.PathLike[str]) -> bool:
    """True for a folder kwb made for a run: it holds one of the run's own files or its ``control/`` folder.

    A run whose status.json is gone or garbage is still a run (``run_info`` says it is damaged);
    a project folder holding only a config.yaml is not.
    """
    path = Path(path)
    try:
        return path.is_dir() and (any((path / name).is_file() for name in _RUN_FILES) or (path / "control").is_dir())
    except OSError:
        return False


def run_info(path: str | os.PathLike[str], *, whole_events: bool = False) -> RunInfo | None:
    """The summary of the run in ``path``, as far as its files can be read; None when ``path`` is no run folder.

    Never raises for a damaged run: what is wrong is in ``RunInfo.damaged``. ``whole_events``
    decodes all of events.jsonl for it, not only its end (see ``events_problem``).
    """
    path = Path(path)
    if not is_run_dir(path):
        return None
    status, problem = status_and_problem(path)
    best = status.get("best")
    name = status.get("name")
    info = RunInfo(
        id=path.name,
        path=path,
        name=name if isinstance(name, str) else path.name,
        state=effective_state(status),
        started=_number(status.get("started")),
        epochs_done=_number(status.get("epochs_done"), int) or 0,
        epochs=_number(status.get("epochs"), int),
        best={k: v for k, v in best.items() if _number(v) is not None} if isinstance(best, dict) else {},
        duration_s=training_seconds(status),
        pid=_number(status.get("pid"), int),
    )
    if problem is not None:
        _from_other_files(info)
    problems = [
        problem, events_problem(path, live=info.live, whole=whole_events), history_problem(path, live=info.live),
        _files_problem(RunDir(path), info.state),
    ]  # fmt: skip
    info.damaged = "; ".join(p for p in problems if p) or None
    return info


def _from_other_files(info: RunInfo) -> None:
    """status.json lost or garbage: the run's end in events.jsonl gives its state, epochs, best values and time; history.csv how far it got."""
    if (ended := recorded_end(info.path)) is not None:
        info.state, info.epochs_done = ended.status, ended.epochs_completed
        info.best = info.best or {k: v for k, v in ended.best.items() if _number(v) is not None}
        info.duration_s = info.duration_s or _number(ended.duration_s) or None
    if not info.epochs_done:
        info.epochs_done = len(read_history(info.path))


def _files_problem(run: RunDir, state: str) -> str | None:
    """A missing config.yaml (script runs have script.json instead), or no model.keras after the run finished."""
    if not run.config.exists() and not run.script.exists():
        return "config.yaml is missing"
    if state == "finished" and not run.model.exists():
        return "model.keras is missing"
    return None


def training_seconds(status: dict[str, Any]) -> float | None:
    """A run's training time, pauses left out: what the run recorded at its end, else counted up to its last heartbeat.

    The same clock as ``run_ended``'s ``duration_s`` and the dashboard's "elapsed"; runs
    recorded before pauses were counted (no ``paused_s``) include their pauses. A resumed
    run adds the time its earlier processes trained (``trained_before_s``), not the gap
    between them.
    """
    if (recorded := _number(status.get("duration_s"))) is not None:
        return recorded
    begin = _number(status.get("train_started")) or _number(status.get("started"))
    end = _number(status.get("ended")) or _number(status.get("heartbeat"))
    if not begin or not end:
        return None
    paused_at = _number(status.get("paused_at"))
    paused = (_number(status.get("paused_s")) or 0.0) + (max(0.0, end - paused_at) if paused_at else 0.0)
    return max(0.0, end - begin - paused) + (_number(status.get("trained_before_s")) or 0.0)


def list_runs(runs_dir: str | os.PathLike[str] = "runs") -> list[RunInfo]:
    """Every run under ``runs_dir``, newest first."""
    root = Path(runs_dir)
    if not root.is_dir():
        return []
    try:
        entries = list(root.iterdir())
    except OSError:  # not readable: nothing to list
        return []
    infos = [i for p in entries if (i := run_info(p)) is not None]
    return sorted(infos, key=lambda i: i.id, reverse=True)


def find_run(ref: str, runs_dir: str | os.PathLike[str] = "runs", *, live_wins: bool = False) -> RunDir:
    """A run by directory path, full id, or unique part of its id; UserError otherwise.

    With ``live_wins`` (``kwb control``, ``kwb attach``), a part of the id that matches several
    runs but only one live run means that live run. An ambiguous part names every match.
    """
    if not ref.strip():
        raise UserError("an empty run id matches every run; give a run id, a part of one, or a run directory", key="RUN")
    if is_run_dir(ref):
        return RunDir(Path(ref))
    root = Path(runs_dir)
    if "/" not in ref and ref not in (".", "..") and is_run_dir(root / ref):
        return RunDir(_inside(root, root / ref))  # a name: never a way out of the runs folder
    try:
        matches = sorted(c for c in root.iterdir() if ref in c.name and is_run_dir(c)) if root.is_dir() else []
    except OSError:
        matches = []
    matches = [_inside(root, m) for m in matches]
    if len(matches) > 1 and live_wins:
        live = [m for m in matches if run_state(m) in LIVE_STATES]
        matches = live if len(live) == 1 else matches
    if len(matches) == 1:
        return RunDir(matches[0])
    if matches:
        names = "\n".join(f"    {m.name}  ({run_state(m)})" for m in matches)
        raise UserError(f"{ref!r} matches several runs ({len(matches)}); give more of the id:\n{names}", key="RUN")
    raise UserError(f"no run {ref!r} (looked for a run directory path and under {root}/)", key="RUN")


def read_events(path: str | os.PathLike[str]) -> list[ev.Event]:
    """Every complete event in a run's events.jsonl (a torn last line is skipped)."""
    events, _ = tail_events(path, 0)
    return events


def tail_events(path: str | os.PathLike[str], offset: int) -> tuple[list[ev.Event], int]:
    """Events after byte ``offset``; returns them and the offset to continue from."""
    file = Path(path)
    if file.is_dir():
        file = file / "events.jsonl"
    out: list[ev.Event] = []
    try:
        with open(file, "rb") as fh:
            fh.seek(offset)
            data = fh.read()
    except FileNotFoundError:
        return out, offset
    end = data.rfind(b"\n")
    if end < 0:
        return out, offset
    for line in data[: end + 1].splitlines():
        if line.strip():
            try:
                out.append(ev.decode(line))
            except ev.DecodeError:
                continue
    return out, offset + end + 1


def read_history(path: str | os.PathLike[str]) -> list[dict[str, float]]:
    """history.csv rows as dicts of floats (the ``epoch`` column as int); a cut-off or garbled row is left out."""
    header, rows = history_rows(path)
    out = []
    for row in rows:
        if len(row) != len(header):
            continue  # cut off (a kill mid-write) or garbled
        clean: dict[str, float] = {}
        for k, v in zip(header, row):
            try:
                clean[k] = int(v) if k == "epoch" else float(v)
            except (TypeError, ValueError):
                continue
        if "epoch" in clean or "epoch" not in header:
            out.append(clean)
    return out


class Heartbeat:
    """Rewrites status.json every ``HEARTBEAT_S`` seconds with the latest progress."""

    def __init__(self, run: RunDir, interval: float = HEARTBEAT_S) -> None:
        self.run = run
        self.interval = interval
        self.fields: dict[str, Any] = {}
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="kwb-heartbeat", daemon=True)

    def start(self) -> "Heartbeat":
        self._thread.start()
        return self

    def update(self, **fields: Any) -> None:
        """Record fields for the next beat (cheap; called from the training thread)."""
        with self._lock:
            self.fields.update(fields)

    def beat(self) -> None:
        with self._lock:
            fields = dict(self.fields)
        self.run.write_status(heartbeat=time.time(), **fields)

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=self.interval + 1)

    def _loop(self) -> None:
        while not self._stop.wait(self.interval):
            try:
                self.beat()
            except OSError:
                pass  # a full disk must not kill training; the next beat retries


def iter_run_dirs(runs_dir: str | os.PathLike[str]) -> Iterator[RunDir]:
    root = Path(runs_dir)
    if root.is_dir():
        for p in sorted(root.iterdir()):
            if (p / "status.json").exists():
                yield RunDir(p)
