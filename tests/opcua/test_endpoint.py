"""Where the server listens and what it says about itself."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlparse

from asyncua import Client, ua

from .conftest import SERVER_URI, ServerFactory, opcua_config


async def test_server_on_port_zero_advertises_the_port_the_os_chose(
    tmp_path: Path, running_server: ServerFactory
) -> None:
    config = opcua_config(tmp_path / "pki").model_copy(update={"endpoint": "opc.tcp://127.0.0.1:0"})
    async with running_server(config) as server:
        endpoints = await Client(server.endpoint_url).connect_and_get_server_endpoints()
        port = urlparse(server.endpoint_url).port

    advertised = {urlparse(endpoint.EndpointUrl).port for endpoint in endpoints}
    assert (port != 0, advertised) == (True, {port})


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
