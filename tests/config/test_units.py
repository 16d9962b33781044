"""Durations and sizes are written with units and read as seconds and bytes."""

from __future__ import annotations

import pytest
from pydantic_core import PydanticCustomError

from edge_agent.config import format_duration, format_size, parse_duration, parse_size


@pytest.mark.parametrize(
    ("written", "seconds"),
    [
        ("500ms", 0.5),
        ("2s", 2.0),
        ("1.5s", 1.5),
        ("1m", 60.0),
        ("1h", 3600.0),
        ("7d", 604800.0),
        (" 250 ms ", 0.25),
    ],
)
def test_a_duration_reads_as_seconds(written: str, seconds: float) -> None:
    assert parse_duration(written) == pytest.approx(seconds)


@pytest.mark.parametrize(
    ("written", "message"),
    [
        (5, "add a unit, e.g. 500ms, 2s, 1m (got 5)"),
        ("5", "add a unit, e.g. 500ms, 2s, 1m (got '5')"),
        ("2sec", "unknown unit 'sec' in '2sec'; use ms, s, m, h or d"),
        ("-1s", "must be a duration, e.g. 500ms, 2s, 1m (got '-1s')"),
        (True, "must be a duration, e.g. 500ms, 2s, 1m (got true)"),
    ],
)
def test_a_duration_without_a_known_unit_is_refused(written: object, message: str) -> None:
    with pytest.raises(PydanticCustomError) as caught:
        parse_duration(written)
    assert caught.value.message() == message


@pytest.mark.parametrize(
    ("seconds", "written"), [(0.25, "250ms"), (1.0, "1s"), (90.0, "90s"), (3600.0, "1h")]
)
def test_a_duration_is_written_back_in_its_shortest_form(seconds: float, written: str) -> None:
    assert format_duration(seconds) == written


@pytest.mark.parametrize(
    ("written", "size"),
    [("2MB", 2_000_000), ("200MB", 200_000_000), ("512kB", 512_000), ("1GiB", 1024**3), ("64 KiB", 65536)],
)
def test_a_size_reads_as_bytes(written: str, size: int) -> None:
    assert parse_size(written) == size


@pytest.mark.parametrize(
    ("written", "message"),
    [
        (2000000, "add a unit, e.g. 512kB, 2MB, 1GiB (got 2000000)"),
        ("2 Mb", "unknown unit 'Mb' in '2 Mb'; use B, kB, MB, GB, KiB, MiB or GiB"),
    ],
)
def test_a_size_without_a_known_unit_is_refused(written: object, message: str) -> None:
    with pytest.raises(PydanticCustomError) as caught:
        parse_size(written)
    assert caught.value.message() == message


@pytest.mark.parametrize(("size", "written"), [(2_000_000, "2MB"), (1024**2, "1MiB"), (1500, "1500B")])
def test_a_size_is_written_back_exactly(size: int, written: str) -> None:
    assert format_size(size) == written
