"""Whatever a hand does to a good config, the loader answers with the config or with placed problems."""

from __future__ import annotations

import io
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from ruamel.yaml import YAML

from edge_agent.agent_config import load_config_text
from edge_agent.config import ConfigError
from edge_agent.demo import DEMO_CONFIG

Path_ = tuple[str | int, ...]

DEMO_TEXT = DEMO_CONFIG.read_text(encoding="utf-8")
SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=12),
    st.sampled_from(["250ms", "1s", "2MB", "GPIO4", "holding", "modbus", "gpio", "opc.tcp://127.0.0.1:1"]),
)


def demo_data() -> Any:
    return YAML(typ="safe", pure=True).load(DEMO_TEXT)


def containers(node: Any, path: Path_ = ()) -> list[Path_]:
    """Paths of every mapping and list in the document, the document itself first."""
    found = [path] if isinstance(node, dict | list) else []
    children = node.items() if isinstance(node, dict) else enumerate(node) if isinstance(node, list) else ()
    for key, child in children:
        found += containers(child, (*path, key))
    return found


def at(node: Any, path: Path_) -> Any:
    for part in path:
        node = node[part]
    return node


@st.composite
def mutated_demo(draw: st.DrawFn) -> str:
    data = demo_data()
    for _ in range(draw(st.integers(min_value=1, max_value=3))):
        container = at(data, draw(st.sampled_from(containers(data))))
        keys = list(container) if isinstance(container, dict) else list(range(len(container)))
        action = draw(st.sampled_from(["delete", "replace", "insert"] if keys else ["insert"]))
        if action == "insert":
            if isinstance(container, dict):
                key = draw(
                    st.one_of(st.text(max_size=10), st.sampled_from(["poll", "pol", "driver", "from"]))
                )
                container[key] = draw(SCALARS)
            else:
                container.append(draw(SCALARS))
            continue
        key = draw(st.sampled_from(keys))
        if action == "delete":
            del container[key]
        else:
            container[key] = draw(SCALARS)
    stream = io.StringIO()
    YAML(typ="safe", pure=True).dump(data, stream)
    return stream.getvalue()


@pytest.mark.slow
@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(mutated_demo())
def test_a_mutated_demo_config_loads_or_reports_placed_problems(text: str) -> None:
    try:
        load_config_text(text, filename="demo.yaml", base_dir=DEMO_CONFIG.parent)
    except ConfigError as exc:
        assert exc.problems and all(
            problem.line is not None and problem.line >= 1 for problem in exc.problems
        )
