"""The status page on the HTTP face: what it shows, to whom, and that it stays within its security policy.

Served by the API's own application over the full test config's tag store; the demo's page is checked
in tests/interop/test_aas_demo.py.
"""

from __future__ import annotations

import asyncio
import json
import re
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from edge_agent.aas_api.auth import Authenticator
from edge_agent.aas_api.model import Principal, TagValue
from edge_agent.aas_api.results import error_response
from edge_agent.aas_api.routes import build_app
from edge_agent.identity.users import UserStore
from edge_agent.opcua.security import LoginGuard
from edge_agent.quality import Quality
from edge_agent.status_page import IdentitySummary, StatusRoutes
from edge_agent.status_page.model import collect
from edge_agent.status_page.render import page
from edge_agent.tags import Reading
from tests.support.history import history_config, running_store
from tests.support.status_page import HOSTILE, PASSWORD, StoreStatus, basic, users_file

BROWSER = {"Accept": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"}


@pytest.fixture
def status() -> StoreStatus:
    return StoreStatus()


OPERATOR = basic("Operator")


@pytest.fixture(scope="module")
def users(tmp_path_factory: pytest.TempPathFactory) -> UserStore:
    return users_file(tmp_path_factory.mktemp("users"))


class RecordingWrites:
    def __init__(self) -> None:
        self.written: list[tuple[str, TagValue, str, str]] = []

    async def __call__(self, tag: str, value: TagValue, principal: Principal, via: str) -> Quality:
        self.written.append((tag, value, principal.name, via))
        return Quality.Good


@pytest.fixture
def writes() -> RecordingWrites:
    return RecordingWrites()


@pytest.fixture
async def client(
    status: StoreStatus, users: UserStore, writes: RecordingWrites
) -> AsyncIterator[TestClient[web.Request, web.Application]]:
    authenticator = Authenticator(users, LoginGuard(), anonymous_read=False)
    routes = StatusRoutes(status, authenticator, writes)
    app = build_app(
        _no_shell(), middlewares=[authenticator.middleware(error_response)], root_page=routes.root_page
    )
    routes.attach(app)
    async with TestClient(TestServer(app)) as started:
        yield started


def _no_shell() -> Any:
    return object()  # the page's routes never reach the shell


def text_of(html: str, element_id: str) -> str:
    found = re.search(rf'id="{element_id}"[^>]*>(.*?)</', html, re.S)
    assert found, element_id
    return found.group(1)


async def test_a_browser_at_the_root_gets_the_page_with_its_security_policy(
    client: TestClient[Any, Any],
) -> None:
    response = await client.get("/", headers={**BROWSER, **OPERATOR})
    assert response.status == 200
    assert response.content_type == "text/html"
    policy = response.headers["Content-Security-Policy"]
    assert "script-src 'self'" in policy and "default-src 'none'" in policy and "unsafe-inline" not in policy
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    html = await response.text()
    assert text_of(html, "status") == "serving 4 tags, 1 model, 1 sources down"
    assert "signed in as alice" in html
    assert "in 20 days" in text_of(html, "expiry")


async def test_the_page_shows_sources_models_and_every_tag(client: TestClient[Any, Any]) -> None:
    html = await (await client.get("/", headers={**BROWSER, **OPERATOR})).text()
    assert re.search(
        r'data-source="pump_plc">.*?<td class="good">up</td><td>1</td><td>1</td><td>0</td>'
        r"<td>500 ms</td><td>2025-12-06T05:46:40.000Z</td><td>40</td><td>2</td>",
        html,
    )
    assert re.search(r'data-source="panel">.*?<td class="bad">down</td>', html)
    assert re.search(
        r'data-model="pump_health">.*?anomaly_score = .*?<td>12</td><td>0.75 ms</td><td>1</td>', html
    )
    assert "pump_health_invocations =" not in html  # a statistic, not a conclusion of the model
    rows = re.findall(r'<tr data-tag="([^"]+)"[^>]*>', html)
    assert rows == ["motor_temperature", "alarm_lamp", "anomaly_score", "pump_health_invocations"]
    assert re.search(
        r'data-tag="motor_temperature" data-number="61.234567" data-time="1765000000000">'
        r'.*?<td class="value">61.23</td><td>degC</td>'
        r'<td class="quality good">Good</td><td class="time">2025-12-06T05:46:40.000Z</td>',
        html,
    )
    assert '<td class="quality bad">BadNoCommunication</td>' in html


async def test_names_and_descriptions_are_escaped_and_nothing_is_inline(client: TestClient[Any, Any]) -> None:
    html = await (await client.get("/", headers={**BROWSER, **OPERATOR})).text()
    assert HOSTILE not in html
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;" in html
    assert re.findall(r"<script[^>]*>", html) == ['<script src="/status/static/page.js" defer>']
    assert not re.search(r"\sstyle=|\son[a-z]+=", html)


async def test_other_clients_at_the_root_get_the_shell_as_before(client: TestClient[Any, Any]) -> None:
    for accept in ("*/*", "application/json", "application/json, text/html"):
        response = await client.get("/", headers={"Accept": accept, **OPERATOR})
        assert response.content_type != "text/html", accept


@pytest.mark.parametrize(("role", "expected"), [("Observer", 403), ("Operator", 200)])
async def test_the_diagnostics_download_needs_the_diagnose_right(
    client: TestClient[Any, Any], role: str, expected: int
) -> None:
    response = await client.get("/status/diagnostics.json", headers=basic(role))
    assert response.status == expected
    if expected == 200:
        assert "attachment" in response.headers["Content-Disposition"]
        assert (await response.json())["status"] == "serving 4 tags, 1 model, 1 sources down"
    html = await (await client.get("/", headers={**BROWSER, **basic(role)})).text()
    assert ("diagnostics.json" in html) == (expected == 200)


async def test_assets_come_from_the_package_and_nothing_else_is_served(client: TestClient[Any, Any]) -> None:
    for name, kind in (("page.js", "text/javascript"), ("page.css", "text/css")):
        response = await client.get(f"/status/static/{name}")
        assert response.status == 200 and response.content_type == kind
        assert len(await response.read()) > 100
    for name in ("other.js", "..%2Fmodel.py", "%2e%2e/render.py"):
        response = await client.get(f"/status/static/{name}")
        assert response.status in (401, 404), name  # outside the open assets, or no such asset
        assert "import" not in await response.text()


def test_the_page_without_a_certificate_or_models_still_renders() -> None:
    class Bare(StoreStatus):
        def identity(self) -> IdentitySummary | None:
            return None

        def diagnostics(self) -> dict[str, Any]:
            return {"status": "starting"}

    html = page(collect(Bare()), user="someone", can_diagnose=False)
    assert "No application certificate yet." in html and "No models." in html and "No sources." in html


def test_an_expired_certificate_is_shown_as_bad() -> None:
    class Expired(StoreStatus):
        def identity(self) -> IdentitySummary | None:
            return IdentitySummary(
                "CN=x", datetime.now(UTC) - timedelta(days=3) + timedelta(hours=1), 0, 0, 0
            )

    html = page(collect(Expired()), user="someone", can_diagnose=False)
    assert re.search(r'class="bad" id="expiry">[^<]*expired 3 days ago', html)


EVENT_DEADLINE_S = 10


async def next_event(response: Any) -> tuple[str, Any]:
    async with asyncio.timeout(EVENT_DEADLINE_S):
        block = (await response.content.readuntil(b"\n\n")).decode()
    fields = dict(line.split(": ", 1) for line in block.strip().splitlines())
    return fields["event"], json.loads(fields["data"])


async def test_the_page_hears_every_change_coalesced(
    client: TestClient[Any, Any], status: StoreStatus
) -> None:
    response = await client.get("/status/events", headers=OPERATOR)
    assert response.status == 200 and response.content_type == "text/event-stream"
    kind, health = await next_event(response)
    assert kind == "status" and health["status"] == "serving 4 tags, 1 model, 1 sources down"
    assert health["sources"][0] == ["pump_plc", True, 1, 0, "2025-12-06T05:46:40.000Z", 40, 2]
    assert health["models"] == [["pump_health", "loaded", 12, 0.75, 1, 0]]
    kind, snapshot = await next_event(response)  # first, every tag as it is now
    assert kind == "tags" and [row[0] for row in snapshot] == [info.name for info in status.store.tags]
    for step in range(50):
        status.store.publish(
            Reading("motor_temperature", 70.0 + step, Quality.Good, 1_765_000_000_000_000_000)
        )
    status.store.publish(Reading("alarm_lamp", True, Quality.Good, 1_765_000_000_000_000_000))
    seen: dict[str, list[Any]] = {}
    events = 0
    while seen.get("motor_temperature", [None, None])[1] != "119" or "alarm_lamp" not in seen:
        kind, data = await next_event(response)
        if kind == "tags":
            events += 1
            seen.update({row[0]: row for row in data})
    assert events <= 2, "fifty changes of a tag at once are one or two updates, not fifty"
    assert seen["alarm_lamp"] == ["alarm_lamp", "true", "Good", 1_765_000_000_000, 1.0]
    response.close()


async def test_a_closed_page_stops_listening(client: TestClient[Any, Any], status: StoreStatus) -> None:
    response = await client.get("/status/events", headers=OPERATOR)
    await next_event(response)
    assert status.listeners == 1  # one for all pages, while any is open
    response.close()
    async with asyncio.timeout(EVENT_DEADLINE_S):
        while status.listeners:
            status.store.publish(Reading("motor_temperature", 1.0))  # the write that finds the page gone
            await asyncio.sleep(0.3)


async def test_open_pages_are_bounded(client: TestClient[Any, Any], monkeypatch: pytest.MonkeyPatch) -> None:
    from edge_agent.status_page import events

    monkeypatch.setattr(events, "MAX_STREAMS", 2)
    opened = [await client.get("/status/events", headers=OPERATOR) for _ in range(2)]
    for response in opened:
        await next_event(response)
    assert (await client.get("/status/events", headers=OPERATOR)).status == 503
    for response in opened:
        response.close()


async def test_a_plot_gets_the_last_ten_minutes_thinned_with_the_alarm_threshold(
    client: TestClient[Any, Any], status: StoreStatus, tmp_path: Path
) -> None:
    async with running_store(history_config(tmp_path)) as recorded:
        status.recorded = recorded
        now = time.time_ns()
        second = 1_000_000_000
        # An hour at 10 Hz would be 36,000 points; the last 10 minutes are asked for, at most 600 sent.
        for step in range(0, 12 * 60 * 10):
            stamp = now - 12 * 60 * second + step * second // 10
            quality = Quality.BadNoCommunication if step == 12 * 60 * 10 - 1 else Quality.Good
            recorded.append(Reading("anomaly_score", step / 7200, quality, stamp))
        await recorded.flush()
        answer = await (await client.get("/status/history/anomaly_score", headers=OPERATOR)).json()
    assert answer["recorded"] is True and answer["threshold"] == 0.8
    points = answer["points"]
    assert 590 <= len(points) <= 600
    assert all(answer["start_ms"] <= point[0] <= answer["end_ms"] for point in points)
    assert [point[0] for point in points] == sorted(point[0] for point in points)
    assert points[-1][1:] == [None, "bad"]  # a Bad reading is a gap in the line, not a zero
    assert points[-2][2] == "good" and 0.9 < points[-2][1] < 1.0


async def test_a_tag_without_history_plots_nothing_and_unknown_tags_are_404(
    client: TestClient[Any, Any],
) -> None:
    answer = await (await client.get("/status/history/motor_temperature", headers=OPERATOR)).json()
    assert answer["recorded"] is False and answer["points"] == [] and answer["threshold"] is None
    assert (await client.get("/status/history/no_such_tag", headers=OPERATOR)).status == 404


async def sign_in(client: TestClient[Any, Any], user: str) -> str:
    """Signs ``user`` in with the form; returns the page they then see."""
    response = await client.post(
        "/status/login", data={"user": user, "password": PASSWORD}, headers=BROWSER, allow_redirects=False
    )
    assert response.status == 303 and response.headers["Location"] == "/"
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Strict" in cookie and "Path=/" in cookie
    return await (await client.get("/", headers=BROWSER)).text()


def csrf_of(html: str) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', html)
    assert found, "no CSRF token on the page"
    return found.group(1)


async def test_a_browser_without_a_login_is_sent_to_the_form(client: TestClient[Any, Any]) -> None:
    response = await client.get("/", headers=BROWSER, allow_redirects=False)
    assert response.status == 303 and response.headers["Location"] == "/status/login"
    form = await client.get("/status/login", headers=BROWSER)
    assert form.status == 200 and '<form method="post" action="/status/login"' in await form.text()
    assert "script-src 'self'" in form.headers["Content-Security-Policy"]
    assert (await client.get("/", headers={"Accept": "application/json"})).status == 401  # not a browser


async def test_a_wrong_password_is_refused_on_the_form(client: TestClient[Any, Any]) -> None:
    response = await client.post(
        "/status/login", data={"user": "alice", "password": "wrong"}, headers=BROWSER
    )
    assert response.status == 401
    assert "Not signed in" in await response.text()
    assert "Set-Cookie" not in response.headers


async def test_an_operator_switches_an_output_from_the_page(
    client: TestClient[Any, Any], writes: RecordingWrites
) -> None:
    html = await sign_in(client, "alice")
    assert "signed in as alice" in html
    assert re.search(r'action="/status/tags/alarm_lamp".*?<button>switch on</button>', html)
    assert "/status/tags/motor_temperature" not in html  # read-only tags get no control
    response = await client.post(
        "/status/tags/alarm_lamp",
        data={"csrf": csrf_of(html), "value": "true"},
        headers={"Accept": "application/json"},
    )
    assert response.status == 200 and (await response.json())["quality"] == "Good"
    assert writes.written == [("alarm_lamp", True, "alice", "status-page")]


async def test_an_observer_sees_no_controls(client: TestClient[Any, Any]) -> None:
    html = await sign_in(client, "olga")
    assert "signed in as olga" in html
    assert 'class="write"' not in html and "<th>switch</th>" not in html


@pytest.mark.parametrize(
    ("csrf", "origin"),
    [("", None), ("forged", None), (None, "http://evil.example")],
    ids=["no token", "wrong token", "another origin"],
)
async def test_a_forged_write_is_refused(
    client: TestClient[Any, Any], writes: RecordingWrites, csrf: str | None, origin: str | None
) -> None:
    html = await sign_in(client, "alice")
    headers = {"Accept": "application/json", **({"Origin": origin} if origin else {})}
    data = {"csrf": csrf_of(html) if csrf is None else csrf, "value": "true"}
    response = await client.post("/status/tags/alarm_lamp", data=data, headers=headers)
    assert response.status == 403
    assert writes.written == []


async def test_writes_need_a_session_not_just_credentials(
    client: TestClient[Any, Any], writes: RecordingWrites
) -> None:
    response = await client.post("/status/tags/alarm_lamp", data={"value": "true"}, headers=OPERATOR)
    assert response.status == 403
    assert writes.written == []


async def test_signing_out_ends_the_session(client: TestClient[Any, Any]) -> None:
    html = await sign_in(client, "alice")
    response = await client.post(
        "/status/logout", data={"csrf": csrf_of(html)}, headers=BROWSER, allow_redirects=False
    )
    assert response.status == 303 and response.headers["Location"] == "/status/login"
    again = await client.get("/", headers=BROWSER, allow_redirects=False)
    assert again.status == 303


async def test_the_health_comes_also_while_tags_change_all_the_time(
    client: TestClient[Any, Any], status: StoreStatus, monkeypatch: pytest.MonkeyPatch
) -> None:
    from edge_agent.status_page import events

    monkeypatch.setattr(events, "STATUS_EVERY_S", 0.5)
    response = await client.get("/status/events", headers=OPERATOR)
    await next_event(response)
    await next_event(response)

    async def keep_changing() -> None:
        step = 0
        while True:
            step += 1
            status.store.publish(Reading("motor_temperature", float(step)))
            await asyncio.sleep(0.01)

    changing = asyncio.create_task(keep_changing())
    try:
        kinds = []
        while "status" not in kinds:
            kinds.append((await next_event(response))[0])
    finally:
        changing.cancel()
    assert "tags" in kinds
    response.close()


async def test_an_observer_signed_in_is_refused_a_write_all_the_same(
    client: TestClient[Any, Any], writes: RecordingWrites
) -> None:
    html = await sign_in(client, "olga")
    response = await client.post(
        "/status/tags/alarm_lamp",
        data={"csrf": csrf_of(html), "value": "true"},
        headers={"Accept": "application/json"},
    )
    assert response.status == 403
    assert writes.written == []
