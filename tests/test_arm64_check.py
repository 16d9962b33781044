"""What `make arm64-check` (image/) relies on in the checkout, checked on every `make test`: the check
itself needs root and takes minutes, so a renamed test file or a dropped test requirement shows here."""

from __future__ import annotations

import configparser
from pathlib import Path

from image import smoke
from image.record import Record, StepFailed

ROOT = Path(__file__).resolve().parents[1]


def test_every_smoke_test_path_exists() -> None:
    for path in smoke.SMOKE_TESTS:
        assert (ROOT / path).exists(), path


def test_the_smoke_tests_install_the_test_extras_own_ranges() -> None:
    setup = configparser.ConfigParser()
    setup.read(ROOT / "setup.cfg")
    extra = [line.strip() for line in setup["options.extras_require"]["test"].splitlines()]

    requirements = smoke.requirements_for_tests()

    assert len(requirements) == len(smoke.TEST_PACKAGES)
    assert set(requirements) <= set(extra)
    assert any(line.startswith("pytest>=") for line in requirements)


def test_a_failing_command_fails_its_step_with_the_end_of_its_log(tmp_path: Path) -> None:
    record = Record(tmp_path / "logs")

    try:
        with record.step("something that fails"):
            record.run(["sh", "-c", "echo first; echo the reason >&2; exit 3"], log_name="failing")
    except StepFailed as exc:
        message = str(exc)
    else:
        raise AssertionError("the step did not fail")

    assert "exited 3" in message
    assert "| the reason" in message
    (step,) = record.steps
    assert not step.passed
    assert step.detail.startswith("FAILED: ")
    assert "something that fails" in record.table()
