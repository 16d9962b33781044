"""A user the user store calls an administrator still gets no more than a user's rights."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable

import pytest
from asyncua import Client, ua
from asyncua.crypto.permission_rules import UserRole
from asyncua.ua.uaerrors import UaStatusCodeError

from .conftest import OperatorSessionFactory, tag_node


@pytest.fixture
async def admin_client(operator_session: OperatorSessionFactory) -> AsyncIterator[Client]:
    async with operator_session(role=UserRole.Admin) as client:
        yield client


async def add_an_object(client: Client) -> None:
    await client.nodes.objects.add_object(ua.NodeId("intruder", 1), "Intruder")


async def delete_a_tag(client: Client) -> None:
    await (await tag_node(client, "motor_temperature")).delete()


async def rename_a_tag(client: Client) -> None:
    node = await tag_node(client, "motor_temperature")
    await node.write_attribute(
        ua.AttributeIds.DisplayName, ua.DataValue(ua.Variant(ua.LocalizedText("renamed")))
    )


@pytest.mark.parametrize("change", [add_an_object, delete_a_tag, rename_a_tag])
async def test_admin_from_the_user_store_cannot_change_the_address_space(
    admin_client: Client, change: Callable[[Client], Awaitable[None]]
) -> None:
    with pytest.raises(UaStatusCodeError) as refused:
        await change(admin_client)

    assert ua.StatusCode(refused.value.code).name == "BadUserAccessDenied"
