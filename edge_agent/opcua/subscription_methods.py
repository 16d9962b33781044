"""The Server object's GetMonitoredItems and ResendData (Part 5), which asyncua declares but does not run.

Each acts on one subscription, which must belong to the calling session (Part 4): another session's is
BadUserAccessDenied, an unknown one BadSubscriptionIdInvalid.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from asyncua import Server, ua
from asyncua.server.internal_server import InternalServer
from asyncua.server.internal_subscription import InternalSubscription

from .caller import current_caller


def add_subscription_methods(server: Server) -> None:
    """Make GetMonitoredItems and ResendData of the Server object answer."""
    iserver = server.iserver

    async def get_monitored_items(
        parent: ua.NodeId, subscription_id: ua.Variant
    ) -> list[ua.Variant] | ua.StatusCode:
        found = _own_subscription(iserver, subscription_id)
        if isinstance(found, ua.StatusCode):
            return found
        # asyncua keeps monitored items in a private table; it has no other way to list them.
        items = list(found.monitored_item_srv._monitored_items.values())
        return [
            ua.Variant([item.monitored_item_id for item in items], ua.VariantType.UInt32),
            ua.Variant([item.client_handle for item in items], ua.VariantType.UInt32),
        ]

    async def resend_data(parent: ua.NodeId, subscription_id: ua.Variant) -> list[ua.Variant] | ua.StatusCode:
        found = _own_subscription(iserver, subscription_id)
        if isinstance(found, ua.StatusCode):
            return found
        # asyncua sends a value only when it changed; ResendData wants the current one of each item
        # again, so the item's last value goes into the subscription's queue as asyncua's own would.
        for item in list(found.monitored_item_srv._monitored_items.values()):
            value = item.mvalue.get_current_datavalue()
            if item.callback_handle is None or value is None or item.mode != ua.MonitoringMode.Reporting:
                continue
            notification = ua.MonitoredItemNotification(ClientHandle=item.client_handle, Value=value)
            await found.enqueue_datachange_event(item.monitored_item_id, notification, item.queue_size)
        return []

    for object_id, handler in (
        (ua.ObjectIds.Server_GetMonitoredItems, get_monitored_items),
        (ua.ObjectIds.Server_ResendData, resend_data),
    ):
        server.link_method(server.get_node(ua.NodeId(object_id)), handler)


def _own_subscription(
    iserver: InternalServer, subscription_id: ua.Variant
) -> InternalSubscription | ua.StatusCode:
    if not isinstance(subscription_id, ua.Variant) or not isinstance(subscription_id.Value, int):
        return ua.StatusCode(ua.StatusCodes.BadInvalidArgument)
    subscription = iserver.subscription_service.subscriptions.get(subscription_id.Value)
    if subscription is None:
        return ua.StatusCode(ua.StatusCodes.BadSubscriptionIdInvalid)
    caller = current_caller()
    if caller is not None and not any(
        session.session_id == subscription.session_id and session.user is caller.user
        for session in _client_sessions(iserver)
    ):
        return ua.StatusCode(ua.StatusCodes.BadUserAccessDenied)
    return subscription


def _client_sessions(iserver: InternalServer) -> Iterable[Any]:
    # The caller is known by its user object (each session's own); the session that owns a subscription
    # only by its id. Only an AgentInternalServer lists its client sessions.
    client_sessions = getattr(iserver, "client_sessions", None)
    return client_sessions() if client_sessions is not None else ()
