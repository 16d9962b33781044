"""Subscriptions as asyncua keeps them: whose each is, which monitored items it has, their last values.

asyncua declares the Server object's GetMonitoredItems and ResendData methods but does not run them,
and its public API has no view of a subscription's monitored items (seam S11 of the package docstring).
"""

from __future__ import annotations

from dataclasses import dataclass

from asyncua import Server, ua
from asyncua.server.internal_subscription import InternalSubscription

from .sessions import AgentInternalServer


@dataclass(frozen=True, slots=True)
class MonitoredItemIds:
    """A monitored item as GetMonitoredItems lists it."""

    server_handle: int
    client_handle: int


class Subscription:
    """One subscription of a client session."""

    def __init__(self, server: Server, subscription: InternalSubscription) -> None:
        self._server = server
        self._subscription = subscription

    def owner_users(self) -> list[object]:
        """The user objects of the client sessions that own this subscription (one, or none if it is gone)."""
        iserver = self._server.iserver
        # Only an AgentInternalServer lists its client sessions.
        sessions = iserver.client_sessions() if isinstance(iserver, AgentInternalServer) else []
        return [session.user for session in sessions if session.session_id == self._subscription.session_id]

    def monitored_items(self) -> list[MonitoredItemIds]:
        # asyncua keeps monitored items in a private table; it has no other way to list them.
        items = self._subscription.monitored_item_srv._monitored_items.values()
        return [MonitoredItemIds(item.monitored_item_id, item.client_handle) for item in items]

    async def resend_current_values(self) -> None:
        """Queue the current value of each reporting monitored item again, as asyncua queues a change."""
        subscription = self._subscription
        for item in list(subscription.monitored_item_srv._monitored_items.values()):
            value = item.mvalue.get_current_datavalue()
            if item.callback_handle is None or value is None or item.mode != ua.MonitoringMode.Reporting:
                continue
            notification = ua.MonitoredItemNotification(ClientHandle=item.client_handle, Value=value)
            await subscription.enqueue_datachange_event(item.monitored_item_id, notification, item.queue_size)


def find_subscription(server: Server, subscription_id: int) -> Subscription | None:
    found = server.iserver.subscription_service.subscriptions.get(subscription_id)
    return Subscription(server, found) if found is not None else None
