"""The one write there is, a live property's $value, and the 405 of every other change."""

from __future__ import annotations

import pytest
from aiohttp import ClientResponse, web
from aiohttp.test_utils import TestClient, TestServer

from edge_agent.aas_api.ids import encode_id
from edge_agent.aas_api.routes import build_app
from edge_agent.quality import Quality
from tests.support.opcua import RecordingWriter

from .conftest import SHELL_ID, SUBMODELS, sm
from .double import ROLE_HEADER, StoreShell, principal_middleware

Client = TestClient[web.Request, web.Application]
ELEMENTS = f"{sm(SUBMODELS.operational_data)}/submodel-elements"
SETPOINT = f"{ELEMENTS}/speed_setpoint/$value"


async def refusal(response: ClientResponse, status: int) -> str:
    assert response.status == status
    body = await response.json()
    (message,) = body["messages"]
    assert message["code"] == str(status)
    return str(message["text"])


@pytest.mark.parametrize("body", [{"speed_setpoint": 1200}, 1200, "1200", {"speed_setpoint": "1200"}])
async def test_a_writable_live_value_reaches_the_device(
    client: Client, writer: RecordingWriter, body: object
) -> None:
    response = await client.patch(SETPOINT, json=body)
    assert response.status == 204
    assert writer.writes == [("speed_setpoint", 1200)]


async def test_the_same_write_through_the_shell_and_the_submodel_service(
    client: Client, writer: RecordingWriter
) -> None:
    shell_path = f"/shells/{encode_id(SHELL_ID)}/submodels/{encode_id(SUBMODELS.operational_data)}"
    assert (
        await client.patch(f"{shell_path}/submodel-elements/speed_setpoint/$value", json=10)
    ).status == 204
    assert writer.writes == [("speed_setpoint", 10)]


async def test_a_read_only_tag_is_405(client: Client, writer: RecordingWriter) -> None:
    response = await client.patch(f"{ELEMENTS}/motor_temperature/$value", json=1.0)
    assert "BadNotWritable" in await refusal(response, 405)
    assert response.headers["Allow"] == "GET, HEAD"
    # Writable, but no source takes its writes in this store: the device cannot either.
    assert "BadNotWritable" in await refusal(
        await client.patch(f"{ELEMENTS}/alarm_lamp/$value", json=True), 405
    )
    assert writer.writes == []


async def test_a_config_value_is_405(client: Client) -> None:
    response = await client.patch("/submodel/submodel-elements/SerialNumber/$value", json="X")
    assert "live value" in await refusal(response, 405)
    assert response.headers["Allow"] == "GET, HEAD"


async def test_a_principal_without_write_is_403(client: Client, writer: RecordingWriter) -> None:
    response = await client.patch(SETPOINT, json=5, headers={ROLE_HEADER: "Observer"})
    assert "BadUserAccessDenied" in await refusal(response, 403)
    assert writer.writes == []


@pytest.mark.parametrize("body", ["fast", 70000, -1, 12.5, True, None, [1], {"other": 1}])
async def test_a_value_the_tag_cannot_take_is_400(
    client: Client, writer: RecordingWriter, body: object
) -> None:
    await refusal(await client.patch(SETPOINT, json=body), 400)
    assert writer.writes == []


async def test_a_body_that_is_not_json_is_400(client: Client) -> None:
    await refusal(await client.patch(SETPOINT, data=b"{nope"), 400)


@pytest.mark.parametrize(
    ("answer", "status"),
    [
        (Quality.BadCommunicationError, 503),
        (Quality.BadTimeout, 503),
        (Quality.BadDeviceFailure, 502),
        (Quality.BadOutOfRange, 400),
    ],
)
async def test_the_devices_refusal(
    client: Client, writer: RecordingWriter, answer: Quality, status: int
) -> None:
    writer.answer = answer
    assert answer.name in await refusal(await client.patch(SETPOINT, json=100), status)


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("POST", "/shells"),
        ("DELETE", f"/shells/{encode_id(SHELL_ID)}"),
        ("PUT", sm(SUBMODELS.nameplate)),
        ("POST", f"{ELEMENTS}"),
        ("PUT", f"{ELEMENTS}/speed_setpoint"),
        ("DELETE", f"{ELEMENTS}/speed_setpoint"),
        ("PATCH", f"{sm(SUBMODELS.operational_data)}/$value"),
        ("PUT", "/aas/asset-information"),
    ],
)
async def test_every_other_change_is_405(client: Client, method: str, path: str) -> None:
    response = await client.request(method, path, json={})
    await refusal(response, 405)
    assert "GET" in response.headers["Allow"]


class BrokenShell(StoreShell):
    def refresh(self, part: object) -> None:
        raise RuntimeError("secret detail of the failure")


async def test_an_internal_failure_is_500_without_details(shell: StoreShell) -> None:
    broken = BrokenShell(shell.environment(), shell.store)
    async with TestClient(TestServer(build_app(broken, middlewares=[principal_middleware]))) as client:
        response = await client.get("/submodel")
        body = await response.json()
    assert response.status == 500
    (message,) = body["messages"]
    assert message["messageType"] == "Exception" and "secret" not in message["text"]
