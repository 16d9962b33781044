"""opcua.address_space micro and standard: a reduced namespace 0 that still serves every client need.

A real asyncua client browses, reads, writes, subscribes and calls on the demo-like shell server of each
reduced space; the keep lists are checked against what the agent's own nodes refer to on the full space,
against themselves (nothing kept points at a node left out) and against a fresh derivation.
"""

from __future__ import annotations

import asyncio
import json
import logging
import subprocess
import sys
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
from aas_core3 import types as aas
from asyncua import Client, Node, ua

from edge_agent.aas import build_environment
from edge_agent.agent_config import AgentConfig
from edge_agent.config.opcua import AddressSpace
from edge_agent.identity.users import Role
from edge_agent.opcua import AgentOpcUaServer, ns0_keep, ns0_subset
from edge_agent.opcua.asyncua_seam import ns0, standard_nodes
from edge_agent.opcua.i4aas import SHELL_NAMESPACE_URI
from edge_agent.tagstore import TagStore
from tests.support.aas import load_full_config
from tests.support.opcua import (
    ClientIdentity,
    OneOperator,
    RecordingWriter,
    opcua_config,
    serving,
    signed_in_operator,
    tag_node,
)
from tests.support.shell import StubAdministration, shell_tag_store

# One server per reduced space for the module: the tests only look at it or change what they reset.
in_module_loop = pytest.mark.asyncio(loop_scope="module")

NOTIFICATION_DEADLINE_S = 10
REDUCED: list[AddressSpace] = ["micro", "standard"]
REPOSITORY = Path(__file__).resolve().parents[2]


def keep_ids(profile: AddressSpace) -> set[ua.NodeId]:
    kept = ns0_keep.kept_nodes(profile)
    assert kept is not None, f"no usable keep list for {profile}"
    return set(kept)


def aspace_of(server: AgentOpcUaServer) -> Any:
    """The running server's address space, as asyncua holds it."""
    return server._server.iserver.aspace  # type: ignore[union-attr]


def node_ids(aspace: Any) -> list[ua.NodeId]:
    nodeids: list[ua.NodeId] = list(aspace.keys())
    return nodeids


def ns0_ids_referenced_by_the_agent(aspace: Any) -> set[ua.NodeId]:
    """Every namespace-0 node a node of namespace 1 or above refers to: targets, reference types,
    data types (type definitions are reference targets)."""
    found: set[ua.NodeId] = set()
    for nodeid in node_ids(aspace):
        if nodeid.NamespaceIndex == 0:
            continue
        node = aspace[nodeid]
        for reference in node.references:
            found |= {reference.NodeId, reference.ReferenceTypeId}
        data_type = node.attributes.get(ua.AttributeIds.DataType)
        if data_type is not None and data_type.value is not None and data_type.value.Value is not None:
            found.add(data_type.value.Value.Value)
    # The null NodeId (i=0) names no node: an unset DataType, say.
    return {
        nodeid
        for nodeid in found
        if isinstance(nodeid, ua.NodeId) and nodeid.NamespaceIndex == 0 and not nodeid.is_null()
    }


class Changes:
    def __init__(self) -> None:
        self.values: list[Any] = []
        self.changed = asyncio.Event()

    def datachange_notification(self, node: Node, value: Any, data: Any) -> None:
        self.values.append(value)
        self.changed.set()

    async def wait_for(self, count: int) -> None:
        async with asyncio.timeout(NOTIFICATION_DEADLINE_S):
            while len(self.values) < count:
                await self.changed.wait()
                self.changed.clear()


async def start_shell_server(
    directory: Path, config: AgentConfig, store: TagStore, address_space: AddressSpace
) -> Any:
    def environment(der: bytes) -> aas.Environment:
        return build_environment(config, certificate_der=der, values=store.snapshot())

    settings = opcua_config(directory / "pki").model_copy(update={"address_space": address_space})
    return serving(
        settings,
        store,
        environment=environment,
        user_directory=OneOperator(part18_role=Role.ENGINEER),
        administration=StubAdministration(config),
    )


@pytest.fixture(scope="module")
def shell_writer() -> RecordingWriter:
    return RecordingWriter()


@pytest.fixture(scope="module")
def module_config(tmp_path_factory: pytest.TempPathFactory) -> AgentConfig:
    return load_full_config(tmp_path_factory.mktemp("config"))


@dataclass(frozen=True)
class Reduced:
    address_space: AddressSpace
    server: AgentOpcUaServer


@pytest_asyncio.fixture(scope="module", loop_scope="module", params=REDUCED)
async def reduced(
    request: pytest.FixtureRequest,
    tmp_path_factory: pytest.TempPathFactory,
    module_config: AgentConfig,
    shell_writer: RecordingWriter,
) -> AsyncIterator[Reduced]:
    store = shell_tag_store(module_config, shell_writer)
    directory = tmp_path_factory.mktemp(request.param)
    async with await start_shell_server(directory, module_config, store, request.param) as server:
        yield Reduced(request.param, server)


@pytest_asyncio.fixture(loop_scope="module")
async def client(reduced: Reduced, client_identity: ClientIdentity) -> AsyncIterator[Client]:
    async with signed_in_operator(reduced.server, client_identity) as signed_in:
        yield signed_in


@in_module_loop
async def test_a_reduced_server_loads_its_keep_list(reduced: Reduced) -> None:
    loaded = {nodeid for nodeid in node_ids(aspace_of(reduced.server)) if nodeid.NamespaceIndex == 0}
    assert loaded == keep_ids(reduced.address_space)


@in_module_loop
async def test_a_client_browses_and_reads_the_server_and_the_shell(client: Client) -> None:
    objects = {(await child.read_browse_name()).Name for child in await client.nodes.objects.get_children()}
    assert {"Server", "pump_17"} <= objects
    namespaces = await client.get_namespace_array()
    assert SHELL_NAMESPACE_URI in namespaces
    state = await client.get_node(ua.ObjectIds.Server_ServerStatus_State).read_value()
    assert state == ua.ServerState.Running
    await client.load_data_type_definitions()
    assert await (await tag_node(client, "motor_temperature")).read_value() == pytest.approx(61.25)


@in_module_loop
async def test_a_client_writes_a_writable_tag(client: Client, shell_writer: RecordingWriter) -> None:
    shell_writer.reset()
    node = await tag_node(client, "speed_setpoint")

    await node.write_value(ua.Variant(1500, ua.VariantType.Int64))

    assert shell_writer.writes == [("speed_setpoint", 1500)]


@in_module_loop
async def test_a_client_subscribes_and_lists_its_monitored_items(client: Client) -> None:
    changes = Changes()
    subscription = await client.create_subscription(50, changes)
    handles = await subscription.subscribe_data_change([await tag_node(client, "motor_temperature")])
    await changes.wait_for(1)
    server_handles, _ = await client.nodes.server.call_method(
        "0:GetMonitoredItems", ua.Variant(subscription.subscription_id, ua.VariantType.UInt32)
    )
    assert sorted(server_handles) == sorted(handles)
    await subscription.delete()


@in_module_loop
async def test_a_client_calls_a_shell_method(client: Client) -> None:
    shell_ns = await client.get_namespace_index(SHELL_NAMESPACE_URI)
    shell = client.get_node(ua.NodeId("pump_17", shell_ns))
    exported = await shell.call_method(ua.NodeId("pump_17#ExportAAS", shell_ns))
    assert "pump-17" in exported


@in_module_loop
async def test_no_node_of_a_reduced_server_refers_to_a_node_it_left_out(reduced: Reduced) -> None:
    aspace = aspace_of(reduced.server)
    loaded = set(node_ids(aspace))
    dangling = sorted(
        {
            f"{nodeid} -> {target}"
            for nodeid in loaded
            for reference in aspace[nodeid].references
            for target in (reference.NodeId, reference.ReferenceTypeId)
            if target.NamespaceIndex == 0 and target not in loaded
        }
    )
    assert dangling == []


@in_module_loop
async def test_every_ns0_node_the_agent_refers_to_on_the_full_space_is_kept_by_micro(
    tmp_path: Path, module_config: AgentConfig
) -> None:
    store = shell_tag_store(module_config, RecordingWriter())
    async with await start_shell_server(tmp_path, module_config, store, "full") as server:
        referenced = ns0_ids_referenced_by_the_agent(aspace_of(server))

    assert sorted(str(nodeid) for nodeid in referenced - keep_ids("micro")) == []


def test_the_keep_lists_are_what_make_ns0_writes_now() -> None:
    nodes = standard_nodes()
    for profile in ns0_subset.PROFILES:
        assert ns0_keep.keep_file(profile).read_text(encoding="utf-8") == ns0_subset.keep_document(
            nodes, profile
        ), f"{ns0_keep.keep_file(profile).name} is stale: run make ns0"


def test_a_keep_list_of_another_asyncua_version_serves_the_full_space(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr(ns0_keep, "asyncua_version", lambda: "0.0.1")
    with caplog.at_level(logging.WARNING, logger=ns0_keep.__name__):
        assert ns0_keep.kept_nodes("micro") is None
    assert len(caplog.records) == 1
    assert "asyncua 0.0.1" in caplog.records[0].getMessage()
    assert ns0_keep.kept_nodes("full") is None


def test_the_keep_lists_name_their_asyncua_version() -> None:
    for profile in ns0_subset.PROFILES:
        document = json.loads(ns0_keep.keep_file(profile).read_text(encoding="utf-8"))
        assert document["asyncua"] == ns0.asyncua_version()
        assert document["ids"] == sorted(document["ids"])


def test_the_stored_items_are_what_the_generated_code_makes_for_the_keep_list() -> None:
    for profile in ns0_subset.STORED_ITEMS:
        stored = ns0.load_kept_items(ns0_keep.items_file(profile))
        assert stored is not None, f"{ns0_keep.items_file(profile).name} does not load: run make ns0"
        made = ns0.kept_items(keep_ids(profile))
        assert [repr(item) for item in stored[0]] == [repr(item) for item in made[0]], "stale: run make ns0"
        assert [repr(item) for item in stored[1]] == [repr(item) for item in made[1]], "stale: run make ns0"


async def reduced_aspace(items: Path | None) -> Any:
    server = ns0.ReducibleInternalServer()
    server.ns0_keep = frozenset(keep_ids("micro"))
    server.ns0_items = items
    await server.load_standard_address_space()
    return server.aspace


@pytest.mark.asyncio
async def test_an_items_file_that_does_not_load_is_replaced_by_the_generated_code(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    expected = sorted(map(str, node_ids(await reduced_aspace(ns0_keep.items_file("micro")))))
    garbage = tmp_path / "garbage.pickle"
    garbage.write_bytes(b"not a pickle")
    other_version = tmp_path / "other.pickle"
    monkeypatch.setattr(ns0, "asyncua_version", lambda: "0.0.1")
    ns0.save_kept_items(other_version, ([], []))
    monkeypatch.undo()
    for path, reason in (
        (garbage, "does not load"),
        (other_version, "asyncua 0.0.1"),
        (tmp_path / "gone", ""),
    ):
        caplog.clear()
        with caplog.at_level(logging.WARNING, logger=ns0.__name__):
            aspace = await reduced_aspace(path)
        assert sorted(map(str, node_ids(aspace))) == expected
        assert len(caplog.records) == 1 and reason in caplog.records[0].getMessage()


def test_the_default_space_loads_without_importing_the_generated_namespace() -> None:
    probe = (
        "import asyncio, sys\n"
        "from tests.opcua.test_reduced_address_space import reduced_aspace\n"
        "from edge_agent.opcua import ns0_keep\n"
        "aspace = asyncio.run(reduced_aspace(ns0_keep.kept_items_file('micro')))\n"
        f"print(len(aspace.keys()), sorted(m for m in sys.modules if m.startswith('{ns0.GENERATED}')))\n"
    )
    found = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, cwd=REPOSITORY
    ).stdout.split(maxsplit=1)
    assert found == [str(len(keep_ids("micro"))), "[]\n"]
