"""The Server object's GetMonitoredItems and ResendData (Part 5), which asyncua declares but does not run.

Each acts on one subscription, which must belong to the calling session (Part 4): another session's is
BadUserAccessDenied, an unknown one BadSubscriptionIdInvalid.
"""

from __future__ import annotations

from asyncua import Server, ua

from .asyncua_seam import Subscription, find_subscription
from .caller import current_caller


def add_subscription_methods(server: Server) -> None:
    """Make GetMonitoredItems and ResendData of the Server object answer."""

    async def get_monitored_items(
        parent: ua.NodeId, subscription_id: ua.Variant
    ) -> list[ua.Variant] | ua.StatusCode:
        found = _own_subscription(server, subscription_id)
        if isinstance(found, ua.StatusCode):
            return found
        items = found.monitored_items()
        return [
            ua.Variant([item.server_handle for item in items], ua.VariantType.UInt32),
            ua.Variant([item.client_handle for item in items], ua.VariantType.UInt32),
        ]

    async def resend_data(parent: ua.NodeId, subscription_id: ua.Variant) -> list[ua.Variant] | ua.StatusCode:
        found = _own_subscription(server, subscription_id)
        if isinstance(found, ua.StatusCode):
            return found
        # asyncua sends a value only when it changed; ResendData wants the current one of each item again.
        await found.resend_current_values()
        return []

    for object_id, handler in (
        (ua.ObjectIds.Server_GetMonitoredItems, get_monitored_items),
        (ua.ObjectIds.Server_ResendData, resend_data),
    ):
        server.link_method(server.get_node(ua.NodeId(object_id)), handler)


def _own_subscription(server: Server, subscription_id: ua.Variant) -> Subscription | ua.StatusCode:
    if not isinstance(subscription_id, ua.Variant) or not isinstance(subscription_id.Value, int):
        return ua.StatusCode(ua.StatusCodes.BadInvalidArgument)
    subscription = find_subscription(server, subscription_id.Value)
    if subscription is None:
        return ua.StatusCode(ua.StatusCodes.BadSubscriptionIdInvalid)
    caller = current_caller()
    # The caller is known by its user object (each session's own); the session that owns a subscription
    # only by its id.
    if caller is not None and not any(user is caller.user for user in subscription.owner_users()):
        return ua.StatusCode(ua.StatusCodes.BadUserAccessDenied)
    return subscription
