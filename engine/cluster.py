"""This process's place in a multi-worker run: ``TF_CONFIG``, the ``--workers`` shorthand for it, and joining.

Light on purpose (TensorFlow only inside ``multi_worker_strategy``): ``kwb train`` checks the
cluster before it loads anything.

Joining is done in two steps, because TensorFlow's own join blocks inside C++ with the
interpreter lock held: no Python signal handler runs there, so Ctrl-C and SIGTERM would
be lost and a missing peer would hang the process silently. First ``wait_for_peers``
(holding a non-chief worker's port meanwhile) waits, in Python, until every other worker's port answers,
saying whom it waits for and giving up after ``runtime.worker_timeout`` seconds; only then
is ``MultiWorkerMirroredStrategy`` built, with SIGINT and SIGTERM at their default
(the process ends, as a shell sees it, with 130 or 143; nothing is written yet), and our
handlers are put back afterwards (TensorFlow's preemption notifier takes SIGTERM while it
joins).
"""

from __future__ import annotations

import json
import os
import signal
import socket
import sys
import time
from dataclasses import dataclass
from typing import Any, Callable, TextIO

from engine.errors import UserError

__all__ = [
    "Cluster",
    "cluster_from_env",
    "tf_config_for",
    "parse_workers",
    "multi_worker_strategy",
    "wait_for_peers",
    "lost_workers",
    "WORKER_TIMEOUT_S",
]

WORKER_TIMEOUT_S = 300.0
"""How long a worker waits for the others to start before it gives up (``runtime.worker_timeout``)."""


@dataclass(frozen=True)
class Cluster:
    """This process's place in a multi-worker run."""

    workers: tuple[str, ...]
    index: int
    task_type: str = "worker"

    @property
    def is_chief(self) -> bool:
        return self.task_type == "chief" or (self.task_type == "worker" and self.index == 0)

    @property
    def size(self) -> int:
        return len(self.workers)


def tf_config_for(workers: list[str], index: int) -> str:
    """The ``TF_CONFIG`` JSON for worker ``index`` of ``workers`` (``host:port`` each)."""
    return json.dumps({"cluster": {"worker": list(workers)}, "task": {"type": "worker", "index": index}})


def parse_workers(text: str, index: int | None) -> list[str]:
    """Check ``--workers host:port,host:port`` and ``--worker-index``; raise UserError naming the flag.

    Messages are worded to follow the flag (``--workers: expected …``), which ``UserError`` puts first.
    """
    workers = [w.strip() for w in text.split(",") if w.strip()]
    if len(workers) < 2:
        raise UserError("expected at least two host:port entries, comma-separated", key="--workers")
    for w in workers:
        host, sep, port = w.rpartition(":")
        if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
            raise UserError(f"{w!r} is not host:port (e.g. 10.0.0.5:12345)", key="--workers")
    _no_duplicates(workers, "--workers")
    if index is None:
        raise UserError("needed with --workers: this worker's place in the list (0 for the chief)", key="--worker-index")
    if not 0 <= index < len(workers):
        raise UserError(f"must be 0…{len(workers) - 1} for {len(workers)} workers", key="--worker-index")
    return workers


def _no_duplicates(workers: list[str] | tuple[str, ...], key: str) -> None:
    """Refuse an address listed twice: two workers cannot share a port, and TensorFlow would wait forever."""
    seen: set[str] = set()
    twice = [w for w in workers if w in seen or seen.add(w)]  # type: ignore[func-returns-value]
    if twice:
        listed = ", ".join(dict.fromkeys(twice))
        raise UserError(f"{listed} is listed more than once; every worker needs its own host:port", key=key)


def cluster_from_env() -> Cluster:
    """Read ``TF_CONFIG``. Raises UserError when it is missing or malformed."""
    raw = os.environ.get("TF_CONFIG")
    if not raw:
        raise UserError(
            "multi_worker needs the cluster: set TF_CONFIG, or pass "
            "--workers host:port,host:port --worker-index I to kwb train",
            key="runtime.strategy",
        )
    try:
        doc = json.loads(raw)
        cluster = doc["cluster"]
        task = doc["task"]
        task_type = str(task["type"])
        index = int(task["index"])
        workers = tuple(str(w) for w in cluster.get("chief", []) + cluster.get("worker", []))
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        raise UserError(
            f"TF_CONFIG is not valid: expected {{\"cluster\": {{\"worker\": [\"host:port\", …]}}, "
            f"\"task\": {{\"type\": \"worker\", \"index\": N}}}} ({type(exc).__name__}: {exc})",
            key="TF_CONFIG",
        ) from None
    if task_type not in ("worker", "chief"):
        raise UserError(f"TF_CONFIG task type {task_type!r} is not supported; use worker (or chief)", key="TF_CONFIG")
    n_of_type = len(cluster.get(task_type, []))
    if not 0 <= index < n_of_type:
        raise UserError(f"TF_CONFIG task index {index} is outside the {n_of_type} {task_type} entries", key="TF_CONFIG")
    _no_duplicates(workers, "TF_CONFIG")
    if task_type == "worker" and cluster.get("chief"):
        index += len(cluster["chief"])
    return Cluster(workers, index, task_type)


def multi_worker_strategy(timeout: float = WORKER_TIMEOUT_S, say: Callable[[str], None] | None = None) -> Any:
    """``MultiWorkerMirroredStrategy`` from TF_CONFIG, under tf-keras (see engine.kerasapi), once every peer answers.

    Args:
        timeout: seconds to wait for the other workers to start. Defaults to ``WORKER_TIMEOUT_S``.
        say: where "waiting for worker 1 at …" lines go. Defaults to None, the terminal
            (``engine.native_log``), since fd 2 points at a log file while TensorFlow loads.

    Raises:
        UserError: TF_CONFIG is missing or malformed, tf-keras is missing, or a worker did not
            start within ``timeout`` seconds (nothing has been written then).
    """
    import tensorflow as tf

    from engine.kerasapi import LEGACY_ENV, legacy

    cluster = cluster_from_env()  # a clear message for a missing or malformed TF_CONFIG
    if not legacy():
        raise UserError(
            f"runtime.strategy multi_worker trains with tf-keras, which must be chosen before TensorFlow "
            f"loads: run it with `kwb train` (it sets {LEGACY_ENV}=1), not from the app or a process "
            "that already imported Keras 3",
            key="runtime.strategy",
        )
    try:
        import tf_keras  # noqa: F401
    except ImportError:
        raise UserError(
            'runtime.strategy multi_worker needs the tf-keras package: pip install -e ".[distributed]"',
            key="runtime.strategy",
        ) from None
    wait_for_peers(cluster, timeout, say or _terminal_line)
    return _join_with_default_signals(tf.distribute.MultiWorkerMirroredStrategy)


def _terminal_line(text: str) -> None:
    from engine.native_log import native_log

    stream: TextIO = native_log.terminal if native_log.active else sys.stderr
    print(text, file=stream, flush=True)


def _join_with_default_signals(build: Callable[[], Any]) -> Any:
    """Call ``build`` with SIGINT and SIGTERM at their default action, then put the handlers back.

    TensorFlow joins the cluster in C++ holding the interpreter lock, where a Python handler
    never runs; the default action still ends the process. Putting ours back afterwards also
    takes SIGTERM back from TensorFlow's preemption notifier, installed during the join.
    """
    import threading

    if threading.current_thread() is not threading.main_thread():
        return build()
    saved = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM)}
    for sig in saved:
        signal.signal(sig, signal.SIG_DFL)
    try:
        return build()
    finally:
        for sig, handler in saved.items():
            signal.signal(sig, handler if handler is not None else signal.SIG_DFL)


def _address(worker: str) -> tuple[str, int]:
    host, _, port = worker.rpartition(":")
    return host.strip("[]"), int(port)


def _answers(worker: str) -> bool:
    try:
        with socket.create_connection(_address(worker), timeout=0.5):
            return True
    except OSError:
        return False


def _hold_port(cluster: Cluster) -> socket.socket | None:
    """Listen on this worker's own port while waiting, so the others see it answer; None if it cannot."""
    _, port = _address(cluster.workers[cluster.index])
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind(("", port))
        sock.listen(16)  # never accepted: the kernel completes a peer's probe, and close() resets it
    except OSError as exc:
        sock.close()
        if isinstance(exc, OSError) and exc.errno in (98, 48):  # EADDRINUSE (Linux, macOS)
            raise UserError(
                f"port {port} of {cluster.workers[cluster.index]} (worker {cluster.index}, this process) is already "
                "in use by another process: choose a free port for it in --workers or TF_CONFIG"
            ) from None
        return None
    return sock


def wait_for_peers(cluster: Cluster, timeout: float, say: Callable[[str], None], every: float = 10.0) -> None:
    """Wait until every other worker's port answers, saying whom we wait for; UserError after ``timeout`` s.

    A non-chief worker's own port answers meanwhile (a placeholder socket, closed before
    TensorFlow binds it), so the chief sees it, goes on, and opens its real port, which the
    others wait for: workers started in any order find each other. The wait is plain Python:
    Ctrl-C raises ``KeyboardInterrupt`` here, and SIGTERM ends the process.

    Args:
        cluster: this process's place in the run.
        timeout: seconds before giving up.
        say: called with each "waiting for …" line.
        every: seconds between repeated lines. Defaults to 10.0.
    """
    others = [(i, w) for i, w in enumerate(cluster.workers) if i != cluster.index]
    # Only the other workers hold their port: the chief's answers only once it is TensorFlow's own,
    # so a worker never connects to a placeholder (gRPC would back off for many seconds).
    held = None if cluster.is_chief else _hold_port(cluster)
    saved = _exit_on_terminate()
    try:
        start = time.monotonic()
        next_line = start
        while True:
            missing = [(i, w) for i, w in others if not _answers(w)]
            if not missing:
                return
            waited = time.monotonic() - start
            names = ", ".join(f"worker {i} at {w}" for i, w in missing)
            if waited >= timeout:
                raise UserError(
                    f"gave up after {timeout:g}s waiting for {names}: start it (kwb train … --worker-index "
                    f"{missing[0][0]}), or wait longer with --set runtime.worker_timeout=SECONDS",
                    key="runtime.worker_timeout",
                )
            if time.monotonic() >= next_line:
                say(f"waiting for {names} ({waited:.0f}s of {timeout:g}s; Ctrl-C to give up)")
                next_line += every
            time.sleep(0.25)
    except _Terminated as exc:
        say(f"{signal.Signals(exc.signum).name} while waiting for the other workers; nothing was written")
        raise SystemExit(128 + exc.signum) from None
    finally:
        if held is not None:
            held.close()
        for sig, handler in saved.items():
            signal.signal(sig, handler)


class _Terminated(Exception):
    """SIGTERM or SIGHUP arrived while waiting for the other workers."""

    def __init__(self, signum: int) -> None:
        super().__init__(signum)
        self.signum = signum


def _exit_on_terminate() -> dict[int, Any]:
    """While waiting (nothing written yet), SIGTERM and SIGHUP end the process with 128 + the signal; the old handlers.

    ``SystemExit`` rather than ``os._exit``, so the usual clean-up (the preload log) still runs.
    """
    import threading

    if threading.current_thread() is not threading.main_thread():
        return {}

    def leave(signum: int, frame: object) -> None:
        raise _Terminated(signum)  # said and turned into an exit by wait_for_peers, outside the handler

    saved = {}
    for sig in (signal.SIGTERM, signal.SIGHUP):
        saved[sig] = signal.getsignal(sig)
        if saved[sig] is not signal.SIG_IGN:  # a detached run ignores SIGHUP on purpose
            signal.signal(sig, leave)
    return {sig: h if h is not None else signal.SIG_DFL for sig, h in saved.items()}


_CUT_OFF = ("Connection reset by peer", "Socket closed", "Connection refused", "failed to connect", "Broken pipe")
"""How TensorFlow words a peer gone in the middle of a collective, before any heartbeat is missed."""


def lost_workers(text: str) -> str | None:
    """Which workers a TensorFlow error says were lost, as "worker 1 (10.0.0.6:23456)"; None if it names none.

    TensorFlow's coordination service reports a worker that stopped sending heartbeats as
    "The following tasks are unhealthy …" followed by ``/job:worker/replica:0/task:N``; a
    worker killed in the middle of an all-reduce shows first as "Collective ops is aborted by:
    … Connection reset by peer", naming no one: then the other workers are named (with two
    workers, that is the one).
    """
    import re

    workers, chiefs, me = _tf_config_workers()
    if "unhealthy" in text or "heartbeat" in text:
        tail = text.split("unhealthy", 1)[1] if "unhealthy" in text else text
        tasks = dict.fromkeys(re.findall(r"/job:(worker|chief)/replica:\d+/task:(\d+)", tail))
        indices = [int(task) + (chiefs if job == "worker" else 0) for job, task in tasks]
    elif "Collective ops is aborted" in text and any(cut in text for cut in _CUT_OFF):
        indices = [i for i in range(len(workers)) if i != me]
    else:
        return None
    if not indices:
        return None
    names = [f"worker {i}" + (f" ({workers[i]})" if i < len(workers) else "") for i in indices]
    return names[0] if len(names) == 1 else "one of " + ", ".join(names)


def _tf_config_workers() -> tuple[list[str], int, int | None]:
    """From TF_CONFIG: every worker's address (chief first), how many chiefs, and this process's index."""
    try:
        doc = json.loads(os.environ.get("TF_CONFIG") or "{}")
        chiefs = list(doc["cluster"].get("chief", []))
        workers = chiefs + list(doc["cluster"].get("worker", []))
        task = doc.get("task", {})
        me = int(task["index"]) + (len(chiefs) if task.get("type") == "worker" else 0)
    except (ValueError, KeyError, TypeError, AttributeError):
        return [], 0, None
    return workers, len(chiefs), me
