"""The `edge-agent` command's offline subcommands, run as a user runs them."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from edge_agent.cli import main
from edge_agent.demo import DEMO_CONFIG
from edge_agent.inference import backend


def edge_agent(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "edge_agent", *args], capture_output=True, text=True, timeout=60, check=False
    )


def test_check_accepts_the_demo_config() -> None:
    result = edge_agent("check", str(DEMO_CONFIG))
    assert result.returncode == 0, result.stderr
    assert "OK" in result.stdout


def test_check_names_file_line_and_key_and_exits_2(tmp_path: Path) -> None:
    bad = tmp_path / "plant.yaml"
    bad.write_text(DEMO_CONFIG.read_text().replace("poll: 250ms", "poll: 250 parsecs", 1))
    result = edge_agent("check", str(bad))
    assert result.returncode == 2
    line = next(n for n, text in enumerate(bad.read_text().splitlines(), 1) if "parsecs" in text)
    assert f"plant.yaml:{line}:" in result.stderr
    assert "sources[0].poll" in result.stderr


def test_schema_is_json_for_editors() -> None:
    result = edge_agent("schema")
    assert result.returncode == 0
    schema = json.loads(result.stdout)
    assert {"asset", "opcua", "sources", "models"} <= set(schema["properties"])


def test_plan_prints_the_requests_of_each_modbus_device() -> None:
    result = edge_agent("plan", str(DEMO_CONFIG))
    assert result.returncode == 0, result.stderr
    assert "pump_plc" in result.stdout
    assert "FC04" in result.stdout and "FC03" in result.stdout
    assert "motor_temperature" in result.stdout


def test_check_warns_when_the_configs_models_would_find_no_interpreter(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(backend, "BACKENDS", (("no_such_interpreter", "no_such_interpreter.interpreter"),))

    assert main(["check", str(DEMO_CONFIG)]) == 0

    out, err = capsys.readouterr()
    assert "OK (2 sources, 25 tags, 2 models)" in out
    assert "warning: no TFLite interpreter is installed, so its models would be refused: install " in err


def test_check_says_nothing_of_interpreters_where_one_is_installed(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["check", str(DEMO_CONFIG)]) == 0
    assert capsys.readouterr().err == ""
