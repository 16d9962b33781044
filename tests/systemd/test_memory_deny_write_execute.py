"""MemoryDenyWriteExecute=yes in the unit: the interpreters run models without writable code pages.

The kernel's own W^X switch (prctl PR_SET_MDWE, Linux 6.3+) refuses what the unit's setting refuses:
memory that is writable and executable at once, and data that later becomes code. A process that sets
it first and then loads and runs every bundled model with every installed TFLite backend shows the
service can run them.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from models import MODELS_DIR
from tests.support.feeding import BACKENDS

from .service import UNIT

UNSUPPORTED = 77

RUN_MODELS = textwrap.dedent(
    """
    import ctypes, sys
    PR_SET_MDWE, PR_MDWE_REFUSE_EXEC_GAIN = 65, 1
    if ctypes.CDLL(None, use_errno=True).prctl(PR_SET_MDWE, PR_MDWE_REFUSE_EXEC_GAIN, 0, 0, 0) != 0:
        sys.exit({unsupported})
    from edge_agent.config.inference import ModelConfig
    from edge_agent.inference.model import LoadedModel
    from models import MODELS_DIR
    for card in sorted(MODELS_DIR.glob("*.card.yaml")):
        file = card.name.replace(".card.yaml", ".tflite")
        entry = {{"name": "m", "file": file}}
        config = ModelConfig.model_validate(entry, context={{"config_dir": MODELS_DIR}})
        model = LoadedModel(MODELS_DIR / file, config, backend=sys.argv[1])
        model.run()
        print("ran", file, model.backend)
    """
)


def test_the_unit_denies_writable_executable_memory() -> None:
    assert "\nMemoryDenyWriteExecute=yes\n" in UNIT.read_text()


@pytest.mark.parametrize("backend", BACKENDS)
def test_every_bundled_model_runs_without_writable_executable_memory(backend: str) -> None:
    result = subprocess.run(
        [sys.executable, "-c", RUN_MODELS.format(unsupported=UNSUPPORTED), backend],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        cwd=Path(__file__).resolve().parent.parent.parent,
    )
    if result.returncode == UNSUPPORTED:
        pytest.skip("this kernel has no PR_SET_MDWE (Linux 6.3+)")
    assert result.returncode == 0, result.stderr
    cards = sorted(MODELS_DIR.glob("*.card.yaml"))
    assert result.stdout.count("ran ") == len(cards) > 0
