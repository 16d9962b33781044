"""What a client on another OPC UA stack (node-opcua) sees of the agent's server."""

from __future__ import annotations

from typing import Any

import pytest

from edge_agent.opcua import NAMESPACE_URI, AgentOpcUaServer
from edge_agent.quality import Quality
from edge_agent.tags import Reading
from edge_agent.tagstore import TagStore
from tests.support.opcua import TAGS, ClientIdentity, RecordingWriter

from .node_client import epoch_us, operation_results, run_node_client, tag_node_id
from .operator import SECURE_POLICIES, operator_job

BASE_DATA_VARIABLE_TYPE = "i=63"


@pytest.mark.parametrize("policy", SECURE_POLICIES)
async def test_trusted_operator_reads_a_tag_over_each_secure_policy(
    trusted_server: AgentOpcUaServer, client_identity: ClientIdentity, store: TagStore, policy: str
) -> None:
    store.publish(Reading("motor_temperature", 61.5))
    read = {"op": "read", "nodeIds": [tag_node_id("motor_temperature")]}

    result = await run_node_client(
        operator_job(trusted_server, client_identity, [read], security_policy=policy)
    )

    [answer] = operation_results(result)
    assert [value["value"] for value in answer["values"]] == [61.5]


@pytest.mark.parametrize("policy", SECURE_POLICIES)
async def test_untrusted_client_is_refused_and_its_certificate_kept_for_review(
    server: AgentOpcUaServer, client_identity: ClientIdentity, policy: str
) -> None:
    read = {"op": "read", "nodeIds": [tag_node_id("motor_temperature")]}

    result = await run_node_client(operator_job(server, client_identity, [read], security_policy=policy))

    assert (result["ok"], result["error"]["status"]) == (False, "BadCertificateUntrusted")
    assert [path.read_bytes() for path in server.pki.rejected.iterdir()] == [client_identity.der]


async def test_endpoints_of_a_default_config_offer_only_secure_policies(
    server: AgentOpcUaServer, client_identity: ClientIdentity
) -> None:
    job = {
        "endpoint": server.endpoint_url,
        "securityPolicy": "None",
        # Not needed on an unsecured channel; given so that node-opcua does not make one of its own.
        "certificate": client_identity.certificate_path,
        "privateKey": client_identity.key_path,
        "operations": [{"op": "getEndpoints"}],
    }

    [answer] = operation_results(await run_node_client(job))

    offered = {(endpoint["securityPolicy"], endpoint["securityMode"]) for endpoint in answer["endpoints"]}
    assert offered == {(policy, "SignAndEncrypt") for policy in SECURE_POLICIES}


async def test_browse_finds_every_tag_under_edge_agent_tags_by_source(
    trusted_server: AgentOpcUaServer, client_identity: ClientIdentity
) -> None:
    browse = {"op": "browse", "nodeId": "i=85", "depth": 4}

    [answer] = operation_results(
        await run_node_client(operator_job(trusted_server, client_identity, [browse]))
    )

    found = {
        tuple(reference["path"]): (reference["nodeId"], reference["browseName"], reference["typeDefinition"])
        for reference in answer["references"]
        if reference.get("nodeClass") == "Variable" and reference["path"][:2] == ["EdgeAgent", "Tags"]
    }
    assert found == {
        ("EdgeAgent", "Tags", info.source, info.name): (
            tag_node_id(info.name),
            {"namespaceUri": NAMESPACE_URI, "name": info.name},
            BASE_DATA_VARIABLE_TYPE,
        )
        for info in TAGS
    }


def _as_read(reading: Reading) -> tuple[Any, str, int]:
    return reading.value, Quality(reading.quality).name, reading.source_time_ns // 1000


async def test_read_gives_the_value_status_and_source_time_the_tag_store_holds(
    trusted_server: AgentOpcUaServer, client_identity: ClientIdentity, store: TagStore
) -> None:
    store.publish(Reading("motor_temperature", 72.25))
    store.publish(Reading("speed_setpoint", 1450))
    store.publish(Reading("state_text", "running"))
    store.publish(Reading("door_open", True))
    store.publish(Reading("door_open", None, Quality.BadNoCommunication))
    read = {"op": "read", "nodeIds": [tag_node_id(info.name) for info in TAGS]}

    [answer] = operation_results(await run_node_client(operator_job(trusted_server, client_identity, [read])))

    seen = {
        info.name: (value["value"], value["statusCode"], epoch_us(value["sourceTimestamp"]))
        for info, value in zip(TAGS, answer["values"], strict=True)
    }
    assert seen == {info.name: _as_read(store.current(info.name)) for info in TAGS}


async def test_write_of_a_writable_tag_reaches_its_source(
    trusted_server: AgentOpcUaServer, client_identity: ClientIdentity, writer: RecordingWriter
) -> None:
    write = {
        "op": "write",
        "writes": [{"nodeId": tag_node_id("speed_setpoint"), "dataType": "Int64", "value": 1500}],
    }

    [answer] = operation_results(
        await run_node_client(operator_job(trusted_server, client_identity, [write]))
    )

    assert [item["statusCode"] for item in answer["results"]] == ["Good"]
    assert writer.writes == [("speed_setpoint", 1500)]


async def test_write_of_a_read_only_tag_is_refused_as_not_writable(
    trusted_server: AgentOpcUaServer, client_identity: ClientIdentity
) -> None:
    write = {
        "op": "write",
        "writes": [{"nodeId": tag_node_id("motor_temperature"), "dataType": "Double", "value": 20.0}],
    }

    [answer] = operation_results(
        await run_node_client(operator_job(trusted_server, client_identity, [write]))
    )

    assert [item["statusCode"] for item in answer["results"]] == ["BadNotWritable"]


async def test_subscription_sees_a_change_made_in_the_tag_store(
    trusted_server: AgentOpcUaServer, client_identity: ClientIdentity, store: TagStore
) -> None:
    store.publish(Reading("motor_temperature", 20.0))
    subscribe = {
        "op": "subscribe",
        "nodeIds": [tag_node_id("motor_temperature")],
        "durationMs": 10_000,
        "maxNotifications": 2,
    }

    def change_once_subscribed(event: dict[str, Any]) -> None:
        if event["event"] == "subscribed":
            store.publish(Reading("motor_temperature", 21.5))

    result = await run_node_client(
        operator_job(trusted_server, client_identity, [subscribe]), on_event=change_once_subscribed
    )

    [answer] = operation_results(result)
    assert [(n["value"], n["statusCode"]) for n in answer["notifications"]] == [
        (20.0, "Good"),
        (21.5, "Good"),
    ]
