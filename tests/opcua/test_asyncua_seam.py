"""Contracts of the asyncua internals edge_agent.opcua.asyncua_seam relies on, one test per seam.

Each test fails with the seam's name and what changed, so that raising asyncua's version pin shows at
once which part of the seam package to revisit. The behaviour built on the seams is tested elsewhere
(sessions, writes, calls, history, subscriptions); these say why such a test broke.
"""

from __future__ import annotations

import importlib
import inspect
from collections.abc import Callable
from typing import Any

import pytest
import pytest_asyncio
from asyncua import Server, ua
from asyncua.crypto.security_policies import SecurityPolicyFactory
from asyncua.server import address_space, history, internal_server, internal_session, uaprocessor
from asyncua.server.binary_server_asyncio import BinaryServer, OPCUAProtocol
from asyncua.server.internal_subscription import InternalSubscription
from asyncua.server.monitored_item_service import MonitoredItemData, MonitoredItemService
from asyncua.server.subscription_service import SubscriptionService

import edge_agent.opcua.asyncua_seam as seam

SEAMS = {
    "S1": "sessions.AgentInternalServer",
    "S2": "sessions.AgentSession, AgentUaProcessor, AgentProtocol, AgentServer",
    "S3": "server.build_server, use_identity, set_unsecured_channel_ruleset",
    "S4": "nodes.direct_nodes, add_node",
    "S5": "compact.AttributeSharer",
    "S6": "nodes.value_attribute, set_value, notify_watchers",
    "S7": "nodes.compute_on_read, replace_attribute, stored_value",
    "S8": "services.route_value_writes",
    "S9": "services.judge_method_calls",
    "S10": "services.serve_history_reads",
    "S11": "subscriptions.find_subscription",
    "S12": "ns0.ReducibleInternalServer, standard_nodes, asyncua_sources",
}


def require(seam_id: str, holds: bool, what: str) -> None:
    if not holds:
        pytest.fail(f"asyncua changed under seam {seam_id} ({SEAMS[seam_id]}): {what}", pytrace=False)


def parameters(function: Callable[..., Any]) -> list[str]:
    return [name for name in inspect.signature(function).parameters if name != "self"]


def takes(seam_id: str, function: Callable[..., Any], *names: str) -> None:
    found = parameters(function)
    require(
        seam_id,
        list(names) == found[: len(names)],
        f"{function.__qualname__} takes ({', '.join(found)}), expected ({', '.join(names)}, ...)",
    )


def source_says(seam_id: str, owner: Any, text: str) -> None:
    require(seam_id, text in inspect.getsource(owner), f"{owner.__qualname__} no longer does `{text}`")


def is_async(seam_id: str, function: Callable[..., Any]) -> None:
    require(seam_id, inspect.iscoroutinefunction(function), f"{function.__qualname__} is no longer async")


# One initialised (not listening) server for the module: the tests only look at it.
in_module_loop = pytest.mark.asyncio(loop_scope="module")


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def initialised() -> Any:
    server = Server()
    await server.init()
    yield server
    await server.stop()


def test_seam_list_matches_the_package_docstring() -> None:
    doc = seam.__doc__ or ""
    for seam_id in SEAMS:
        assert f"\n{seam_id} " in doc, f"{seam_id} is not described in asyncua_seam's docstring"
    assert "Upstream issue" in doc


def test_s1_internal_server() -> None:
    cls = internal_server.InternalServer
    takes("S1", cls.__init__, "user_manager")
    takes("S1", cls.create_session, "name", "user", "external")
    takes("S1", cls.register_server, "server", "conf")
    takes("S1", cls.verify_x509_token, "isession", "token", "signature")
    takes("S1", cls.decrypt_user_token, "isession", "token")
    takes("S1", internal_session.InternalSession.__init__, "internal_server", "aspace", "submgr", "name")
    for attribute in ("aspace", "subscription_service", "user_manager", "max_connections"):
        source_says("S1", cls, f"self.{attribute}")


def test_s2_connection_and_session() -> None:
    session = internal_session.InternalSession
    takes("S2", session.activate_session, "params", "peer_certificate")
    takes("S2", session.close_session, "delete_subs")
    require("S2", hasattr(internal_session.SessionState, "Created"), "SessionState.Created is gone")
    require("S2", hasattr(internal_session.SessionState, "Activated"), "SessionState.Activated is gone")
    processor = uaprocessor.UaProcessor
    takes("S2", processor.__init__, "internal_server", "transport", "limits")
    takes("S2", processor._process_message, "typeid", "requesthdr", "seqhdr", "body")
    is_async("S2", processor._process_message)
    is_async("S2", processor.close)
    for attribute in ("_connection", "_session_watchdog_task", "session", "name"):
        source_says("S2", processor, f"self.{attribute}")
    takes("S2", OPCUAProtocol.__init__, "iserver", "policies", "clients", "closing_tasks", "limits")
    for attribute in ("_buffer", "processor", "peer_name", "limits", "policies"):
        source_says("S2", OPCUAProtocol, f"self.{attribute}")
    for attribute in ("_make_protocol", "_policies", "clients", "closing_tasks", "limits", "iserver"):
        source_says("S2", BinaryServer, f"self.{attribute}")
    source_says("S2", Server.start, "self.bserver = BinaryServer(")


@in_module_loop
async def test_s3_server_construction(initialised: Server) -> None:
    takes("S3", Server.__init__, "iserver")
    require("S3", isinstance(getattr(initialised, "_policies", None), list), "Server._policies is not a list")
    for attribute in ("certificate", "private_key"):
        source_says("S3", internal_server.InternalServer, f"self.{attribute}")
    takes(
        "S3",
        SecurityPolicyFactory.__init__,
        "cls",
        "mode",
        "certificate",
        "private_key",
        "permission_ruleset",
    )


@in_module_loop
async def test_s4_node_management(initialised: Server) -> None:
    iserver = initialised.iserver
    service = iserver.node_mgt_service
    takes("S4", type(iserver.isession).add_nodes, "params")
    # DirectNodes stores what _add_node would: the attributes listed there, NodeData built so.
    takes("S4", address_space.NodeData.__init__, "nodeid")
    takes("S4", address_space.AttributeValue.__init__, "value")
    takes("S4", address_space.AddressSpace.generate_nodeid, "idx")
    for name in ("AccessLevel", "DataTypeDefinition", "UserWriteMask", "Value", "EventNotifier"):
        source_says("S4", type(service)._add_nodeattributes, f'"{name}"')
    source_says("S4", type(service)._add_node, "self._aspace[nodedata.nodeid] = nodedata")


@in_module_loop
async def test_s5_s6_s7_stored_attributes(initialised: Server) -> None:
    aspace = initialised.iserver.aspace
    require("S5", isinstance(aspace, address_space.AddressSpace), "iserver.aspace is no AddressSpace")
    node = aspace[ua.NodeId(ua.ObjectIds.Server_ServerStatus_State)]
    attribute = node.attributes[ua.AttributeIds.Value]
    require("S5", isinstance(attribute, address_space.AttributeValue), "attributes hold no AttributeValue")
    require("S5", isinstance(node.references, list), "NodeData.references is not a list")
    for field in ("value", "value_callback", "value_setter", "datachange_callbacks"):
        require("S6", hasattr(attribute, field), f"AttributeValue.{field} is gone")
    require("S6", isinstance(attribute.datachange_callbacks, dict), "datachange_callbacks is not a dict")
    require("S7", callable(getattr(aspace, "keys", None)), "AddressSpace.keys is gone")
    source_says("S7", address_space.AddressSpace.read_attribute_value, "value_callback(nodeid, attr)")


@in_module_loop
async def test_s6_s7_seam_round_trip(initialised: Server) -> None:
    """The seam's own functions on a real address space: what it stores is what a Read answers."""
    nodeid = ua.NodeId(ua.ObjectIds.Server_ServiceLevel)
    attribute = seam.value_attribute(initialised, nodeid)
    value = ua.DataValue(ua.Variant(42, ua.VariantType.Byte))
    seam.set_value(attribute, value)
    require("S6", initialised.read_attribute_value(nodeid) is value, "a stored value is not what a Read gets")
    seam.replace_attribute(initialised, nodeid, ua.AttributeIds.Description, ua.DataValue(ua.Variant("x")))
    stored = seam.stored_value(initialised, nodeid, ua.AttributeIds.Description)
    require(
        "S7", stored is not None and stored.Value == ua.Variant("x"), "a replaced attribute is not stored"
    )


def test_s8_attribute_service() -> None:
    takes("S8", address_space.AttributeService.__init__, "aspace")
    takes("S8", address_space.AttributeService.write, "params", "user")
    source_says("S8", internal_session.InternalSession.write, "self.iserver.attribute_service.write(")


def test_s9_method_service() -> None:
    takes("S9", address_space.MethodService.__init__, "aspace")
    takes("S9", address_space.MethodService.call, "methods")
    source_says("S9", internal_session.InternalSession.call, "self.iserver.method_service.call(")


def test_s10_history_manager() -> None:
    takes("S10", history.HistoryManager.__init__, "iserver")
    takes("S10", history.HistoryManager.read_history, "params")
    is_async("S10", history.HistoryManager.read_history)
    source_says(
        "S10", internal_session.InternalSession.history_read, "self.iserver.history_manager.read_history("
    )


def test_s11_subscriptions() -> None:
    source_says("S11", SubscriptionService.__init__, "self.subscriptions: dict[int, InternalSubscription]")
    source_says("S11", InternalSubscription.__init__, "self.monitored_item_srv")
    source_says("S11", InternalSubscription.__init__, "self.session_id")
    takes("S11", InternalSubscription.enqueue_datachange_event, "mid", "eventdata", "maxsize")
    source_says("S11", MonitoredItemService.__init__, "self._monitored_items")
    item = MonitoredItemData()
    for field in ("monitored_item_id", "client_handle", "callback_handle", "mode", "queue_size"):
        require("S11", hasattr(item, field), f"MonitoredItemData.{field} is gone")
    require(
        "S11", callable(getattr(item.mvalue, "get_current_datavalue", None)), "get_current_datavalue is gone"
    )


def test_s12_standard_address_space() -> None:
    cls = internal_server.InternalServer
    takes("S12", cls.load_standard_address_space, "shelf_file")
    is_async("S12", cls.load_standard_address_space)
    source_says("S12", cls.init, "self.load_standard_address_space(")
    source_says("S12", cls, "self.node_mgt_service")
    generated = importlib.import_module(seam.ns0.GENERATED + ".standard_address_space")
    services = importlib.import_module(seam.ns0.GENERATED + ".standard_address_space_services")
    require("S12", hasattr(generated, "PostponeReferences"), "PostponeReferences is gone")
    require(
        "S12",
        hasattr(services, "create_standard_address_space_Services"),
        "create_standard_address_space_Services is gone",
    )
    takes("S12", services.create_standard_address_space_Services, "server")
    source_says("S12", generated.PostponeReferences, "try_add_nodes(nodes, check=False)")
    for name in ("add_nodes", "add_references"):
        source_says("S12", generated.PostponeReferences, f"def {name}(")
    for item in ("RequestedNewNodeId",):
        require("S12", item in ua.AddNodesItem.__dataclass_fields__, f"AddNodesItem.{item} is gone")
    for item in ("SourceNodeId", "TargetNodeId"):
        require("S12", item in ua.AddReferencesItem.__dataclass_fields__, f"AddReferencesItem.{item} is gone")
    takes("S12", address_space.AddressSpace.__init__)
    takes("S12", address_space.NodeManagementService.__init__, "aspace")
    missing = [path.name for path in seam.asyncua_sources() if not path.is_file()]
    require("S12", missing == [], f"asyncua's sources {missing} are gone")
