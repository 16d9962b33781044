"""The bdSeq counter: one value per session, recorded before it is used, across restarts and kills."""

from __future__ import annotations

import logging
import os
import stat
from pathlib import Path

import pytest

from edge_agent.sparkplug.bdseq import BdSeqStore

from .killed_process import lines_until_killed


@pytest.fixture
def path(tmp_path: Path) -> Path:
    return tmp_path / "state" / "bdseq"


def recorded(path: Path) -> int:
    return int(path.read_text())


def test_the_sequence_starts_at_0_and_goes_on_across_restarts(path: Path) -> None:
    first = BdSeqStore(path)
    assert first.current is None
    assert [first.next(), first.next()] == [0, 1]
    assert first.current == 1
    assert recorded(path) == 1

    assert BdSeqStore(path).next() == 2
    assert BdSeqStore(path).next() == 3


def test_after_255_comes_0(path: Path) -> None:
    path.parent.mkdir()
    path.write_text("254\n")
    store = BdSeqStore(path)

    assert [store.next(), store.next(), store.next()] == [255, 0, 1]
    assert BdSeqStore(path).next() == 2


def test_the_file_is_readable_by_its_owner_only(path: Path) -> None:
    path.parent.mkdir()
    path.write_text("7\n")
    path.chmod(0o644)
    previous = os.umask(0)
    try:
        BdSeqStore(path).next()
    finally:
        os.umask(previous)

    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert sorted(p.name for p in path.parent.iterdir()) == ["bdseq"]


@pytest.mark.parametrize("content", [b"", b"banana\n", b"256\n", b"-1\n", b"\xff\xfe\n", b"3.5\n"])
def test_a_file_without_a_bdseq_starts_the_sequence_at_0_with_a_warning(
    path: Path, content: bytes, caplog: pytest.LogCaptureFixture
) -> None:
    path.parent.mkdir()
    path.write_bytes(content)

    assert BdSeqStore(path).next() == 0

    assert recorded(path) == 0
    warnings = [
        r for r in caplog.records if r.name == "edge_agent.sparkplug.bdseq" and r.levelno == logging.WARNING
    ]
    assert len(warnings) == 1
    assert str(path) in warnings[0].getMessage()


def test_a_value_that_cannot_be_recorded_is_not_handed_out(tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-directory"
    blocker.write_text("")
    store = BdSeqStore(blocker / "bdseq")

    with pytest.raises(OSError):
        store.next()
    assert store.current is None


def test_a_kill_at_any_point_leaves_a_value_no_lower_than_the_last_handed_out(path: Path) -> None:
    path.parent.mkdir()
    lines = lines_until_killed("bdseq", path, at_least=300)

    handed_out = [int(line.split()[1]) for line in lines]
    assert handed_out[:300] == [n % 256 for n in range(300)]
    last = handed_out[-1]
    # The process may have been killed after recording the value that follows, before printing it.
    assert recorded(path) in {last, (last + 1) % 256}
    assert BdSeqStore(path).next() in {(last + 1) % 256, (last + 2) % 256}
    assert sorted(p.name for p in path.parent.iterdir()) in (["bdseq"], [".bdseq.tmp", "bdseq"])
