"""Log lines for the journal (priority prefixes, no timestamps), for a person, or as JSON."""

from __future__ import annotations

import json
import logging
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest

from edge_agent.logs import JournalFormatter, JsonFormatter
from tests.support.agent_process import AgentProcess
from tests.support.ports import free_port

from .service import CONFIG

TIMESTAMP = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d")


def journal_stream_of(path: Path) -> str:
    found = path.stat()
    return f"{found.st_dev}:{found.st_ino}"


def run_until_ready(tmp_path: Path, *options: str) -> list[str]:
    """The agent's log lines from start to stop, run with ``options`` before the command."""
    config = tmp_path / "config.yaml"
    config.write_text(CONFIG.format(port=free_port(), pki=tmp_path / "pki"))
    process = AgentProcess([*options, "run", str(config)], tmp_path / "agent.log")
    try:
        deadline = time.monotonic() + 30
        while "ready: serving" not in process.log():
            assert process.process.poll() is None and time.monotonic() < deadline, process.log()
            time.sleep(0.05)
    finally:
        assert process.stop() == 0
    return [line for line in process.log().splitlines() if not line.startswith("INFO: Created TensorFlow")]


def test_on_the_journal_lines_carry_syslog_priorities_and_no_timestamps(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    log = tmp_path / "agent.log"
    log.touch()  # the agent's stderr: the journal stream systemd would have connected
    monkeypatch.setenv("JOURNAL_STREAM", journal_stream_of(log))
    lines = run_until_ready(tmp_path)
    assert any(line.startswith("<6>edge_agent: starting with") for line in lines), lines
    assert any(line.startswith("<4>edge_agent.opcua.server: INSECURE") for line in lines), lines
    assert all(re.match(r"<[0-7]>", line) for line in lines), lines
    assert not any(TIMESTAMP.search(line[3:]) for line in lines), lines


def test_a_journal_stream_that_is_not_stderr_leaves_the_lines_for_people(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    other = tmp_path / "elsewhere"
    other.touch()  # stderr was redirected since systemd connected it (or this is a child of a service)
    monkeypatch.setenv("JOURNAL_STREAM", journal_stream_of(other))
    lines = run_until_ready(tmp_path)
    starting = next(line for line in lines if "starting with" in line)
    assert TIMESTAMP.match(starting) and " INFO edge_agent: starting with" in starting


def test_json_lines_are_one_object_each(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("JOURNAL_STREAM", raising=False)
    records = [json.loads(line) for line in run_until_ready(tmp_path, "--log-format", "json")]
    starting = next(record for record in records if record["message"].startswith("starting with"))
    assert set(starting) == {"time", "level", "logger", "message", "exc"}
    assert (starting["level"], starting["logger"], starting["exc"]) == ("INFO", "edge_agent", None)
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}\+00:00", starting["time"])


def test_a_traceback_keeps_its_priority_on_every_line() -> None:
    try:
        raise ValueError("the device sent nonsense")
    except ValueError:
        record = logging.LogRecord(
            "drivers.x", logging.ERROR, __file__, 1, "poll failed", None, sys.exc_info()
        )
    lines = JournalFormatter().format(record).splitlines()
    assert lines[0] == "<3>drivers.x: poll failed"
    assert len(lines) > 3 and all(line.startswith("<3>") for line in lines)
    assert lines[-1] == "<3>ValueError: the device sent nonsense"


def test_json_carries_a_traceback_in_exc() -> None:
    try:
        raise ValueError("the device sent nonsense")
    except ValueError:
        record = logging.LogRecord(
            "drivers.x", logging.ERROR, __file__, 1, "poll failed", None, sys.exc_info()
        )
    line = JsonFormatter().format(record)
    assert "\n" not in line
    assert json.loads(line)["exc"].endswith("ValueError: the device sent nonsense")


def test_a_config_error_on_the_journal_is_an_error(tmp_path: Path) -> None:
    bad = tmp_path / "config.yaml"
    bad.write_text(CONFIG.format(port=0, pki=tmp_path / "pki"))  # port 0: not a port a client can reach
    stderr = tmp_path / "stderr"
    with stderr.open("wb") as file:
        env = dict(os.environ, JOURNAL_STREAM=journal_stream_of(stderr))
        result = subprocess.run(
            [sys.executable, "-m", "edge_agent", "check", str(bad)], stderr=file, env=env, check=False
        )
    assert result.returncode == 2
    lines = stderr.read_text().splitlines()
    assert lines[0].startswith(f"<3>edge_agent: {bad}:")
    assert all(line.startswith("<3>") for line in lines)
