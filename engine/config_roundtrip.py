"""Saving a config as its author wrote it: only the edits are written; comments, key order, layout and relative paths stay.

Why ruamel.yaml: PyYAML (``engine.config_io``) reads YAML into plain dicts and lists, so
writing them back drops every comment and cannot keep the file's order, flow style or
quoting. ruamel.yaml's round-trip mode keeps all of that for every node it is not asked
to change. Who owns what: the *values* the app edits and ``kwb train`` runs still come
from ``engine.config_io`` (PyYAML's safe loader); the round-trip document read here is
only the text to write back, with :func:`merge_edits` applying the difference between
the config as loaded and as edited. Reading is as safe as ``yaml.safe_load``: the
round-trip loader builds only plain data (``CommentedMap``, ``CommentedSeq``, scalars,
and inert tagged nodes for unknown tags: ``!!python/object/apply`` becomes a list, never
a call); no arbitrary Python object is ever constructed.
"""

from __future__ import annotations

import difflib
import io
import os
from pathlib import Path
from typing import Any, Mapping

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedBase, CommentedMap, CommentedSeq
from ruamel.yaml.error import YAMLError
from ruamel.yaml.scalarstring import DoubleQuotedScalarString

from engine.config_io import PATH_KEYS, atomic_write_text, parse_value

__all__ = ["ConfigDocument", "merge_edits", "PATH_KEYS"]

_MISSING = object()


def _guess_indent(text: str) -> tuple[int, int]:
    """(mapping indent, dash offset) as the file uses them; ruamel's own guess mistakes ``  - x`` for a 4-space mapping."""
    mapping, offset = 2, 0
    found_mapping = found_offset = False
    lines = [line for line in text.splitlines() if line.strip() and not line.lstrip().startswith("#")]
    for prev, line in zip(lines, lines[1:]):
        if not prev.rstrip().endswith(":"):
            continue
        key_col = len(prev) - len(prev.lstrip(" -"))
        step = len(line) - len(line.lstrip(" ")) - key_col
        if line.lstrip().startswith("- ") and step >= 0 and not found_offset:
            offset, found_offset = step, True
        elif step > 0 and not line.lstrip().startswith("- ") and not found_mapping:
            mapping, found_mapping = step, True
    return mapping, offset


def _yaml(text: str = "") -> YAML:
    y = YAML(typ="rt")  # round trip: CommentedMap/CommentedSeq and scalars only
    mapping, offset = _guess_indent(text)
    y.indent(mapping=mapping, sequence=offset + 2, offset=offset)
    y.width = 4096  # never re-wrap a line the user wrote
    y.preserve_quotes = True
    return y


class ConfigDocument:
    """A config file's YAML document, kept with its comments, to write edits back into."""

    def __init__(self, text: str = "") -> None:
        """Parse ``text`` (a config file's content); raises ``ruamel.yaml`` errors on bad YAML."""
        self._yaml = _yaml(text)
        root = self._yaml.load(text) if text.strip() else None
        self.root: Any = root if isinstance(root, CommentedMap) else CommentedMap()

    @classmethod
    def parse(cls, text: str) -> ConfigDocument:
        """The document in ``text``; where ruamel (YAML 1.2) cannot read what PyYAML (1.1) could, its values without the comments."""
        try:
            return cls(text)
        except YAMLError:
            from engine.config_io import yaml_load

            doc = cls()
            values = yaml_load(text)
            merge_edits(doc.root, {}, values if isinstance(values, dict) else {})
            return doc

    def apply(self, before: Mapping[str, Any], after: Mapping[str, Any]) -> None:
        """Write into the document what changed from ``before`` (the config as loaded) to ``after`` (as edited)."""
        merge_edits(self.root, before, after)

    def rebase(self, old_dir: Path, new_dir: Path) -> None:
        """Keep relative data and model paths pointing at the same files once the config moves from ``old_dir`` to ``new_dir``."""
        if old_dir.resolve() == new_dir.resolve():
            return
        for keys in PATH_KEYS:
            node: Any = self.root
            for key in keys[:-1]:
                node = node.get(key) if isinstance(node, Mapping) else None
            value = node.get(keys[-1]) if isinstance(node, CommentedMap) else None
            if isinstance(value, str) and value and not Path(os.path.expanduser(value)).is_absolute():
                node[keys[-1]] = os.path.relpath((old_dir / value).resolve(), new_dir.resolve())

    def text(self) -> str:
        """The document as YAML text."""
        out = io.StringIO()
        self._yaml.dump(self.root, out)
        return out.getvalue()

    def save(self, path: str | os.PathLike[str]) -> None:
        """Write the document to ``path`` atomically (temp file, then rename)."""
        atomic_write_text(path, self.text())


# ---------------------------------------------------------------- merging edits
def merge_edits(doc: CommentedMap, before: Mapping[str, Any], after: Mapping[str, Any]) -> None:
    """Change ``doc`` (a round-trip mapping) by exactly what differs between ``before`` and ``after``.

    Keys equal in both are left as written (or absent: no default is filled in); a
    changed leaf replaces the node, keeping its neighbours' comments; a section missing
    from ``doc`` is created with only the changed keys in it; a key gone from ``after`` is
    removed. Lists of the same length merge item by item; others by a sequence diff, so
    an inserted layer keeps the comments of the layers around it.
    """
    for key, new in after.items():
        old = before.get(key, _MISSING)
        if old is not _MISSING and old == new:
            continue
        current = doc.get(key, _MISSING)
        if isinstance(new, Mapping) and isinstance(old, Mapping) and (current in (_MISSING, None) or isinstance(current, CommentedMap)):
            if not isinstance(current, CommentedMap):  # absent or empty: only the changed keys go in
                doc[key] = current = CommentedMap()
            merge_edits(current, old, new)
        elif isinstance(new, list) and isinstance(old, list) and isinstance(current, CommentedSeq) and len(current) == len(old):
            _merge_list(current, old, new)
        else:
            doc[key] = _node(new, current)
    for key in before:
        if key not in after and key in doc:
            del doc[key]


def _merge_list(seq: CommentedSeq, before: list[Any], after: list[Any]) -> None:
    matcher = difflib.SequenceMatcher(a=[repr(x) for x in before], b=[repr(x) for x in after], autojunk=False)
    # Applied from the end, so the indices of the earlier opcodes still hold; CommentedSeq
    # moves each item's comments along on insert and delete.
    for tag, i1, i2, j1, j2 in reversed(matcher.get_opcodes()):
        if tag == "equal":
            continue
        if tag == "replace" and i2 - i1 == j2 - j1:
            for i, j in zip(range(i1, i2), range(j1, j2)):
                _merge_item(seq, i, before[i], after[j])
            continue
        template = seq[i1] if i1 < len(seq) else (seq[i1 - 1] if i1 else None)
        for i in reversed(range(i1, i2)):
            del seq[i]
        for offset, item in enumerate(after[j1:j2]):
            seq.insert(i1 + offset, _node(item, template))


def _merge_item(seq: CommentedSeq, i: int, old: Any, new: Any) -> None:
    current = seq[i]
    if isinstance(old, Mapping) and isinstance(new, Mapping) and isinstance(current, CommentedMap):
        merge_edits(current, old, new)
    else:
        seq[i] = _node(new, current)


def _node(value: Any, like: Any = _MISSING) -> Any:
    """``value`` as a round-trip node, in the flow or block style of the node it replaces or sits beside."""
    if isinstance(value, Mapping):
        out = CommentedMap()
        first = next(iter(like.values()), _MISSING) if isinstance(like, Mapping) and like else _MISSING
        for k, v in value.items():
            child = like.get(k, first) if isinstance(like, Mapping) else _MISSING
            out[k] = _node(v, child)
        _copy_style(out, like)
        return out
    if isinstance(value, list):
        seq = CommentedSeq(_node(v, like[0] if isinstance(like, list) and like else _MISSING) for v in value)
        _copy_style(seq, like)
        return seq
    if isinstance(value, str) and value and parse_value(value) != value:
        return DoubleQuotedScalarString(value)  # ``yes``, ``1e-3``, ``null`` as text stay text for PyYAML (YAML 1.1)
    return value


def _copy_style(node: CommentedBase, like: Any) -> None:
    if isinstance(like, CommentedBase) and like.fa.flow_style():
        node.fa.set_flow_style()
