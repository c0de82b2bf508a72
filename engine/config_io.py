"""Reading and writing run configs: safe YAML, typed values, ``--set`` overrides, path resolution, atomic save.

The I/O layer above the schema (``engine.config``). Reading YAML (``yaml_load``,
``parse_value``, ``read_raw_config``) imports no pydantic, so the app can read its config
before its first frame; ``parse_config``/``load_config`` import the schema when they
validate. Relative data and model paths are resolved against the config file's folder, so
the resolved copy saved in a run directory trains identically from anywhere.
"""

from __future__ import annotations

import os
import re
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from engine.errors import ConfigError, format_loc

if TYPE_CHECKING:
    from engine.config import RunConfig

__all__ = [
    "yaml_load",
    "YamlRefused",
    "MAX_CONFIG_BYTES",
    "MAX_YAML_DEPTH",
    "MAX_YAML_NODES",
    "parse_value",
    "read_raw_config",
    "parse_config",
    "load_config",
    "apply_overrides",
    "PATH_KEYS",
    "dump_config",
    "save_config",
    "atomic_write_text",
]


# ---------------------------------------------------------------- load / save
class _YamlLoader(yaml.SafeLoader):
    """``yaml.SafeLoader`` that also reads ``1e-4`` as a number.

    PyYAML follows YAML 1.1, where a float needs a dot (``1.0e-4``); YAML 1.2 and
    every user expect ``1e-4`` to be a number too.
    """


_YamlLoader.add_implicit_resolver(
    "tag:yaml.org,2002:float",
    re.compile(r"^[-+]?[0-9][0-9_]*(?:\.[0-9_]*)?[eE][-+]?[0-9]+$"),
    list("-+0123456789"),
)


MAX_CONFIG_BYTES = 1 << 20
"""A config file larger than this (1 MiB) is refused before it is parsed."""
MAX_YAML_DEPTH = 64
"""Nesting deeper than this is refused while composing (PyYAML would recurse until Python gives up)."""
MAX_YAML_NODES = 100_000
"""A document that expands (aliases counted each time they are used) to more nodes than this is refused."""


class YamlRefused(ValueError):
    """YAML text over one of the limits above: too large, too deep, or expanding too far through aliases.

    ``key`` is where the nesting went too deep (the first levels of the key path), or "".
    """

    def __init__(self, message: str, key: str = "") -> None:
        super().__init__(message)
        self.key = key


class _LimitedYamlLoader(_YamlLoader):
    """``_YamlLoader`` that refuses deep nesting and alias bombs before any Python object is built.

    Aliases are cheap to compose (they share one node) and explode only when something walks the
    result, so the expanded size is counted on the node graph, each node once (memoised).
    """

    _depth = 0
    _path: list[Any] | None = None

    def compose_node(self, parent: Any, index: Any) -> Any:
        if self._path is None:
            self._path = []
        self._depth += 1
        self._path.append(index.value if isinstance(index, yaml.ScalarNode) else index)
        try:
            if self._depth > MAX_YAML_DEPTH:
                parts = [p for p in self._path if p is not None]
                key = format_loc(parts[:4]) + ("…" if len(parts) > 4 else "")
                raise YamlRefused(f"nests deeper than {MAX_YAML_DEPTH} levels", key)
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1
            self._path.pop()

    def get_single_node(self) -> Any:
        node = super().get_single_node()
        if node is not None and _expanded_size(node, {}) > MAX_YAML_NODES:
            raise YamlRefused(f"expands to more than {MAX_YAML_NODES:,} values through its aliases (a YAML bomb?)")
        return node


def _expanded_size(node: Any, memo: dict[int, int]) -> int:
    """Nodes under ``node`` with every alias expanded; stops counting past the limit."""
    known = memo.get(id(node))
    if known is not None:
        return known
    memo[id(node)] = MAX_YAML_NODES + 1  # a node inside itself (a recursive alias) counts as too big
    total = 1
    if isinstance(node, yaml.SequenceNode):
        children = node.value
    elif isinstance(node, yaml.MappingNode):
        children = [part for pair in node.value for part in pair]
    else:
        children = []
    for child in children:
        total += _expanded_size(child, memo)
        if total > MAX_YAML_NODES:
            break
    memo[id(node)] = total
    return total


def yaml_load(text: str) -> Any:
    """Parse YAML text safely (no Python objects), with ``1e-4`` read as a float.

    Raises:
        YamlRefused: nesting deeper than ``MAX_YAML_DEPTH`` or more than ``MAX_YAML_NODES``
            values once aliases are expanded.
        yaml.YAMLError: not YAML.
    """
    return yaml.load(text, Loader=_LimitedYamlLoader)


def parse_value(text: str) -> Any:
    """One typed value as the user typed it, read by the same rules as a config file.

    ``1e-4`` is the float 0.0001, ``[3, 3]`` a list, ``relu`` a string, ``null`` and an
    empty string ``None``; text that is not valid YAML (``a: [``) is kept as the string.
    The layer editor, the settings form and ``--set`` all read values through this.
    """
    text = text.strip()
    if not text:
        return None
    try:
        return yaml_load(text)
    except (yaml.YAMLError, YamlRefused):
        return text


def read_raw_config(path: str | os.PathLike[str]) -> dict[str, Any]:
    """A config file's raw mapping, before validation (no pydantic is imported).

    Raises ``ConfigError`` naming the file (and the line, for a YAML syntax error) when
    it is missing, a folder, binary, not UTF-8, empty, not YAML or not a mapping.
    """
    p = Path(path)
    raw = _read_yaml(p)
    if not isinstance(raw, dict):
        raise ConfigError(str(p), [("", _not_a_mapping(raw))])
    return raw


def _not_a_mapping(raw: Any) -> str:
    return f"must be a YAML mapping with at least a 'model' key, got {type(raw).__name__}"


def _read_yaml(path: Path) -> Any:
    label = str(path)
    if not path.exists():
        raise ConfigError(label, [("", "file not found")])
    if path.is_dir():
        raise ConfigError(label, [("", "is a folder, expected a YAML file")])
    size = path.stat().st_size
    if size > MAX_CONFIG_BYTES:
        raise ConfigError(label, [("", f"is {size / 2**20:.1f} MiB; a config file is at most {MAX_CONFIG_BYTES >> 20} MiB")])
    raw = path.read_bytes()
    if b"\x00" in raw[:8192]:
        raise ConfigError(label, [("", "is a binary file, expected YAML text")])
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise ConfigError(label, [("", "is not UTF-8 text, expected YAML")]) from None
    if not text.strip():
        raise ConfigError(label, [("", "is empty, expected a YAML mapping with at least a 'model' key")])
    try:
        return yaml_load(text)
    except YamlRefused as exc:
        raise ConfigError(label, [(exc.key, f"refused: the YAML {exc}")]) from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise ConfigError(label, [("", f"YAML syntax error at {where}{problem}")]) from None


def _resolve_paths(cfg: RunConfig, base: Path | None, source: str | None = None) -> None:
    """Make the data and model paths absolute (relative to ``base``); refuse one no file system can hold."""

    def fix(p: str | None, key: str) -> str | None:
        if p is None:
            return None
        if "\x00" in p or not p.strip():
            raise ConfigError(source, [(key, f"must be a file path, got {p!r:.60}")])
        if base is None:
            return p
        expanded = Path(os.path.expanduser(p))
        return str(expanded if expanded.is_absolute() else (base / expanded).resolve())

    cfg.data.path = fix(cfg.data.path, "data.path")
    for key, ref in (("data.validation.path", cfg.data.validation), ("data.test.path", cfg.data.test)):
        if ref is not None:
            ref.path = fix(ref.path, key)  # type: ignore[assignment]
    cfg.model.path = fix(cfg.model.path, "model.path")


def parse_config(raw: Any, source: str | None = None, base_dir: Path | None = None) -> RunConfig:
    """Validate a mapping (as from YAML) into a ``RunConfig``; raise ``ConfigError``."""
    if not isinstance(raw, dict):
        raise ConfigError(source, [("", _not_a_mapping(raw))])
    # Imported here so that reading YAML (``yaml_load``) does not import pydantic: the
    # app reads its config before its first frame and validates it after.
    from pydantic import ValidationError

    from engine.config import RunConfig
    from engine.config_issues import validation_issues

    try:
        cfg = RunConfig.model_validate(raw)
    except ValidationError as exc:
        raise ConfigError(source, validation_issues(exc)) from None
    _resolve_paths(cfg, base_dir, source)
    # Catalogue-level checks (layer names and arguments, optimizer, loss, metrics).
    from engine import layers as catalogue

    issues = catalogue.check_config(cfg)
    if issues:
        raise ConfigError(source, issues)
    return cfg


def load_config(path: str | os.PathLike[str], overrides: list[str] | None = None) -> RunConfig:
    """Read, override, validate. Raises ``ConfigError`` naming ``path`` on any problem."""
    p = Path(path)
    raw = _read_yaml(p)
    if overrides:
        if not isinstance(raw, dict):
            raw = {}
        apply_overrides(raw, overrides, source=str(p))
    return parse_config(raw, source=str(p), base_dir=p.resolve().parent)


# The keys that hold a file path. In a YAML file such a path is relative to the file's folder;
# given with --set on the command line it is relative to the shell's current folder, as any
# command-line path is (``kwb evaluate RUN --set data.path=other.csv`` means ./other.csv, not
# a file inside the run directory).
PATH_KEYS = (("data", "path"), ("data", "validation", "path"), ("data", "test", "path"), ("model", "path"))

_PATH_PART = re.compile(r"([^.\[\]]+)|\[(\d+)\]")


def _split_key(key: str) -> list[str | int]:
    parts: list[str | int] = []
    pos = 0
    for m in _PATH_PART.finditer(key):
        if m.start() != pos and key[pos:m.start()] != ".":
            raise ValueError(key)
        parts.append(m.group(1) if m.group(1) is not None else int(m.group(2)))
        pos = m.end()
    if pos != len(key) or not parts:
        raise ValueError(key)
    return parts


def apply_overrides(raw: dict[str, Any], overrides: list[str], source: str | None = None) -> dict[str, Any]:
    """Apply ``key.path=value`` strings in place; values are parsed as YAML scalars, and a
    relative file path (``PATH_KEYS``) is made absolute against the current folder."""
    issues: list[tuple[str, str]] = []
    for item in overrides:
        if "=" not in item:
            issues.append(("--set", f"expected key.path=value, got {item!r}"))
            continue
        key, _, text = item.partition("=")
        try:
            parts = _split_key(key.strip())
        except ValueError:
            issues.append(("--set", f"bad key path {key!r}"))
            continue
        value = parse_value(text)
        if tuple(parts) in PATH_KEYS and isinstance(value, str) and value.strip() and "\x00" not in value:
            value = os.path.abspath(os.path.expanduser(value))
        node: Any = raw
        ok = True
        for i, part in enumerate(parts[:-1]):
            nxt = parts[i + 1]
            if isinstance(part, int):
                if not isinstance(node, list) or part >= len(node):
                    issues.append((key, f"index [{part}] does not exist"))
                    ok = False
                    break
                node = node[part]
            else:
                if not isinstance(node, dict):
                    issues.append((key, f"{part!r} is not inside a mapping"))
                    ok = False
                    break
                if node.get(part) is None:
                    node[part] = [] if isinstance(nxt, int) else {}
                node = node[part]
        if not ok:
            continue
        last = parts[-1]
        if isinstance(last, int):
            if not isinstance(node, list) or last >= len(node):
                issues.append((key, f"index [{last}] does not exist"))
                continue
            node[last] = value
        elif isinstance(node, dict):
            node[last] = value
        else:
            issues.append((key, "does not point into a mapping"))
    if issues:
        raise ConfigError(source, issues)
    return raw


def dump_config(cfg: RunConfig) -> str:
    """The resolved config as YAML: every default filled in, key order as in the docs."""
    data = cfg.model_dump(mode="json")
    return yaml.safe_dump(data, sort_keys=False, default_flow_style=None, width=100)


def atomic_write_text(path: str | os.PathLike[str], text: str, mode: int = 0o644) -> None:
    """Write to a temp file in the same folder, fsync, then rename over ``path``."""
    target = Path(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, mode)
        os.replace(tmp, target)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise


def save_config(cfg: RunConfig, path: str | os.PathLike[str]) -> None:
    """Write ``dump_config(cfg)`` to ``path`` atomically."""
    atomic_write_text(path, dump_config(cfg))
