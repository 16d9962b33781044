"""The `history:` section: defaults, paths beside the config file, and sizes and spans with units."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from edge_agent.config.history import HistoryConfig


def test_an_empty_section_keeps_a_week_in_at_most_200_mb() -> None:
    config = HistoryConfig.model_validate({})

    assert config.database == Path("/var/lib/edge-agent/history.sqlite")
    assert config.retain == 7 * 86_400
    assert config.max_size == 200_000_000
    assert config.tags is None
    assert config.flush_interval == 1.0


def test_a_relative_database_path_is_taken_from_the_config_files_directory(tmp_path: Path) -> None:
    config = HistoryConfig.model_validate(
        {"database": "data/history.sqlite"}, context={"config_dir": str(tmp_path)}
    )

    assert config.database == tmp_path / "data" / "history.sqlite"


def test_spans_and_sizes_are_written_with_units() -> None:
    config = HistoryConfig.model_validate({"retain": "36h", "max_size": "1GiB", "flush_interval": "250ms"})

    assert (config.retain, config.max_size, config.flush_interval) == (129_600, 2**30, 0.25)
    assert config.model_dump(include={"retain", "max_size"}) == {"retain": "36h", "max_size": "1GiB"}


@pytest.mark.parametrize(
    ("key", "value", "message"),
    [
        ("max_size", "900kB", "must be at least 1MB (got 900kB)"),
        ("max_size", 200, "add a unit, e.g. 512kB, 2MB, 1GiB (got 200)"),
        ("retain", "30s", "must be at least 1m (got 30s)"),
        ("flush_interval", "1ms", "must be at least 10ms (got 1ms)"),
        ("tags", ["motor temperature"], "must start with a letter and hold only letters, digits and '_'"),
    ],
)
def test_a_value_out_of_bounds_is_refused_at_its_key(key: str, value: object, message: str) -> None:
    with pytest.raises(ValidationError) as caught:
        HistoryConfig.model_validate({key: value})

    (error,) = caught.value.errors()
    assert error["loc"][0] == key
    assert message in error["msg"]
