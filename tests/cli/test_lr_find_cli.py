"""kwb lr-find: the suggestion printed and applied as a clean YAML edit, --json, bad input; nothing else written."""

from __future__ import annotations

import json
import re
from pathlib import Path

import yaml

CONFIG = """\
# moons, with a learning rate far too high
name: moons-lr
seed: 7
data: {source: synthetic, name: moons, samples: 300, validation_split: 0.2}
model:
  input_shape: [2]
  layers:
    - Dense: {units: 16, activation: relu}   # hidden
    - Dense: {units: 2, activation: softmax}
compile:
  optimizer: {name: adam, learning_rate: 5.0}  # deliberately bad
  loss: sparse_categorical_crossentropy
fit: {epochs: 3, batch_size: 16}
"""


class TestLrFindVerb:
    """kwb lr-find CONFIG [--apply] [--json]."""

    def test_apply_writes_the_suggestion_and_nothing_else(self, kwb, tmp_path: Path) -> None:
        path = tmp_path / "moons.yaml"
        path.write_text(CONFIG)
        res = kwb("lr-find", path, "--steps", "30", "--min-lr", "1e-5", "--apply")
        assert res.code == 0, res
        found = re.search(r"suggested learning rate: (\S+)", res.out)
        assert found, res
        suggestion = float(found.group(1))
        assert 1e-5 <= suggestion <= 1.0
        after = path.read_text()
        assert yaml.safe_load(after)["compile"]["optimizer"]["learning_rate"] == suggestion
        changed = [(a, b) for a, b in zip(CONFIG.splitlines(), after.splitlines()) if a != b]
        assert len(after.splitlines()) == len(CONFIG.splitlines()) and len(changed) == 1, after
        assert "learning_rate" in changed[0][1] and "# deliberately bad" in changed[0][1]
        assert sorted(p.name for p in tmp_path.iterdir()) == ["moons.yaml"]  # no runs/ folder

    def test_json_is_one_object_and_the_config_stays(self, kwb, tmp_path: Path) -> None:
        path = tmp_path / "moons.yaml"
        path.write_text(CONFIG)
        res = kwb("lr-find", path, "--steps", "20", "--json")
        assert res.code == 0, res
        out = json.loads(res.out)
        assert out["min_lr"] <= out["suggestion"] <= out["max_lr"]
        assert len(out["lrs"]) == len(out["losses"]) and out["applied"] is False
        assert path.read_text() == CONFIG


class TestLrFindBadInput:
    """Bad options and configs: exit 2, one screen, nothing written."""

    def test_bad_range(self, kwb, tmp_path: Path) -> None:
        path = tmp_path / "moons.yaml"
        path.write_text(CONFIG)
        res = kwb("lr-find", path, "--min-lr", "1", "--max-lr", "0.1")
        assert res.code == 2
        assert res.err.strip() == "error:\n  --max-lr: must be a number above --min-lr (1), got 0.1"

    def test_bad_config_names_the_key(self, kwb, tmp_path: Path) -> None:
        path = tmp_path / "moons.yaml"
        path.write_text(CONFIG.replace("units: 16", "units: -4"))
        res = kwb("lr-find", path, "--apply")
        assert res.code == 2
        assert f"error in {path}" in res.err and "units" in res.err and "Traceback" not in res.err + res.out
        assert "units: -4" in path.read_text()
