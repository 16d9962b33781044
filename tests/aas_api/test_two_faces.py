"""One shell, two faces: the HTTP API and the OPC UA server of one agent share users, rights, lockouts and
the write path to the device."""

from __future__ import annotations

import base64
import logging
import ssl
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import aiohttp
import pytest
from aas_core3 import types as aas
from asyncua import ua
from asyncua.ua.uaerrors import BadUserAccessDenied

from edge_agent.aas.elements import submodel
from edge_agent.aas.ids import OPERATIONAL_DATA_SUBMODEL
from edge_agent.aas.live import live_property
from edge_agent.aas_api.live_shell import LiveShell
from edge_agent.aas_api.server import AasApiServer
from edge_agent.config import AasApiConfig
from edge_agent.identity.users import Role
from edge_agent.opcua import AgentOpcUaServer
from edge_agent.opcua.security import LOCKOUT_AFTER
from edge_agent.tags import Reading
from edge_agent.tagstore import TagStore
from tests.support.opcua import (
    TAGS,
    USER_PASSWORD,
    ClientIdentity,
    RecordingWriter,
    make_client_identity,
    opcua_config,
    serving,
    signed_in,
    tag_node,
    tag_store,
    trust,
    user_store,
)
from tests.support.ports import free_port

SUBMODEL_ID = "urn:example:aas:two-faces/operational-data"


@dataclass
class Agent:
    opcua: AgentOpcUaServer
    http: AasApiServer
    writer: RecordingWriter
    client_identity: ClientIdentity
    store: TagStore

    def value_url(self, tag: str) -> str:
        submodel_b64 = base64.urlsafe_b64encode(SUBMODEL_ID.encode()).decode().rstrip("=")
        return f"{self.http.url}/submodels/{submodel_b64}/submodel-elements/{tag}/$value"

    def tls(self) -> ssl.SSLContext:
        return ssl.create_default_context(cadata=self.opcua.pki.own_certificate.read_bytes())


@pytest.fixture
async def agent(tmp_path: Path) -> AsyncIterator[Agent]:
    writer = RecordingWriter()
    store = tag_store(writer)
    store.publish(Reading("speed_setpoint", 2900))
    users = user_store(tmp_path / "users.json", {"olivia": Role.OPERATOR, "oscar": Role.OBSERVER})
    environment = aas.Environment(
        submodels=[
            submodel(
                SUBMODEL_ID,
                "OperationalData",
                OPERATIONAL_DATA_SUBMODEL,
                [live_property(info) for info in TAGS],
            )
        ]
    )
    async with serving(opcua_config(tmp_path / "pki"), store, user_directory=users) as opcua:
        http = AasApiServer(
            AasApiConfig.model_validate({"listen": f"https://127.0.0.1:{free_port()}"}),
            LiveShell(environment, store),
            pki=opcua.pki,
            users=users,
            guard=opcua.login_guard,
        )
        await http.start()
        identity = make_client_identity(tmp_path / "client", name="client", application_uri="urn:test:client")
        trust(opcua, identity)
        try:
            yield Agent(opcua, http, writer, identity, store)
        finally:
            await http.stop()


def basic(name: str, password: str = USER_PASSWORD) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"{name}:{password}".encode()).decode()}


async def patch(agent: Agent, tag: str, body: object, headers: dict[str, str]) -> int:
    async with (
        aiohttp.ClientSession() as session,
        session.patch(agent.value_url(tag), json=body, headers=headers, ssl=agent.tls()) as response,
    ):
        return response.status


async def test_an_operator_writes_over_http_and_an_observer_may_not(
    agent: Agent, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="edge_agent.audit")
    assert await patch(agent, "speed_setpoint", {"speed_setpoint": 1500}, basic("oscar")) == 403
    assert agent.writer.writes == []
    assert await patch(agent, "speed_setpoint", 1500, basic("olivia")) == 204
    assert agent.writer.writes == [("speed_setpoint", 1500)]
    assert await patch(agent, "motor_temperature", 20.0, basic("olivia")) == 405
    assert await patch(agent, "speed_setpoint", "fast", basic("olivia")) == 400
    writes = [r.getMessage() for r in caplog.records if r.getMessage().startswith("write")]
    assert any("oscar" in line and "BadUserAccessDenied" in line and "via=aas-api" in line for line in writes)
    assert any("olivia" in line and "result=Good" in line for line in writes)


async def test_failed_http_logins_lock_the_name_out_of_opc_ua_too(agent: Agent) -> None:
    for _ in range(LOCKOUT_AFTER):
        assert await patch(agent, "speed_setpoint", 1, basic("olivia", "wrong")) == 401
    client = await signed_in(agent.opcua, agent.client_identity, "olivia")
    with pytest.raises(BadUserAccessDenied):
        async with client:
            pass


async def test_a_value_written_over_opc_ua_is_read_back_over_http(agent: Agent) -> None:
    client = await signed_in(agent.opcua, agent.client_identity, "olivia")
    async with client:
        await (await tag_node(client, "speed_setpoint")).write_value(ua.Variant(1200, ua.VariantType.Int64))
    assert agent.writer.writes == [("speed_setpoint", 1200)]
    # The device's answer comes back as a reading; both faces then show it.
    agent.store.publish(Reading("speed_setpoint", 1200))
    async with (
        aiohttp.ClientSession() as session,
        session.get(agent.value_url("speed_setpoint"), headers=basic("oscar"), ssl=agent.tls()) as response,
    ):
        assert await response.json() == {"speed_setpoint": 1200}
