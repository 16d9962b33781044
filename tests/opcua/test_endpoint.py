"""Where the server listens and what it says about itself."""

from __future__ import annotations

from pathlib import Path

import pytest
from asyncua import Client, ua

from edge_agent.opcua import AgentOpcUaServer
from edge_agent.opcua.server import InsecureEndpointError
from edge_agent.tagstore import TagStore
from tests.support.opcua import SERVER_URI, ServerFactory, opcua_config
from tests.support.ports import free_port


@pytest.mark.parametrize("opt_in", ["none_policy", "anonymous_read"])
async def test_insecure_settings_changed_onto_a_network_endpoint_do_not_start(
    tmp_path: Path, running_server: ServerFactory, opt_in: str
) -> None:
    # The config refuses this; a copy changed after validation is refused by the server itself.
    config = opcua_config(tmp_path / "pki", **{opt_in: True}).model_copy(
        update={"endpoint": f"opc.tcp://0.0.0.0:{free_port()}"}
    )

    with pytest.raises(InsecureEndpointError, match="only allowed on a loopback endpoint"):
        async with running_server(config):
            pass


def test_endpoint_without_a_port_is_refused_as_the_config_refuses_it(tmp_path: Path, store: TagStore) -> None:
    config = opcua_config(tmp_path / "pki").model_copy(update={"endpoint": "opc.tcp://127.0.0.1"})

    with pytest.raises(ValueError, match="must name a port"):
        AgentOpcUaServer(config, store, server_name="edge-agent test", application_uri=SERVER_URI)


async def test_server_describes_itself_as_edge_agent(tmp_path: Path, running_server: ServerFactory) -> None:
    config = opcua_config(tmp_path / "pki")
    async with running_server(config) as server:
        endpoints = await Client(server.endpoint_url).connect_and_get_server_endpoints()

    described = {
        (
            endpoint.Server.ApplicationUri,
            endpoint.Server.ApplicationType,
            endpoint.Server.ApplicationName.Text,
        )
        for endpoint in endpoints
    }
    assert described == {(SERVER_URI, ua.ApplicationType.Server, "edge-agent test")}


async def test_build_info_names_the_product_and_its_makers(
    tmp_path: Path, running_server: ServerFactory
) -> None:
    config = opcua_config(tmp_path / "pki", none_policy=True, anonymous_read=True)
    async with running_server(config) as server, Client(server.endpoint_url, timeout=10) as client:
        build_info = await client.get_node(ua.NodeId(ua.ObjectIds.Server_ServerStatus_BuildInfo)).read_value()

    assert (build_info.ProductName, build_info.ManufacturerName) == ("edge-agent", "edge-agent project")
