"""The shell as OPC 30270 nodes, browsed, read, written and subscribed by a real asyncua client."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
from aas_core3 import jsonization
from aas_core3 import types as aas
from asyncua import Client, Node, ua

from edge_agent.aas import build_environment, verify
from edge_agent.agent_config import AgentConfig
from edge_agent.opcua import AgentOpcUaServer
from edge_agent.opcua import server as server_module
from edge_agent.opcua.i4aas import NAMESPACE_URI as I4AAS_URI
from edge_agent.opcua.i4aas import SHELL_NAMESPACE_URI
from edge_agent.quality import Quality
from edge_agent.tags import Reading
from edge_agent.tagstore import TagStore
from tests.support.aas import load_full_config
from tests.support.opcua import (
    ClientIdentity,
    RecordingWriter,
    log_in_as_operator,
    secure_client,
    shell_server,
    trust,
)
from tests.support.shell import STAMP, StubAdministration, ns, publish_first_readings, shell_tag_store
from tests.support.waiting import eventually

SHELL = "pump_17"

# The tests share one shell server with a runtime standing in: before each session the readings, the
# writer and the runtime stand-in are made as new, so that a test sees what a server of its own would show.
pytestmark = pytest.mark.asyncio(loop_scope="module")


@pytest.fixture(scope="module")
def full_config(tmp_path_factory: pytest.TempPathFactory) -> AgentConfig:
    return load_full_config(tmp_path_factory.mktemp("config"))


@pytest.fixture(scope="module")
def shell_writer() -> RecordingWriter:
    return RecordingWriter()


@pytest.fixture
def writer(shell_writer: RecordingWriter) -> RecordingWriter:
    shell_writer.reset()
    return shell_writer


@pytest.fixture(scope="module")
def shell_store(full_config: AgentConfig, shell_writer: RecordingWriter) -> TagStore:
    return shell_tag_store(full_config, shell_writer)


@pytest.fixture(scope="module")
def administration(full_config: AgentConfig) -> StubAdministration:
    return StubAdministration(full_config)


@dataclass
class ModuleShell:
    """The module's shell server, and what it was built of."""

    server: AgentOpcUaServer
    store: TagStore
    writer: RecordingWriter
    administration: StubAdministration
    environment: Callable[[bytes], aas.Environment]

    def as_new(self) -> None:
        """Readings, writer and runtime stand-in as a server of the test's own would have them."""
        publish_first_readings(self.store)
        self.writer.reset()
        self.administration.reset()


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def module_shell(
    tmp_path_factory: pytest.TempPathFactory,
    full_config: AgentConfig,
    shell_store: TagStore,
    shell_writer: RecordingWriter,
    administration: StubAdministration,
) -> AsyncIterator[ModuleShell]:
    def environment(der: bytes) -> aas.Environment:
        return build_environment(full_config, certificate_der=der, values=shell_store.snapshot())

    pki = tmp_path_factory.mktemp("pki")
    async with shell_server(pki, shell_store, environment, administration=administration) as server:
        yield ModuleShell(server, shell_store, shell_writer, administration, environment)


@pytest.fixture
def shell_session(tmp_path: Path, module_shell: ModuleShell, client_identity: ClientIdentity) -> Any:
    @asynccontextmanager
    async def connect(*, with_administration: bool = True) -> AsyncIterator[Client]:
        module_shell.as_new()
        async with AsyncExitStack() as stack:
            server = module_shell.server
            if not with_administration:
                server = await stack.enter_async_context(
                    shell_server(tmp_path / "pki", module_shell.store, module_shell.environment)
                )
            trust(server, client_identity)
            client = await secure_client(server, client_identity)
            await stack.enter_async_context(log_in_as_operator(client))
            await client.load_data_type_definitions()
            yield client

    return connect


async def _shell(client: Client) -> Node:
    index = await client.get_namespace_index(SHELL_NAMESPACE_URI)
    return await client.nodes.objects.get_child(f"{index}:{SHELL}")


async def _child(client: Client, node: Node, *path: str) -> Node:
    """Follow idShorts (the shell's namespace) and I4AAS names (prefixed 'i4aas:') down from ``node``."""
    shell_ns = await client.get_namespace_index(SHELL_NAMESPACE_URI)
    i4aas_ns = await client.get_namespace_index(I4AAS_URI)
    names = [
        f"{i4aas_ns}:{name.removeprefix('i4aas:')}" if name.startswith("i4aas:") else f"{shell_ns}:{name}"
        for name in path
    ]
    return await node.get_child(names)


async def _type_name(node: Node) -> str:
    type_definition = await node.read_type_definition()
    assert type_definition is not None
    return (await Node(node.session, type_definition).read_browse_name()).Name


def _walk(
    elements: list[aas.ISubmodelElement] | None, path: tuple[str, ...] = ()
) -> Iterator[tuple[tuple[str, ...], aas.ISubmodelElement]]:
    for position, element in enumerate(elements or ()):
        name = element.id_short or f"[{position}]"
        yield (*path, name), element
        if isinstance(element, aas.SubmodelElementCollection | aas.SubmodelElementList):
            yield from _walk(list(element.value or ()), (*path, name))


ELEMENT_TYPES = {
    aas.Property: "AASPropertyType",
    aas.MultiLanguageProperty: "AASMultiLanguagePropertyType",
    aas.SubmodelElementCollection: "AASSubmodelElementCollectionType",
    aas.SubmodelElementList: "AASOrderedSubmodelElementCollectionType",
    aas.Range: "AASRangeType",
}


async def test_the_shell_is_an_i4aas_shell_with_the_asset_and_its_identification(shell_session: Any) -> None:
    async with shell_session() as client:
        shell = await _shell(client)
        assert await _type_name(shell) == "AASAssetAdministrationShellType"
        identification = await _child(client, shell, "i4aas:Identification")
        assert await _type_name(identification) == "AASIdentifierType"
        assert (
            await (await _child(client, identification, "i4aas:Id")).read_value() == "urn:example:aas:pump-17"
        )
        id_type = await (await _child(client, identification, "i4aas:IdType")).read_value()
        assert id_type == ua.AASIdentifierTypeDataType.IRI  # type: ignore[attr-defined]
        asset = await _child(client, shell, "i4aas:Asset")
        assert await _type_name(asset) == "AASAssetType"
        kind = await (await _child(client, asset, "i4aas:AssetKind")).read_value()
        assert kind == ua.AASAssetKindDataType.Instance  # type: ignore[attr-defined]
        asset_id = await _child(client, asset, "i4aas:Identification", "i4aas:Id")
        assert await asset_id.read_value() == "urn:example:asset:pump-17"


async def test_every_submodel_and_element_of_the_aas_model_is_a_node_of_its_i4aas_type(
    shell_session: Any, full_config: AgentConfig
) -> None:
    environment = build_environment(full_config, certificate_der=None)
    async with shell_session() as client:
        shell = await _shell(client)
        checked = 0
        for submodel in environment.submodels or ():
            assert submodel.id_short is not None
            node = await _child(client, shell, submodel.id_short)
            assert await _type_name(node) == "AASSubmodelType"
            submodel_id = await _child(client, node, "i4aas:Identification", "i4aas:Id")
            assert await submodel_id.read_value() == submodel.id
            for path, element in _walk(list(submodel.submodel_elements or ())):
                element_node = await _child(client, node, *path)
                assert await _type_name(element_node) == ELEMENT_TYPES[type(element)], path
                checked += 1
        assert checked > 40


async def test_nameplate_values_and_semantic_ids_are_served(shell_session: Any) -> None:
    async with shell_session() as client:
        shell = await _shell(client)
        serial = await _child(client, shell, "Nameplate", "SerialNumber")
        assert await (await _child(client, serial, "i4aas:Value")).read_value() == "CP200-4711"
        assert await (await _child(client, serial, "i4aas:IdShort")).read_value() == "SerialNumber"
        value_type = await (await _child(client, serial, "i4aas:ValueType")).read_value()
        assert value_type == ua.AASValueTypeDataType.String  # type: ignore[attr-defined]
        year = await _child(client, shell, "Nameplate", "YearOfConstruction", "i4aas:Value")
        assert await year.read_value() == "2024"  # the template types it xs:string
        name = await _child(client, shell, "Nameplate", "ManufacturerName", "i4aas:Value")
        (text,) = await name.read_value()
        assert (text.Text, text.Locale) == ("ACME Pumpen GmbH", "en")

        entries = await serial.get_referenced_nodes(
            refs=ua.ObjectIds.HasDictionaryEntry, direction=ua.BrowseDirection.Forward
        )
        concepts = {
            await (await _child(client, entry, "i4aas:Identification", "i4aas:Id")).read_value(): entry
            for entry in entries
        }
        assert set(concepts) == {"0112/2///61987#ABA951#009", "0173-1#02-AAM556#004"}
        concept = concepts["0112/2///61987#ABA951#009"]
        assert await _type_name(concept) == "AASIrdiConceptDescriptionType"


async def test_a_live_property_serves_the_tags_value_status_timestamp_unit_and_range(
    shell_session: Any, shell_store: TagStore
) -> None:
    async with shell_session() as client:
        shell = await _shell(client)
        value = await _child(client, shell, "OperationalData", "motor_temperature", "i4aas:Value")
        data = await value.read_data_value()
        assert (data.Value.Value, data.StatusCode.value, data.SourceTimestamp) == (
            61.25,
            0,
            STAMP,
        )
        assert await _type_name(value) == "AnalogItemType"
        units = await value.get_child("0:EngineeringUnits")
        assert (await units.read_value()).DisplayName.Text == "degC"
        eu_range = await (await value.get_child("0:EURange")).read_value()
        assert (eu_range.Low, eu_range.High) == (0.0, 150.0)

        later = STAMP + timedelta(seconds=1)
        shell_store.publish(Reading("motor_temperature", None, Quality.BadNoCommunication, ns(later)))
        data = await value.read_data_value(raise_on_bad_status=False)
        assert data.StatusCode.value == Quality.BadNoCommunication
        assert data.Value.Value == 61.25  # the last value stays beside the Bad status

        score = await _child(
            client, shell, "ConditionMonitoring", "pump_health", "Outputs", "anomaly_score", "i4aas:Value"
        )
        assert await score.read_value() == pytest.approx(0.31)
        door = await _child(client, shell, "OperationalData", "door_open", "i4aas:Value")
        assert await _type_name(door) == "PropertyType"


async def test_writable_points_are_writable_through_the_shell_and_others_are_not(
    shell_session: Any, writer: RecordingWriter
) -> None:
    async with shell_session() as client:
        shell = await _shell(client)
        setpoint = await _child(client, shell, "OperationalData", "speed_setpoint", "i4aas:Value")
        await setpoint.write_value(ua.Variant(2800, ua.VariantType.Int64))
        assert writer.writes == [("speed_setpoint", 2800)]
        temperature = await _child(client, shell, "OperationalData", "motor_temperature", "i4aas:Value")
        with pytest.raises(ua.UaStatusCodeError) as refused:
            await temperature.write_value(ua.Variant(20.0, ua.VariantType.Double))
        assert refused.value.code in (ua.StatusCodes.BadNotWritable, ua.StatusCodes.BadUserAccessDenied)
        serial = await _child(client, shell, "Nameplate", "SerialNumber", "i4aas:Value")
        with pytest.raises(ua.UaStatusCodeError):
            await serial.write_value("forged")


async def test_a_subscriber_to_a_live_property_sees_each_change(
    shell_session: Any, shell_store: TagStore
) -> None:
    seen: list[ua.DataValue] = []

    class Handler:
        def datachange_notification(self, node: Node, value: Any, data: Any) -> None:
            seen.append(data.monitored_item.Value)

    async with shell_session() as client:
        shell = await _shell(client)
        value = await _child(client, shell, "OperationalData", "motor_temperature", "i4aas:Value")
        subscription = await client.create_subscription(50, Handler())
        await subscription.subscribe_data_change(value)
        await eventually(lambda: len(seen) >= 1)
        for step in range(1, 4):
            shell_store.publish(Reading("motor_temperature", 60.0 + step, Quality.Good, ns(STAMP) + step))
            await asyncio.sleep(0.15)
        await eventually(lambda: [d.Value.Value for d in seen][-1] == 63.0)
        assert [d.Value.Value for d in seen] == [61.25, 61.0, 62.0, 63.0]


async def _call(client: Client, name: str, *arguments: Any) -> Any:
    shell = await _shell(client)
    shell_ns = await client.get_namespace_index(SHELL_NAMESPACE_URI)
    return await shell.call_method(f"{shell_ns}:{name}", *arguments)


async def test_get_diagnostics_and_export_aas_answer_json(shell_session: Any) -> None:
    async with shell_session() as client:
        diagnostics = json.loads(await _call(client, "GetDiagnostics"))
        assert diagnostics["versions"]["edge-agent"] == "test"
        exported = jsonization.environment_from_jsonable(json.loads(await _call(client, "ExportAAS")))
        assert verify(exported) == []
        assert exported.asset_administration_shells[0].id == "urn:example:aas:pump-17"  # type: ignore[index]


async def test_reload_configuration_answers_whether_the_config_was_accepted(
    shell_session: Any, administration: StubAdministration
) -> None:
    async with shell_session() as client:
        assert await _call(client, "ReloadConfiguration") == [True, "reloading"]
        administration.reload_answer = (False, "full.yaml:3:5: asset.id: field required")
        assert await _call(client, "ReloadConfiguration") == [
            False,
            "full.yaml:3:5: asset.id: field required",
        ]
        assert administration.reloads == 2
        with pytest.raises(ua.UaStatusCodeError) as refused:
            await _call(client, "GetDiagnostics", ua.Variant(1, ua.VariantType.Int32))
        assert refused.value.code == ua.StatusCodes.BadTooManyArguments


async def test_without_a_runtime_the_methods_answer_not_implemented(shell_session: Any) -> None:
    async with shell_session(with_administration=False) as client:
        with pytest.raises(ua.UaStatusCodeError) as refused:
            await _call(client, "ReloadConfiguration")
        assert refused.value.code == ua.StatusCodes.BadNotImplemented


async def test_what_the_shell_says_of_itself_is_kept_current_while_serving(
    tmp_path: Path,
    full_config: AgentConfig,
    shell_store: TagStore,
    client_identity: ClientIdentity,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(server_module, "SHELL_REFRESH_S", 0.1)
    inferences = {"count": 10}

    def environment(der: bytes) -> aas.Environment:
        info = {"pump_health": {"inferences": inferences["count"]}}
        return build_environment(full_config, certificate_der=der, model_info=info)

    async with shell_server(tmp_path / "pki", shell_store, environment) as server:
        trust(server, client_identity)
        async with log_in_as_operator(await secure_client(server, client_identity)) as client:
            shell = await _shell(client)
            count = await _child(
                client, shell, "ConditionMonitoring", "pump_health", "Inferences", "i4aas:Value"
            )
            assert await count.read_value() == 10
            inferences["count"] = 250
            deadline = asyncio.get_running_loop().time() + 5
            while await count.read_value() != 250:
                assert asyncio.get_running_loop().time() < deadline, "the count was never brought up to date"
                await asyncio.sleep(0.05)
            serial = await _child(client, shell, "Nameplate", "SerialNumber", "i4aas:Value")
            assert await serial.read_value() == "CP200-4711"
