"""kill -9 at any moment (issue 14, point 5): kill a ``kwb train`` run again and again, resume it each time, check nothing was lost.

Each moment starts ``kwb train`` (the first time) or ``kwb resume RUN`` and sends SIGKILL
at one of these moments, chosen at random:

- ``checkpoint``: while a checkpoint is being written (its ``.tmp-…`` file exists in checkpoints/);
- ``backup``: while the backup is being written (a ``.pending-…`` file exists in backup/);
- ``status``: while status.json (or history/events being repaired by a resume) is being
  replaced (a ``.name.xxxx.tmp`` file exists in the run directory);
- ``random``: at a random time between 0 and 2.5 s after the window is armed.

Each window is armed once the process has trained 0, 1 or 2 more epochs (at random), so
kills land at start-up (the resume's own repairs) and in the middle of a run alike.

The windows are found by polling the folders in a tight loop (a scandir about every
0.2 ms); a moment whose window did not show up in time is killed at a random time instead
and recorded as such (``hit: false``). After the last moment the run is resumed until it
finishes; then every epoch must appear exactly once in history.csv and as an
``epoch_ended`` event in events.jsonl, ``model.keras`` must load with ``safe_mode``, and no
temp file may be left. What each kill cost is recorded: the epochs trained again.

    python benchmarks/kill_soak.py                 # 20 moments, results/kill_soak.json
    python benchmarks/kill_soak.py --moments 3     # a quick look
"""

from __future__ import annotations

import argparse
import json
import os
import random
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import ROOT, write_result  # noqa: E402

SPIRALS = ROOT / "sample_configs" / "spirals.yaml"
KINDS = ("checkpoint", "backup", "status", "random")
SETTINGS = ("data.samples=400", "fit.batch_size=16", "callbacks.early_stopping=null",
            "callbacks.reduce_lr_on_plateau=null", "callbacks.model_checkpoint.save_best_only=false")  # fmt: skip
"""A run whose every epoch writes a checkpoint, a backup, a history row and status.json."""


def kwb_command(args: list[str]) -> list[str]:
    """``kwb ARGS`` as this interpreter runs it (the installed entry point, run_guarded included)."""
    return [sys.executable, "-m", "tui.cli", *args]


def start(args: list[str], cwd: Path, stdout: Any = subprocess.DEVNULL) -> subprocess.Popen[bytes]:
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2", "TMPDIR": str(cwd)}
    return subprocess.Popen(kwb_command(args), cwd=cwd, env=env, stdout=stdout, stderr=subprocess.DEVNULL)


def _temp_files(folder: Path) -> set[tuple[str, int]]:
    """The temp files in ``folder`` as (name, inode): the backup reuses its names, a new file has a new inode."""
    try:
        return {(e.name, e.inode()) for e in os.scandir(folder) if e.name.startswith(".")}
    except OSError:
        return set()


def _temp_in(folder: Path, kind: str, stale: set[tuple[str, int]]) -> bool:
    try:
        names = [e.name for e in os.scandir(folder) if (e.name, e.inode()) not in stale]
    except OSError:
        return False
    if kind == "checkpoint":
        return any(n.startswith(".tmp-") for n in names)
    if kind == "backup":
        return any(n.startswith(".pending-") for n in names)
    return any(n.startswith(".") and n.endswith(".tmp") for n in names)


def find_run(runs: Path) -> Path | None:
    found = [p for p in runs.iterdir() if (p / "status.json").exists()] if runs.is_dir() else []
    return found[0] if found else None


def wait_and_kill(proc: subprocess.Popen[bytes], runs: Path, kind: str, rng: random.Random, rows: int = 0,
                  timeout: float = 120.0) -> dict[str, Any]:  # fmt: skip
    """Kill ``proc`` in the window ``kind`` names (or at a random time); say whether the window was hit.

    The window is armed once the process has added 0, 1 or 2 epochs (at random) to the
    ``rows`` history.csv held when it started, so kills fall early and late in a run; only a
    temp file the last kill left counts (a leftover is not a window).
    """
    t0 = time.monotonic()
    run, more = find_run(runs), rng.choice((0, 1, 2))
    folders = (run, run / "checkpoints", run / "backup") if run is not None else ()
    stale = set().union(*(_temp_files(f) for f in folders))  # the last kill's leftovers, before this process runs
    while run is None or not (run / "events.jsonl").exists() or len(recorded(run)[0]) < rows + more:
        if proc.poll() is not None:
            return {"kind": kind, "hit": False, "exited": proc.returncode}
        run = find_run(runs)
        time.sleep(0.005)
    folder = {"checkpoint": run / "checkpoints", "backup": run / "backup"}.get(kind, run)
    deadline = time.monotonic() + (rng.uniform(0.0, 2.5) if kind == "random" else timeout)
    hit = False
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            return {"kind": kind, "hit": False, "exited": proc.returncode}
        if kind != "random" and _temp_in(folder, kind, stale):
            hit = True
            break
        time.sleep(0.0002)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    return {"kind": kind, "hit": hit or kind == "random", "after_s": round(time.monotonic() - t0, 3)}


def recorded(run: Path) -> tuple[list[int], list[int]]:
    """Epochs in history.csv and in epoch_ended events, in file order (torn lines skipped)."""
    rows = []
    for line in (run / "history.csv").read_text().splitlines()[1:] if (run / "history.csv").exists() else []:
        head = line.split(",", 1)[0]
        if head.isdigit() and line.count(",") >= 1:
            rows.append(int(head))
    ended = []
    for line in (run / "events.jsonl").read_text().splitlines() if (run / "events.jsonl").exists() else []:
        try:
            event = json.loads(line)
        except json.JSONDecodeError:
            continue
        if event.get("type") == "epoch_ended":
            ended.append(int(event["epoch"]))
    return rows, ended


def soak(kinds: list[str], epochs: int, work: Path, seed: int = 0, first_stdout: Any = subprocess.DEVNULL) -> dict[str, Any]:
    """Kill a run at each moment of ``kinds``, resume it to the end, and check the record; return the figures."""
    rng = random.Random(seed)
    runs = work / "runs"
    train = ["train", str(SPIRALS), "--runs-dir", str(runs), "--set", f"fit.epochs={epochs}"]
    train += [a for s in SETTINGS for a in ("--set", s)]
    moments: list[dict[str, Any]] = []
    for i, kind in enumerate(kinds):
        run = find_run(runs)
        before = len(recorded(run)[0]) if run else 0
        proc = start(train if run is None else ["resume", str(run)], work, first_stdout if i == 0 else subprocess.DEVNULL)
        moment = wait_and_kill(proc, runs, kind, rng, before)
        run = find_run(runs)
        moment["rows_at_kill"] = len(recorded(run)[0]) if run else 0
        moment["rows_before"] = before
        moment["resumes_from"] = saved_epoch(run) if run else 0
        moment["epochs_redone"] = max(0, moment["rows_at_kill"] - moment["resumes_from"])
        moments.append(moment)
        if "exited" in moment:
            break  # the run ended before this moment came
    run = find_run(runs)
    if run is None:
        raise RuntimeError("no run directory appeared")
    finishes = 0
    for _ in range(4):
        if json.loads((run / "status.json").read_text()).get("state") == "finished":
            break
        done = start(["resume", str(run)], work)
        done.wait(timeout=600)
        finishes += 1
    return {"moments": moments, "resumes_to_finish": finishes, **verify(run, epochs)}


def verify(run: Path, epochs: int) -> dict[str, Any]:
    """Every epoch exactly once in history.csv and events.jsonl, model.keras loads, no temp file left."""
    rows, ended = recorded(run)
    temp = [str(p.relative_to(run)) for p in run.rglob(".*")]
    try:
        from engine.kerasapi import keras

        keras().models.load_model(run / "model.keras", safe_mode=True)
        loads = True
    except Exception as exc:  # noqa: BLE001 - a figure, not a crash
        loads = f"{type(exc).__name__}: {exc}"
    status = json.loads((run / "status.json").read_text())
    return {
        "run": str(run), "state": status.get("state"), "epochs_done": status.get("epochs_done"),
        "history_epochs": rows, "event_epochs": ended,
        "history_exact": rows == list(range(epochs)), "events_exact": ended == list(range(epochs)),
        "model_loads": loads, "temp_files_left": temp,
    }  # fmt: skip


def saved_epoch(run: Path) -> int:
    """The epoch the next resume starts at, read without touching the run (``engine.resume.repair_backup``'s rule)."""
    backup = run / "backup"
    pending = backup / ".pending-training_metadata.json"
    meta = pending if pending.exists() and not list(backup.glob(".pending-*.weights.h5")) else backup / "training_metadata.json"
    try:
        return int(json.loads(meta.read_text())["epoch"])
    except (OSError, ValueError, KeyError, TypeError):
        return 0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--moments", type=int, default=20)
    parser.add_argument("--epochs", type=int, default=60)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    rng = random.Random(args.seed)
    kinds = [KINDS[i % len(KINDS)] for i in range(args.moments)]
    rng.shuffle(kinds)
    with tempfile.TemporaryDirectory(prefix="kwb-soak-") as work:
        t0 = time.monotonic()
        result = soak(kinds, args.epochs, Path(work), args.seed)
        result["wall_s"] = round(time.monotonic() - t0, 1)
    moments = result.pop("moments")
    held = bool(result["history_exact"] and result["events_exact"] and result["model_loads"] is True
                and not result["temp_files_left"] and result["state"] == "finished")  # fmt: skip
    summary = {
        "moments": len(moments), "windows_hit": sum(1 for m in moments if m["hit"]),
        "hit_by_kind": {k: sum(1 for m in moments if m["kind"] == k and m["hit"]) for k in KINDS},
        "held": held, "epochs_redone": sum(m.get("epochs_redone", 0) for m in moments),
        "records_lost": 0 if result["history_exact"] and result["events_exact"] else "see history_epochs/event_epochs",
    }  # fmt: skip
    name = "kill_soak" if args.moments >= 20 else "kill_soak_quick"
    kinds_hit = ", ".join(f"{n} {k}" for k, n in summary["hit_by_kind"].items())
    kills = sum(1 for m in moments if "exited" not in m)
    summary["kills"] = kills
    row = {
        "what": "kill -9 at any moment, then kwb resume (kill_soak.py)",
        "measured": f"{kills} kills ({kinds_hit} windows hit); record exact: {held}; "
                    f"{summary['epochs_redone']} epochs trained again",
        "target": "every epoch once in history.csv and events.jsonl, model.keras loads, no temp file",
        "met": held,
        "note": "SIGKILL while a checkpoint, the backup or status.json is written (temp file polled), or at random",
    }  # fmt: skip
    path = write_result(name, [row], {"summary": summary, "moments": moments, "epochs": args.epochs,
                                      "seed": args.seed, **result})  # fmt: skip
    print(json.dumps(summary, indent=2))
    print(f"written {path}")
    sys.exit(0 if held else 1)


if __name__ == "__main__":
    main()
