"""Config runs and script runs side by side, as a user's runs folder holds them after ``kwb train`` and ``kwb run my_script.py``.

Two config runs (config.yaml: seed, data, compile, runtime sections) and two script runs
(script.json as ``kwb run`` writes it: the whole model summary, argv0, cwd, array
descriptions, versions, the time it was recorded). They differ in the learning rate, the
batch size and the script's own ``--lr``/``--epochs`` options; nothing else is a setting.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path

import yaml

SUMMARY = ['Model: "sequential"', "┏" + "━" * 70 + "┓", "┃ Layer (type)            ┃ Output Shape      ┃   Param # ┃"]
SUMMARY += [f"│ dense_{i} (Dense)          │ (None, 16)        │       144 │" for i in range(12)]
SUMMARY += [" Total params: 1,762 (6.88 KB)", " Trainable params: 1,762 (6.88 KB)"]

CONFIG = {
    "name": "spirals", "seed": 42,
    "data": {"source": "synthetic", "name": "spirals", "samples": 2000},
    "model": {"input_shape": [2], "layers": [{"Dense": {"units": 16, "activation": "relu"}}, {"Dense": {"units": 2}}]},
    "compile": {"optimizer": {"name": "adam", "learning_rate": 0.01}, "loss": "sparse_categorical_crossentropy"},
    "fit": {"epochs": 3, "batch_size": 32},
    "callbacks": {"early_stopping": None},
    "runtime": {"device": "auto", "strategy": "default"},
}  # fmt: skip

RUNS = (
    # id, kind, lr, batch size, script options, val_losses
    ("20261202-100001-spirals", "config", 0.01, 32, None, [0.5, 0.3]),
    ("20261202-100002-spirals", "config", 0.001, 64, None, [0.6, 0.55]),
    ("20261202-100003-my_script-1", "script", 0.01, 64, ["--lr", "0.01"], [0.2, 0.1]),
    ("20261202-100004-my_script-1", "script", 0.003, 128, ["--lr=0.003", "--epochs", "4", "data.npz"], [0.4, 0.25]),
)


def _script_json(run_id: str, lr: float, batch: int, args: list[str]) -> dict:
    return {
        "kind": "script", "script": "/home/someone/project/my_script.py", "args": args,
        "cwd": f"/home/someone/project/{run_id}", "argv0": "my_script.py",
        "versions": {"python": "3.11.7", "keras": "3.15.1", "tensorflow": "2.21.0"},
        "model": {"class": "Sequential", "summary": SUMMARY[: 10 + len(args)]},
        "compile": {"optimizer": {"name": "adam", "learning_rate": lr}, "loss": "sparse_categorical_crossentropy"},
        "fit": {"x": f"ndarray ({4000 + batch}, 8)", "y": "ndarray (4000,)", "epochs": 3, "initial_epoch": None,
                "batch_size": batch, "steps_per_epoch": None, "validation_split": 0.2, "validation_data": None,
                "validation_steps": None, "class_weight": False, "sample_weight": False},
        "recorded": 1796207000.0 + batch,
    }  # fmt: skip


def build_mixed_runs(root: Path) -> Path:
    """Write the four runs under ``root/runs`` and return that folder."""
    runs = root / "runs"
    for run_id, kind, lr, batch, args, val_losses in RUNS:
        path = runs / run_id
        path.mkdir(parents=True)
        if kind == "config":
            cfg = json.loads(json.dumps(CONFIG))
            cfg["compile"]["optimizer"]["learning_rate"], cfg["fit"]["batch_size"] = lr, batch
            (path / "config.yaml").write_text(yaml.safe_dump(cfg, sort_keys=False), encoding="utf-8")
        else:
            (path / "script.json").write_text(json.dumps(_script_json(run_id, lr, batch, args or [])), encoding="utf-8")
        with open(path / "history.csv", "w", newline="", encoding="utf-8") as fh:
            writer = csv.writer(fh)
            writer.writerow(["epoch", "loss", "val_loss"])
            writer.writerows([i, v + 0.1, v] for i, v in enumerate(val_losses))
        (path / "model.keras").write_bytes(b"")
        status = {"state": "finished", "run_id": run_id, "name": run_id.split("-", 2)[-1], "epochs": 3,
                  "epochs_done": len(val_losses), "duration_s": 20.0, "best": {"val_loss": min(val_losses)}}  # fmt: skip
        (path / "status.json").write_text(json.dumps(status), encoding="utf-8")
    return runs
