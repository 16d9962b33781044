"""`edge-agent export-aas`, run as a user runs it."""

from __future__ import annotations

import json
import subprocess
import sys
import zipfile
from pathlib import Path

from aas_core3 import jsonization

from edge_agent.aas import verify
from edge_agent.demo import DEMO_CONFIG
from edge_agent.identity import PkiLayout, ensure_application_certificate
from tests.support.aas import FULL_CONFIG


def edge_agent(*args: str) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(
        [sys.executable, "-m", "edge_agent", *args], capture_output=True, timeout=60, check=False
    )


def _identity(document: dict[str, object]) -> dict[str, str]:
    submodels = document["submodels"]
    assert isinstance(submodels, list)
    (identity,) = [each for each in submodels if each["idShort"] == "Identity"]
    return {each["idShort"]: each.get("value") for each in identity["submodelElements"]}


def test_export_prints_the_demo_shell_as_valid_json() -> None:
    result = edge_agent("export-aas", str(DEMO_CONFIG))
    assert result.returncode == 0, result.stderr.decode()
    document = json.loads(result.stdout)
    assert verify(jsonization.environment_from_jsonable(document)) == []
    assert [shell["id"] for shell in document["assetAdministrationShells"]] == ["urn:example:aas:pump-17"]


def test_export_shows_the_device_certificate_from_the_pki(tmp_path: Path) -> None:
    config = tmp_path / "agent.yaml"
    config.write_text(FULL_CONFIG)
    ensure_application_certificate(
        PkiLayout(tmp_path / "pki"), application_uri="urn:example:edge-agent:pump-17", hostname="pump-17"
    )
    result = edge_agent("export-aas", str(config))
    assert result.returncode == 0, result.stderr.decode()
    identity = _identity(json.loads(result.stdout))
    assert identity["Status"] == "valid"
    assert identity["Subject"] == "CN=edge-agent@pump-17"


def test_export_writes_an_aasx_package_to_a_file(tmp_path: Path) -> None:
    package = tmp_path / "pump-17.aasx"
    result = edge_agent("export-aas", str(DEMO_CONFIG), "--format", "aasx", "-o", str(package))
    assert result.returncode == 0, result.stderr.decode()
    assert result.stdout == b""
    with zipfile.ZipFile(package) as archive:
        assert "aasx/data.xml" in archive.namelist()


def test_export_of_a_broken_config_names_the_problem_and_exits_2(tmp_path: Path) -> None:
    config = tmp_path / "agent.yaml"
    config.write_text(FULL_CONFIG.replace("country: DE", "country: de"))
    result = edge_agent("export-aas", str(config))
    assert result.returncode == 2
    assert b"country" in result.stderr
    assert result.stdout == b""
