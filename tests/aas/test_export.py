"""The exported shell is AAS V3.0 JSON and AASX that other AAS software reads back unchanged."""

from __future__ import annotations

import io
import json

import pyecma376_2 as opc
from aas_core3 import jsonization, xmlization
from basyx.aas import model as basyx
from basyx.aas.adapter.json import read_aas_json_file

from edge_agent.aas import build_environment, to_json, verify, write_aasx
from edge_agent.aas.export import RELATIONSHIP_AAS_SPEC, RELATIONSHIP_AASX_ORIGIN
from edge_agent.agent_config import AgentConfig
from tests.support.aas import FULL_MODEL_INFO, FULL_VALUES


def test_the_json_reads_back_as_the_same_valid_environment(
    full_config: AgentConfig, certificate_der: bytes
) -> None:
    environment = build_environment(
        full_config, certificate_der=certificate_der, model_info=FULL_MODEL_INFO, values=FULL_VALUES
    )
    document = json.loads(to_json(environment))
    read_back = jsonization.environment_from_jsonable(document)
    assert verify(read_back) == []
    assert jsonization.to_jsonable(read_back) == document


def test_basyx_reads_the_json_export(full_config: AgentConfig, certificate_der: bytes) -> None:
    environment = build_environment(full_config, certificate_der=certificate_der, values=FULL_VALUES)
    store = read_aas_json_file(io.StringIO(to_json(environment)), failsafe=False)
    shell = store.get_item("urn:example:aas:pump-17")
    assert isinstance(shell, basyx.AssetAdministrationShell)
    assert shell.asset_information.global_asset_id == "urn:example:asset:pump-17"
    operational = store.get_item("urn:example:aas:pump-17/submodels/operational-data")
    assert isinstance(operational, basyx.Submodel)
    temperature = operational.get_referable("motor_temperature")
    assert isinstance(temperature, basyx.Property)
    assert temperature.value == 61.25


def _data_part(package: bytes) -> bytes:
    reader = opc.ZipPackageReader(io.BytesIO(package))
    try:
        origin = reader.get_related_parts_by_type()[RELATIONSHIP_AASX_ORIGIN][0]
        (data,) = reader.get_related_parts_by_type(origin)[RELATIONSHIP_AAS_SPEC]
        with reader.open_part(data) as part:
            return part.read()
    finally:
        reader.close()


def test_the_aasx_package_holds_the_same_environment(
    full_config: AgentConfig, certificate_der: bytes
) -> None:
    environment = build_environment(full_config, certificate_der=certificate_der, values=FULL_VALUES)
    package = io.BytesIO()
    write_aasx(environment, package)
    read_back = xmlization.environment_from_str(_data_part(package.getvalue()).decode())
    assert verify(read_back) == []
    assert jsonization.to_jsonable(read_back) == jsonization.to_jsonable(environment)
