"""An installed agent carries what it needs: bundled models, their cards, the demo config, the command."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path


def test_the_wheel_carries_the_models_the_demo_config_and_the_command(tmp_path: Path) -> None:
    root = Path(__file__).resolve().parent.parent
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "-w", str(tmp_path), str(root)],
        check=True,
        capture_output=True,
    )
    (wheel,) = tmp_path.glob("edge_agent-*.whl")
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
        entry_points = next(n for n in names if n.endswith("entry_points.txt"))
        commands = archive.read(entry_points).decode()
        metadata = archive.read(next(n for n in names if n.endswith("METADATA"))).decode()
    for packaged in (
        "models/pump_anomaly.tflite",
        "models/pump_anomaly.card.yaml",
        "edge_agent/demo/demo.yaml",
        "edge_agent/__main__.py",
        "drivers/modbus/source.py",
    ):
        assert packaged in names, packaged
    assert not any(name.startswith("tests/") for name in names)
    assert "edge-agent = edge_agent.cli:main" in commands
    assert "Requires-Python: >=3.11" in metadata
    assert 'tflite-runtime<2.15,>=2.14; python_version < "3.12"' in metadata
