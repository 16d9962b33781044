"""The nameplate and the technical data pass an offline judge of the IDTA templates they follow."""

from __future__ import annotations

from pathlib import Path

import aas_submodel_validate as smtv

from edge_agent.aas import build_environment, to_json, write_aasx
from edge_agent.agent_config import load_config_text
from tests.support.aas import FULL_CONFIG

# IDTA 02006-3-0 and 02003 2.0 require the manufacturer's order code, and 02003 its article number.
COMPLETE_NAMEPLATE = FULL_CONFIG.replace(
    '    serial_number: "CP200-4711"\n',
    '    serial_number: "CP200-4711"\n    order_code: CP200-7.5-DE\n    article_number: "4711-200"\n',
)


def _findings(report: smtv.Report) -> list[str]:
    return [f"{finding.id}: {finding.violation.message}" for finding in report.findings]


def test_nameplate_and_technical_data_meet_their_templates(tmp_path: Path, certificate_der: bytes) -> None:
    config = load_config_text(COMPLETE_NAMEPLATE, "full.yaml", base_dir=tmp_path)
    exported = tmp_path / "shell.json"
    exported.write_text(to_json(build_environment(config, certificate_der=certificate_der)))
    report = smtv.validate(exported)
    assert report.submodels_judged == 2
    assert smtv.exit_code(report, warnings_as_errors=True) == 0, _findings(report)


def test_the_aasx_package_meets_the_templates_too(tmp_path: Path) -> None:
    config = load_config_text(COMPLETE_NAMEPLATE, "full.yaml", base_dir=tmp_path)
    package = tmp_path / "shell.aasx"
    with package.open("wb") as file:
        write_aasx(build_environment(config, certificate_der=None), file)
    report = smtv.validate(package)
    assert report.submodels_judged == 2
    assert smtv.exit_code(report, warnings_as_errors=True) == 0, _findings(report)
