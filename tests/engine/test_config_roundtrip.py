"""engine.config_roundtrip: only the edits are written back; comments, order, layout and relative paths stay."""

from __future__ import annotations

from pathlib import Path

import yaml

from engine.config_io import yaml_load
from engine.config_roundtrip import ConfigDocument

TEXT = """\
# My experiment: keep this comment
name: long   # why this name
data:
  source: csv
  path: data/x.csv   # relative to this file
model:
  input_shape: [4]
  layers:
    # the hidden layer
    - Dense: {units: 16, activation: relu}
    - Dense: {units: 3, activation: softmax}  # output
fit:
  epochs: 400
"""


def edited(text: str, change) -> str:
    doc = ConfigDocument.parse(text)
    before = yaml_load(text)
    after = yaml_load(text)
    change(after)
    doc.apply(before, after)
    return doc.text()


class TestOnlyEditsAreWritten:
    """What the user did not change is written back as they wrote it."""

    def test_nothing_changed_gives_the_same_text(self) -> None:
        assert edited(TEXT, lambda c: None) == TEXT

    def test_a_changed_value_keeps_every_comment_and_the_rest_of_the_file(self) -> None:
        out = edited(TEXT, lambda c: c["fit"].update(epochs=5))
        assert out == TEXT.replace("epochs: 400", "epochs: 5")

    def test_a_new_key_is_added_alone_without_defaults(self) -> None:
        out = edited(TEXT, lambda c: c["fit"].update(batch_size=64))
        assert out == TEXT + "  batch_size: 64\n"

    def test_a_new_section_holds_only_the_changed_key(self) -> None:
        def change(c):
            c["callbacks"] = {"csv_logger": False}

        assert edited(TEXT, change) == TEXT + "callbacks:\n  csv_logger: false\n"

    def test_an_inserted_layer_keeps_the_comments_around_it_and_their_style(self) -> None:
        out = edited(TEXT, lambda c: c["model"]["layers"].insert(1, {"Dropout": {"rate": 0.2}}))
        assert "    # the hidden layer\n    - Dense: {units: 16, activation: relu}\n    - Dropout: {rate: 0.2}\n" in out
        assert "    - Dense: {units: 3, activation: softmax}  # output\n" in out

    def test_a_removed_layer_keeps_the_others_comments(self) -> None:
        out = edited(TEXT, lambda c: c["model"]["layers"].pop(0))
        assert "- Dense: {units: 16" not in out and "- Dense: {units: 3, activation: softmax}  # output" in out

    def test_a_removed_key_is_removed(self) -> None:
        out = edited(TEXT, lambda c: c["data"].pop("path"))
        assert "path:" not in out and "source: csv" in out

    def test_text_that_pyyaml_would_read_as_another_type_stays_text(self) -> None:
        def change(c):
            c["name"] = "yes"
            c["fit"]["monitor"] = "1e-3"

        out = yaml.safe_load(edited(TEXT, change))
        assert out["name"] == "yes" and out["fit"]["monitor"] == "1e-3"


class TestPaths:
    """Relative paths stay relative, and still point at the same file when the config moves."""

    def test_relative_paths_follow_a_move_to_another_folder(self, tmp_path: Path) -> None:
        doc = ConfigDocument.parse(TEXT)
        doc.rebase(tmp_path, tmp_path / "sub")
        assert "  path: ../data/x.csv" in doc.text()

    def test_the_same_folder_changes_nothing(self, tmp_path: Path) -> None:
        doc = ConfigDocument.parse(TEXT)
        doc.rebase(tmp_path, tmp_path)
        assert doc.text() == TEXT


class TestSafeLoading:
    """The round-trip loader builds plain data only, like ``yaml.safe_load``."""

    def test_a_python_tag_builds_no_object_and_calls_nothing(self, tmp_path: Path) -> None:
        marker = tmp_path / "ran"
        doc = ConfigDocument.parse(f"a: !!python/object/apply:os.system ['touch {marker}']\nb: !!python/name:os.system\n")
        assert not marker.exists()
        assert list(doc.root["a"]) == [f"touch {marker}"]
        assert not callable(doc.root["b"])

    def test_yaml_that_only_pyyaml_reads_is_saved_with_its_values(self) -> None:
        # A repeated key: PyYAML keeps the last, ruamel refuses the document; the values survive.
        text = "name: x\nfit: {epochs: 3}\nname: y\n"
        doc = ConfigDocument.parse(text)
        doc.apply(yaml_load(text), {"name": "y", "fit": {"epochs": 4}})
        assert yaml_load(doc.text()) == {"name": "y", "fit": {"epochs": 4}}
