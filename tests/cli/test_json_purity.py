"""With ``--json`` stdout holds nothing but JSON lines: image folders (Keras' "Found N files" chatter) and ``--detach``."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import yaml


def image_config(tmp_path: Path, epochs: int = 2) -> Path:
    """Two classes of ten 8×8 PNGs and a config that trains on them."""
    import tensorflow as tf  # tf.io writes PNGs without PIL

    rng = np.random.default_rng(0)
    for name in ("cats", "dogs"):
        folder = tmp_path / "images" / name
        folder.mkdir(parents=True)
        for i in range(10):
            img = rng.integers(0, 255, (8, 8, 3), dtype=np.uint8)
            (folder / f"{i}.png").write_bytes(tf.io.encode_png(img).numpy())
    raw = {
        "name": "images",
        "data": {"source": "directory", "path": "images", "image_size": [8, 8], "validation_split": 0.2,
                 "scale": "pixels"},
        "model": {"layers": [{"Flatten": {}}, {"Dense": {"units": 2, "activation": "softmax"}}]},
        "compile": {"loss": "sparse_categorical_crossentropy", "metrics": ["accuracy"]},
        "fit": {"epochs": epochs, "batch_size": 4},
    }  # fmt: skip
    path = tmp_path / "images.yaml"
    path.write_text(yaml.safe_dump(raw))
    return path


def json_lines(text: str) -> list[dict]:
    """Every line of ``text`` parsed as JSON; fails on the first line that is not."""
    out = []
    for line in text.splitlines():
        try:
            out.append(json.loads(line))
        except json.JSONDecodeError:
            raise AssertionError(f"not JSON on stdout: {line!r}") from None
    return out


class TestJsonPurity:
    """Nothing but JSON lines on stdout with --json."""

    def test_image_folder_training(self, kwb, tmp_path: Path):
        result = kwb("train", image_config(tmp_path), "--runs-dir", tmp_path / "runs", "--json")
        assert result.code == 0, result
        events = json_lines(result.out)
        kinds = [e["type"] for e in events]
        assert kinds[0] == "run_started" and kinds[-1] == "run_ended", kinds
        assert events[0]["train_samples"] == 16 and events[0]["val_samples"] == 4

    def test_detach_prints_one_json_object(self, tmp_path: Path):
        cfg = image_config(tmp_path, epochs=1)
        runs = tmp_path / "runs"
        env = {**os.environ, "COLUMNS": "80"}
        done = subprocess.run(
            [sys.executable, "-m", "tui.cli", "train", str(cfg), "--runs-dir", str(runs), "--detach", "--json"],
            capture_output=True, text=True, timeout=300, cwd=tmp_path, env=env,
        )  # fmt: skip
        assert done.returncode == 0, done.stderr
        (obj,) = json_lines(done.stdout)
        assert obj["type"] == "detached" and isinstance(obj["pid"], int)
        run_dir = Path(obj["run_dir"])
        assert run_dir.parent == runs.resolve() and obj["run_id"] == run_dir.name
        assert obj["attach"] == f"kwb attach {run_dir.name}"
        deadline = time.monotonic() + 240
        state = None
        while time.monotonic() < deadline:  # let the background run end inside the test's folder
            status = run_dir / "status.json"
            state = json.loads(status.read_text()).get("state") if status.exists() else None
            if state in ("finished", "failed", "stopped", "died"):
                break
            time.sleep(0.5)
        assert state == "finished", state
