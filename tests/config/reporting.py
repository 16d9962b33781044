"""What a user is told about a config with mistakes: the problems as the loader reports them."""

from __future__ import annotations

from textwrap import dedent

import pytest

from edge_agent.agent_config import load_config_text
from edge_agent.config import ConfigError, ConfigProblem


def problems_of(text: str) -> list[ConfigProblem]:
    with pytest.raises(ConfigError) as caught:
        load_config_text(dedent(text), filename="plant.yaml")
    return caught.value.problems


def the_one_problem(text: str) -> str:
    """The one line the user sees for a config with exactly one mistake."""
    problems = problems_of(text)
    assert len(problems) == 1, "\n".join(str(p) for p in problems)
    return str(problems[0])
