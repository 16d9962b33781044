"""The Asset Administration Shell (OPC 30270) as node-opcua, an independent stack, sees it."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from aas_core3 import jsonization

from edge_agent.aas import build_environment, verify
from edge_agent.agent_config import AgentConfig
from edge_agent.config.history import HistoryConfig
from edge_agent.history import HistoryStore
from edge_agent.opcua import AgentOpcUaServer
from edge_agent.opcua.i4aas import SHELL_NAMESPACE_URI
from edge_agent.opcua.i4aas.nodeset import NAMESPACE_URI as I4AAS_URI
from edge_agent.opcua.i4aas.nodeset import NODESET_FILE
from edge_agent.quality import Quality
from edge_agent.tags import Reading
from edge_agent.tagstore import TagStore
from tests.support.opcua import ClientIdentity, RecordingWriter, shell_server, trust
from tests.support.shell import STAMP, StubAdministration, ns

from .node_client import NODE_MODULES, epoch_us, operation_results, run_node_client
from .operator import operator_job

SHELL = f"nsu={SHELL_NAMESPACE_URI};s=pump_17"


def shell_node(path: str) -> str:
    return f"{SHELL}{path}"


@pytest.fixture
async def served_shell(
    tmp_path: Path,
    full_config: AgentConfig,
    shell_store: TagStore,
    administration: StubAdministration,
    client_identity: ClientIdentity,
) -> AsyncIterator[AgentOpcUaServer]:
    async with shell_server(
        tmp_path / "pki",
        shell_store,
        lambda der: build_environment(full_config, certificate_der=der, values=shell_store.snapshot()),
        administration=administration,
    ) as server:
        trust(server, client_identity)
        yield server


def test_the_shipped_i4aas_nodeset_is_the_one_node_opcua_nodesets_publishes() -> None:
    published = NODE_MODULES / "node-opcua-nodesets" / "nodesets" / "Opc.Ua.I4AAS.NodeSet2.xml"
    assert published.read_bytes() == NODESET_FILE.read_bytes()


async def test_node_opcua_browses_the_shell_and_finds_i4aas_types(
    served_shell: AgentOpcUaServer, client_identity: ClientIdentity
) -> None:
    browse = {"op": "browse", "nodeId": SHELL, "depth": 4}
    [answer] = operation_results(await run_node_client(operator_job(served_shell, client_identity, [browse])))

    by_path = {"/".join(reference["path"]): reference for reference in answer["references"]}
    temperature = by_path["OperationalData/motor_temperature"]
    assert temperature["typeDefinition"] == f"nsu={I4AAS_URI};i=1013"  # AASPropertyType
    assert by_path["OperationalData"]["typeDefinition"] == f"nsu={I4AAS_URI};i=1006"  # AASSubmodelType
    assert by_path["Nameplate/SerialNumber/Value"]["browseName"] == {
        "namespaceUri": I4AAS_URI,
        "name": "Value",
    }
    assert {"Nameplate", "TechnicalData", "OperationalData", "ConditionMonitoring", "Identity"} <= set(
        by_path
    )
    methods = {ref["browseName"]["name"] for ref in answer["references"] if ref["nodeClass"] == "Method"}
    assert {"ReloadConfiguration", "GetDiagnostics", "ExportAAS"} <= methods


async def test_node_opcua_reads_writes_and_subscribes_live_properties(
    served_shell: AgentOpcUaServer,
    client_identity: ClientIdentity,
    shell_store: TagStore,
    writer: RecordingWriter,
) -> None:
    temperature = shell_node(".OperationalData.motor_temperature#Value")
    setpoint = shell_node(".OperationalData.speed_setpoint#Value")
    shell_store.publish(Reading("vibration_rms", 2.5, Quality.BadNoCommunication, ns(STAMP)))
    operations = [
        {"op": "read", "nodeIds": [temperature, shell_node(".OperationalData.vibration_rms#Value")]},
        {"op": "read", "nodeIds": [f"{temperature}#EURange", f"{temperature}#EngineeringUnits"]},
        {"op": "write", "writes": [{"nodeId": setpoint, "dataType": "Int64", "value": 2700}]},
        {"op": "subscribe", "nodeIds": [temperature], "durationMs": 1500, "maxNotifications": 2},
    ]

    def change_once_subscribed(event: dict[str, Any]) -> None:
        if event.get("event") == "subscribed":
            shell_store.publish(Reading("motor_temperature", 64.5, Quality.Good, ns(STAMP) + 1000))

    result = await run_node_client(
        operator_job(served_shell, client_identity, operations), on_event=change_once_subscribed
    )
    read, units, write, subscription = operation_results(result)
    good, bad = read["values"]
    assert (good["value"], good["statusCode"], epoch_us(good["sourceTimestamp"])) == (
        61.25,
        "Good",
        ns(STAMP) // 1000,
    )
    assert (bad["value"], bad["statusCode"]) == (2.5, "BadNoCommunication")
    eu_range, eu = units["values"]
    assert (eu_range["value"]["low"], eu_range["value"]["high"]) == (0, 150)
    assert eu["value"]["displayName"]["text"] == "degC"
    assert write["results"][0]["statusCode"] == "Good"
    assert writer.writes == [("speed_setpoint", 2700)]
    assert [n["value"] for n in subscription["notifications"]] == [61.25, 64.5]


async def test_node_opcua_calls_the_administration_methods(
    served_shell: AgentOpcUaServer, client_identity: ClientIdentity
) -> None:
    calls = {
        "op": "call",
        "calls": [
            {"objectId": SHELL, "methodId": shell_node("#GetDiagnostics"), "inputArguments": []},
            {"objectId": SHELL, "methodId": shell_node("#ExportAAS"), "inputArguments": []},
            {"objectId": SHELL, "methodId": shell_node("#ReloadConfiguration"), "inputArguments": []},
        ],
    }
    [answer] = operation_results(await run_node_client(operator_job(served_shell, client_identity, [calls])))

    diagnostics, exported, reload = answer["results"]
    assert all(each["statusCode"] == "Good" for each in answer["results"])
    assert json.loads(diagnostics["outputArguments"][0]["value"])["versions"]["edge-agent"] == "test"
    environment = jsonization.environment_from_jsonable(json.loads(exported["outputArguments"][0]["value"]))
    assert verify(environment) == []
    assert [each["value"] for each in reload["outputArguments"]] == [True, "reloading"]


async def test_node_opcua_reads_the_history_of_a_live_property_page_by_page(
    tmp_path: Path,
    full_config: AgentConfig,
    shell_store: TagStore,
    client_identity: ClientIdentity,
) -> None:
    # The samples are dated STAMP, months ago: kept for ten years, retention leaves them alone.
    history = HistoryStore(HistoryConfig(database=tmp_path / "history.sqlite", retain="3650d"))
    await history.open()
    shell_store.listen(history.append)
    stamps = [ns(STAMP) + second * 1_000_000_000 for second in range(1, 2501)]
    for number, stamp in enumerate(stamps):
        quality = Quality.BadNoCommunication if number == 7 else Quality.Good
        shell_store.publish(Reading("motor_temperature", 50.0 + number / 100, quality, stamp))
    assert await history.flush()
    try:
        async with shell_server(
            tmp_path / "pki",
            shell_store,
            lambda der: build_environment(full_config, certificate_der=der),
            history=history,
        ) as server:
            trust(server, client_identity)
            read = {
                "op": "historyRead",
                "nodeIds": [shell_node(".OperationalData.motor_temperature#Value")],
                "start": STAMP.isoformat(),
                "end": (STAMP + timedelta(hours=1)).isoformat(),
                "numValues": 0,
            }
            [answer] = operation_results(await run_node_client(operator_job(server, client_identity, [read])))
    finally:
        await history.close()

    (result,) = answer["results"]
    values = result["values"]
    # More than one response holds (1,000 values each): node-opcua followed the continuation points.
    assert len(values) == 2500
    assert [epoch_us(value["sourceTimestamp"]) for value in values] == [stamp // 1000 for stamp in stamps]
    assert values[7]["statusCode"] == "BadNoCommunication"
    assert values[8]["value"] == pytest.approx(50.08)
