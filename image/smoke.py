"""A smoke subset of the test suite, run by the installed agent's Python in the emulated root: the tests'
own files are copied in, the agent itself is the installed wheel (no source tree beside the tests)."""

from __future__ import annotations

import configparser
import re
import shutil
from pathlib import Path

CHECKOUT = Path(__file__).resolve().parents[1]
TESTS_IN_ROOT = "/srv/edge-agent-tests"
SMOKE_TESTS = (
    # the config language: the demo config, the schema, errors located by file, line and key
    "tests/config/test_demo_and_schema.py",
    "tests/config/test_located_errors.py",
    "tests/config/test_modbus_config.py",
    # Modbus against pymodbus' server and modbus-tk over loopback, RTU over a pty pair, the register codec
    "tests/drivers/test_modbus_source.py",
    "tests/drivers/test_modbus_codec.py",
    "tests/drivers/test_gpio_source.py",
    # the TFLite interpreter on both bundled kinds of model (float, full-integer, classifier)
    "tests/inference",
    "tests/models/test_pump_anomaly.py",
    "tests/models/test_pump_anomaly_int8.py",
    "tests/models/test_pump_state.py",
    # keys, requests and certificates, checked with openssl
    "tests/provisioning/test_device.py",
    "tests/provisioning/test_ca.py",
    "tests/identity/test_self_signed.py",
)
# What those tests import beyond the agent, taken from the test extra so that the ranges stay its own.
TEST_PACKAGES = ("pytest", "pytest-asyncio", "pytest-timeout", "hypothesis", "psutil", "modbus-tk")


def requirements_for_tests() -> list[str]:
    """The TEST_PACKAGES lines of setup.cfg's test extra, as pip requirements."""
    setup = configparser.ConfigParser()
    setup.read(CHECKOUT / "setup.cfg")
    lines = [line.strip() for line in setup["options.extras_require"]["test"].splitlines()]
    found = {}
    for line in lines:
        name = re.split(r"[<>=!~;\[ ]", line, maxsplit=1)[0]
        if name in TEST_PACKAGES:
            found[name] = line
    missing = sorted(set(TEST_PACKAGES) - set(found))
    if missing:
        raise RuntimeError(f"setup.cfg's test extra has no {', '.join(missing)}")
    return [found[name] for name in TEST_PACKAGES]


def copy_tests(root: Path) -> None:
    """The checkout's tests and pytest's configuration into ``root`` (not the agent's source)."""
    target = root / TESTS_IN_ROOT.lstrip("/")
    if target.exists():
        shutil.rmtree(target)
    target.mkdir(parents=True)
    shutil.copytree(
        CHECKOUT / "tests", target / "tests", ignore=shutil.ignore_patterns("node_modules", "__pycache__")
    )
    shutil.copy2(CHECKOUT / "pyproject.toml", target / "pyproject.toml")


def pytest_arguments(python: str) -> list[str]:
    # pytest-timeout's limit is the suite's own times the slowdown that emulation can bring.
    return [python, "-m", "pytest", "-p", "no:cacheprovider", "-q", "--timeout", "900", *SMOKE_TESTS]
