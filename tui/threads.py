"""Thread priorities for the app's background work: training must not starve the UI thread."""

from __future__ import annotations

import os
import sys
import threading

__all__ = ["BACKGROUND_NICE", "lower_thread_priority"]

BACKGROUND_NICE = int(os.environ.get("KWB_TRAIN_NICE", "0"))
"""How many ``nice`` steps below the UI thread the app runs its training and TensorFlow
threads (environment ``KWB_TRAIN_NICE``; default 0, off). 5 took the p95 of a key press
during a two-core run from ~44 to ~27 ms (README, Performance), but then training in the
app also yields to any other busy process; both are well inside 100 ms, so it is opt-in."""


def lower_thread_priority(steps: int | None = None) -> None:
    """Run the calling thread, and every thread it starts from now on, ``steps`` nice levels lower.

    Linux keeps a nice value per thread and a new thread inherits its creator's, so
    calling this first thing in a worker that imports or runs TensorFlow puts
    TensorFlow's own thread pools there too. The UI thread keeps its priority and gets
    a core as soon as it has work (a key, a redraw); when it is idle the training uses
    all of the CPU as before. The price: on a machine busy with other work, training in
    the app also yields to that work (``kwb train`` does not). Linux only (elsewhere a
    thread id is not something ``setpriority`` takes); a refusal is ignored.
    """
    steps = BACKGROUND_NICE if steps is None else steps
    if steps <= 0 or not sys.platform.startswith("linux"):
        return
    try:
        tid = threading.get_native_id()
        os.setpriority(
            os.PRIO_PROCESS, tid, min(19, os.getpriority(os.PRIO_PROCESS, tid) + steps)
        )
    except OSError:
        pass
