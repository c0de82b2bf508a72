"""This process's place in a multi-worker run: ``TF_CONFIG``, and the ``--workers`` shorthand for it.

Light on purpose (TensorFlow only inside ``multi_worker_strategy``): ``kwb train`` checks the
cluster before it loads anything.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from typing import Any

from engine.errors import UserError

__all__ = ["Cluster", "cluster_from_env", "tf_config_for", "parse_workers", "multi_worker_strategy"]


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
    """Check ``--workers host:port,host:port`` and ``--worker-index``; raise UserError naming the flag."""
    workers = [w.strip() for w in text.split(",") if w.strip()]
    if len(workers) < 2:
        raise UserError("--workers needs at least two host:port entries, comma-separated", key="--workers")
    for w in workers:
        host, sep, port = w.rpartition(":")
        if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
            raise UserError(f"--workers: {w!r} is not host:port (e.g. 10.0.0.5:12345)", key="--workers")
    if index is None:
        raise UserError("--workers needs --worker-index (0 for the chief)", key="--worker-index")
    if not 0 <= index < len(workers):
        raise UserError(f"--worker-index must be 0…{len(workers) - 1} for {len(workers)} workers", key="--worker-index")
    return workers


def cluster_from_env() -> Cluster:
    """Read ``TF_CONFIG``. Raises UserError when it is missing or malformed."""
    raw = os.environ.get("TF_CONFIG")
    if not raw:
        raise UserError(
            "runtime.strategy multi_worker needs the cluster: set TF_CONFIG, or pass "
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
    if task_type == "worker" and cluster.get("chief"):
        index += len(cluster["chief"])
    return Cluster(workers, index, task_type)


def multi_worker_strategy() -> Any:
    """``MultiWorkerMirroredStrategy`` from TF_CONFIG, under tf-keras (see engine.kerasapi)."""
    import tensorflow as tf

    from engine.kerasapi import LEGACY_ENV, legacy

    cluster_from_env()  # a clear message for a missing or malformed TF_CONFIG
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
    return tf.distribute.MultiWorkerMirroredStrategy()
