"""Config fuzzing: mutated sample configs either load or raise kwb's own error naming a key path; YAML bombs are refused fast.

Every mutation starts from a real config (``sample_configs/*.yaml``, ``tui/samples/*.yaml``)
and goes through the same path ``kwb validate`` takes for the config itself: YAML text on
disk, ``load_config`` (read, ``--set``, pydantic schema, catalogue checks). Example counts are
bounded so the file runs in well under 30 s on two cores.
"""

from __future__ import annotations

import copy
import math
import tempfile
import time
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engine.config_io import (
    MAX_CONFIG_BYTES, MAX_YAML_DEPTH, MAX_YAML_NODES, YamlRefused, apply_overrides, load_config, parse_config, yaml_load,
)  # fmt: skip
from engine.errors import ConfigError, UserError

ROOT = Path(__file__).resolve().parents[2]
SAMPLES = sorted((ROOT / "sample_configs").glob("*.yaml")) + sorted((ROOT / "tui" / "samples").glob("*.yaml"))
RAW = {p: yaml_load(p.read_text()) for p in SAMPLES}
FUZZ = settings(max_examples=120, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])

NASTY: list[Any] = [
    None, True, False, 0, -1, -(10**30), 10**30, 2**63, 1e308, -1e308, math.nan, math.inf, -math.inf, "", " ",
    "é☃\U0001f600", "\x00", "x" * 5000, [], {}, [None], {"": None}, {"⚙": 1}, [[[[[[[[[[1]]]]]]]]]], 0.5, -0.5,
    "relu", "1e-4", [1, 2, 3], {"units": -4}, {"Dense": None}, {"Dense": {"units": math.nan}},
]  # fmt: skip


def _paths(node: Any, prefix: tuple = ()) -> list[tuple]:
    """Every key path in a raw config, the root included."""
    out = [prefix]
    if isinstance(node, dict):
        for k, v in node.items():
            out += _paths(v, (*prefix, k))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            out += _paths(v, (*prefix, i))
    return out


def _deep(levels: int) -> Any:
    value: Any = 1
    for i in range(levels):
        value = [value] if i % 2 else {"k": value}
    return value


def _mutate(raw: Any, path: tuple, how: str, value: Any) -> Any:
    """``raw`` with one change at ``path``: replaced, deleted, wrapped, given an unknown key, or nested deep."""
    value = copy.deepcopy(value)  # NASTY's lists and dicts are shared between examples
    if not path:
        return value if how == "replace" else raw
    parent = raw
    for part in path[:-1]:
        parent = parent[part]
    last = path[-1]
    if how == "replace":
        parent[last] = value
    elif how == "delete":
        del parent[last]
    elif how == "wrap":
        parent[last] = [parent[last]]
    elif how == "unknown_key":
        target = parent[last]
        if isinstance(target, dict):
            target["ünknown_" + str(value)[:10]] = value
        else:
            parent[last] = {"ünknown": target}
    elif how == "deep":
        parent[last] = _deep(40)
    return raw


@st.composite
def mutated(draw: Any) -> tuple[Any, str]:
    """A sample config with one to three mutations, and a description for the failure report."""
    sample = draw(st.sampled_from(SAMPLES))
    raw = yaml_load(sample.read_text())
    steps = []
    for _ in range(draw(st.integers(1, 3))):
        if not isinstance(raw, dict):
            break
        path = draw(st.sampled_from(_paths(raw)))
        how = draw(st.sampled_from(["replace", "replace", "replace", "delete", "wrap", "unknown_key", "deep"]))
        value = draw(st.sampled_from(NASTY) | st.text(max_size=12) | st.integers() | st.floats())
        if how == "delete" and not path:
            continue
        raw = _mutate(raw, path, how, value)
        steps.append(f"{how} {path} {value!r:.40}")
    return raw, f"{sample.name}: " + "; ".join(steps)


def _assert_kwb_error(exc: BaseException, mutated_root: bool, what: str) -> None:
    """A ConfigError with at least one key path (unless the root itself was replaced), or a UserError with a key."""
    assert isinstance(exc, (ConfigError, UserError)), f"{what}: {type(exc).__name__}: {exc}"
    if isinstance(exc, ConfigError):
        assert exc.issues, what
        if not mutated_root:
            assert any(loc for loc, _ in exc.issues), f"{what}: no key path in {exc.issues}"
        assert str(exc).startswith("error in"), what
    else:
        assert exc.key, f"{what}: {exc}"


class TestMutatedConfigs:
    """Mutations of valid configs through load + validate: pass, or kwb's own error naming the key."""

    @FUZZ
    @given(mutated())
    def test_parse_config_passes_or_names_the_key(self, case: tuple[Any, str]):
        raw, what = case
        try:
            parse_config(raw, source="fuzz.yaml", base_dir=ROOT / "sample_configs")
        except Exception as exc:  # noqa: BLE001 - the property is about which exceptions escape
            _assert_kwb_error(exc, not isinstance(raw, dict), what)

    @settings(max_examples=60, deadline=None, database=None)
    @given(mutated())
    def test_the_yaml_file_on_disk_passes_or_names_the_key(self, case: tuple[Any, str]):
        raw, what = case
        with tempfile.TemporaryDirectory(prefix="kwb-fuzz-") as tmp:
            path = Path(tmp) / "fuzz.yaml"
            path.write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")
            try:
                load_config(path)
            except Exception as exc:  # noqa: BLE001
                _assert_kwb_error(exc, not isinstance(raw, dict), what)
                assert str(path) in str(exc)

    @settings(max_examples=80, deadline=None, database=None)
    @given(
        key=st.sampled_from(["fit.epochs", "model.layers[0].Dense.units", "data", "a..b", "x[99]", "model.layers[9].x",
                             "compile.optimizer.learning_rate", "name.sub", "[0]", "fit.batch_size"])
        | st.text(max_size=20),
        value=st.sampled_from(["-1", "nan", ".inf", "1e999", "[", "{a: [}", "é", "null", "", "[1, 2]", "1e-4"])
        | st.text(max_size=20),
    )
    def test_set_overrides_pass_or_name_the_key(self, key: str, value: str):
        raw = yaml_load(SAMPLES[0].read_text())
        try:
            apply_overrides(raw, [f"{key}={value}"], source="fuzz.yaml")
            parse_config(raw, source="fuzz.yaml", base_dir=ROOT / "sample_configs")
        except Exception as exc:  # noqa: BLE001
            _assert_kwb_error(exc, False, f"--set {key}={value}")

    @pytest.mark.parametrize("value", [math.nan, math.inf, -math.inf, 10**30, -5, 0, "é☃", None, True, [1]])
    @pytest.mark.parametrize("key", ["epochs", "batch_size", "initial_epoch"])
    def test_each_fit_number_names_its_key(self, key: str, value: Any):
        raw = yaml_load((ROOT / "sample_configs" / "spirals.yaml").read_text())
        raw["fit"][key] = value
        try:
            parse_config(raw, source="fuzz.yaml")
        except ConfigError as exc:
            assert any(loc == f"fit.{key}" for loc, _ in exc.issues), exc.issues
        else:  # pydantic reads true as 1 (lax mode); everything else here is out of range or not a number
            assert value is True or (key == "initial_epoch" and value == 0), f"fit.{key}: {value!r} was accepted"


def _billion_laughs(levels: int = 9) -> str:
    text = 'a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]\n'
    prev = "a"
    for name in "bcdefghijklm"[: levels - 1]:
        text += f"{name}: &{name} [{', '.join([f'*{prev}'] * 9)}]\n"
        prev = name
    return text + f"model: *{prev}\n"


class TestYamlBombs:
    """Billion laughs, huge scalars and deep nesting are refused quickly, with a message naming the file."""

    @pytest.mark.parametrize(
        "text, expected",
        [
            (_billion_laughs(), f"more than {MAX_YAML_NODES:,} values"),
            ("model: &a [*a, *a]\n", "through its aliases"),
            ("model: " + "[" * 5000 + "]" * 5000 + "\n", f"deeper than {MAX_YAML_DEPTH} levels"),
            ("model: " + "{a: " * 200 + "1" + "}" * 200 + "\n", f"deeper than {MAX_YAML_DEPTH} levels"),
            ("name: " + "x" * (10 * 2**20) + "\nmodel: {}\n", f"at most {MAX_CONFIG_BYTES >> 20} MiB"),
        ],
        ids=["billion_laughs", "recursive_alias", "deep_flow_list", "deep_mapping", "10MB_scalar"],
    )
    def test_refused_quickly_with_a_message(self, tmp_path: Path, text: str, expected: str):
        path = tmp_path / "bomb.yaml"
        path.write_text(text)
        start = time.perf_counter()
        with pytest.raises(ConfigError) as info:
            load_config(path)
        assert time.perf_counter() - start < 5
        assert expected in str(info.value)
        assert str(path) in str(info.value)

    def test_a_few_aliases_still_load(self):
        text = "d: &dense {units: 8}\nmodel: {layers: [{Dense: *dense}, {Dense: *dense}]}\n"
        assert yaml_load(text)["model"]["layers"][1] == {"Dense": {"units": 8}}

    def test_yaml_load_itself_refuses(self):
        with pytest.raises(YamlRefused):
            yaml_load(_billion_laughs())

    def test_a_bomb_in_set_is_kept_as_text(self):
        raw = {"model": {"layers": []}}
        apply_overrides(raw, ["name=" + "[" * 100 + "]" * 100])
        assert raw["name"] == "[" * 100 + "]" * 100
