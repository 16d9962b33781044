"""Whatever a config file holds, the loader answers with a config or located problems, never a traceback."""

from __future__ import annotations

import copy
import io
import os
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from ruamel.yaml import YAML

from edge_agent.agent_config import load_config_text
from edge_agent.config import ConfigError
from edge_agent.demo import DEMO_CONFIG

FILENAME = "fuzz.yaml"
# The suite runs the same examples every time, so that CI is repeatable; FUZZ_RANDOM=1 explores new ones.
FIXED_SEED = not os.environ.get("FUZZ_RANDOM")
KEYS = [
    "asset", "opcua", "sources", "models", "history", "id", "global_asset_id", "nameplate", "name",
    "driver", "modbus", "gpio", "points", "kind", "address", "type", "unit", "range", "scale", "poll",
    "timeout", "endpoint", "security", "insecure", "limits", "file", "every", "inputs", "tags", "window",
    "outputs", "index", "from", "above", "database", "retain", "max_size", "writable", "pin", "devices",
]  # fmt: skip

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=20),
    st.sampled_from(["250ms", "1s", "2MB", "opc.tcp://127.0.0.1:4840", "float32", "holding", "tcp", "-1"]),
)
documents = st.recursive(
    scalars,
    lambda children: st.one_of(
        st.lists(children, max_size=4),
        st.dictionaries(st.one_of(st.sampled_from(KEYS), st.text(max_size=8)), children, max_size=5),
    ),
    max_leaves=25,
)


def _dump(data: Any) -> str:
    yaml = YAML()
    stream = io.StringIO()
    yaml.dump(data, stream)
    return stream.getvalue()


def _loads_or_is_located(text: str, base_dir: Path) -> None:
    try:
        load_config_text(text, FILENAME, base_dir=base_dir)
    except ConfigError as exc:
        message = str(exc)
        assert message, "a refusal says why"
        for line in message.splitlines():
            assert line.startswith(FILENAME), line


@settings(
    max_examples=300,
    deadline=None,
    derandomize=FIXED_SEED,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(text=st.text(max_size=200))
def test_any_text_is_a_config_or_located_problems(text: str, tmp_path: Path) -> None:
    _loads_or_is_located(text, tmp_path)


@settings(
    max_examples=300,
    deadline=None,
    derandomize=FIXED_SEED,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(data=documents)
def test_any_yaml_structure_is_a_config_or_located_problems(data: Any, tmp_path: Path) -> None:
    _loads_or_is_located(_dump(data), tmp_path)


def _demo() -> Any:
    return YAML(typ="safe").load(DEMO_CONFIG.read_text(encoding="utf-8"))


def _paths(node: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    found = [prefix] if prefix else []
    if isinstance(node, dict):
        for key, value in node.items():
            found += _paths(value, (*prefix, key))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            found += _paths(value, (*prefix, index))
    return found


DEMO_PATHS = _paths(_demo())


@st.composite
def mutated_demo(draw: st.DrawFn) -> Any:
    data = copy.deepcopy(_demo())
    for _ in range(draw(st.integers(min_value=1, max_value=4))):
        path = draw(st.sampled_from(DEMO_PATHS))
        parent: Any = data
        try:
            for step in path[:-1]:
                parent = parent[step]
            last = path[-1]
            parent[last]  # still there after earlier mutations?
        except (KeyError, IndexError, TypeError):
            continue
        action = draw(st.sampled_from(["delete", "replace", "duplicate", "rename"]))
        if action == "delete":
            del parent[last]
        elif action == "replace":
            parent[last] = draw(documents)
        elif action == "duplicate" and isinstance(parent, list):
            parent.append(copy.deepcopy(parent[last]))
        elif action == "rename" and isinstance(parent, dict):
            parent[draw(st.sampled_from(KEYS)) + draw(st.sampled_from(["", "s", "_"]))] = parent.pop(last)
    return data


@pytest.mark.slow
@settings(
    max_examples=300,
    deadline=None,
    derandomize=FIXED_SEED,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(data=mutated_demo())
def test_mutations_of_the_demo_config_are_configs_or_located_problems(data: Any, tmp_path: Path) -> None:
    _loads_or_is_located(_dump(data), tmp_path)
