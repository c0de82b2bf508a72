"""Three finished runs that differ in two settings (the learning rate, the first layer's units), for the Runs screen's tests.

Built in the test's folder from the recorded runs under ``fixtures/runs`` (their events and
history, a run's losses scaled so its curve stands apart), each with its own config.yaml,
status.json (fixed durations, so snapshots do not move), history.csv and events.jsonl.
"""

from __future__ import annotations

import csv
import json
from dataclasses import replace
from pathlib import Path

import yaml

from engine import events as ev
from engine.callbacks.monitor import best_of
from engine.runs import read_events

RECORDED = Path(__file__).parent / "fixtures" / "runs"

RUNS = (
    # id, recorded run, lr, units, duration (s), epochs kept, scale of the losses
    ("20261201-100001-spirals", "early", 0.005, 64, 312.0, None, 1.0),
    ("20261201-100002-spirals", "controls", 0.01, 64, 65.0, None, 1.0),
    ("20261201-100003-spirals", "controls", 0.01, 16, 3725.0, 4, 1.4),
)
"""What each run is made of."""


def _events(source: str, run_id: str, keep: int | None, scale: float) -> list[ev.Event]:
    out = []
    for event in read_events(next(RECORDED.glob(f"*-{source}"))):
        if isinstance(event, ev.RunStarted):
            event = replace(event, run_id=run_id, run_dir=None, name="spirals")
        if isinstance(event, ev.EpochEnded):
            if keep is not None and event.epoch >= keep:
                continue
            logs = {k: v * scale if "loss" in k else v for k, v in event.logs.items()}
            event = replace(event, logs=logs)
        if isinstance(event, (ev.EpochStarted, ev.Batch)) and keep is not None and getattr(event, "epoch", 0) >= keep:
            continue
        out.append(event)
    return out


def build_runs(root: Path) -> Path:
    """Write the three runs under ``root/runs`` and return that folder."""
    runs = root / "runs"
    for run_id, source, lr, units, duration, keep, scale in RUNS:
        path = runs / run_id
        path.mkdir(parents=True)
        recorded = next(RECORDED.glob(f"*-{source}"))
        cfg = yaml.safe_load((recorded / "config.yaml").read_text(encoding="utf-8"))
        cfg.update(name="spirals")
        cfg["data"]["noise"] = 0.3
        cfg["fit"]["epochs"] = 15
        cfg["callbacks"] = yaml.safe_load((RECORDED / "20261121-074027-early" / "config.yaml").read_text())["callbacks"]
        cfg["compile"]["optimizer"]["learning_rate"] = lr
        cfg["model"]["layers"][0]["Dense"]["units"] = units
        (path / "config.yaml").write_text(yaml.safe_dump(cfg, sort_keys=False), encoding="utf-8")
        events = _events(source, run_id, keep, scale)
        (path / "events.jsonl").write_text("".join(ev.encode(e) + "\n" for e in events), encoding="utf-8")
        history = [{"epoch": e.epoch, **e.logs} for e in events if isinstance(e, ev.EpochEnded)]
        with open(path / "history.csv", "w", newline="", encoding="utf-8") as fh:
            writer = csv.DictWriter(fh, fieldnames=list(history[0]))
            writer.writeheader()
            writer.writerows(history)
        (path / "model.keras").write_bytes(b"")
        status = {"state": "finished" if keep is None else "stopped", "run_id": run_id, "name": "spirals", "epochs": 15,
                  "epochs_done": len(history), "duration_s": duration, "best": best_of([dict(h) for h in history]),
                  "started": 1796205600.0, "ended": 1796205600.0 + duration, "pid": 1, "host": "elsewhere"}  # fmt: skip
        (path / "status.json").write_text(json.dumps(status), encoding="utf-8")
    return runs
