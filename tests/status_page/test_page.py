"""The status page on the HTTP face: what it shows, to whom, and that it stays within its security policy.

Served by the API's own application over the full test config's tag store; the demo's page is checked
in tests/interop/test_aas_demo.py.
"""

from __future__ import annotations

import asyncio
import json
import re
import time
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from edge_agent.aas_api.routes import build_app
from edge_agent.history import HistoryStore
from edge_agent.quality import Quality
from edge_agent.status_page import IdentitySummary, StatusRoutes
from edge_agent.status_page.model import collect
from edge_agent.status_page.render import page
from edge_agent.tags import Reading, TagInfo
from edge_agent.tagstore import TagStore
from tests.aas_api.double import ROLE_HEADER, principal_middleware
from tests.support.history import history_config, running_store

HTML = {"Accept": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"}
HOSTILE = '<script>alert("x")</script>'


class StoreStatus:
    """A status source over a real tag store, with the diagnostics a runtime of two sources would give."""

    def __init__(self) -> None:
        self.store = TagStore(
            [
                TagInfo("motor_temperature", "pump_plc", "float", unit="degC"),
                TagInfo("alarm_lamp", "panel", "bool", writable=True, description=HOSTILE),
                TagInfo("anomaly_score", "pump_health", "float"),
                TagInfo("pump_health_invocations", "pump_health", "int"),
            ]
        )
        self.store.publish(Reading("motor_temperature", 61.234567, Quality.Good, 1_765_000_000_000_000_000))
        self.store.publish(Reading("alarm_lamp", None, Quality.BadNoCommunication))
        self.listeners = 0
        self.recorded: HistoryStore | None = None

    def diagnostics(self) -> dict[str, Any]:
        return {
            "versions": {"edge-agent": "9.9.9"},
            "uptime_s": 3723.0,
            "status": "serving 4 tags, 1 model, 1 sources down",
            "sources": [
                {
                    "name": "pump_plc",
                    "driver": "modbus",
                    "tags": 1,
                    "qualities": {"Good": 1},
                    "devices": [{"cycles": 40, "failed_cycles": 2}],
                },
                {"name": "panel", "driver": "gpio", "tags": 1, "qualities": {"BadNoCommunication": 1}},
            ],
            "models": [
                {
                    "name": "pump_health",
                    "state": "loaded",
                    "invocations": 12,
                    "overruns": 1,
                    "failures": 0,
                    "latency_ms": {"p50": 0.2, "p99": 0.75, "mean": 0.3, "max": 1.0},
                }
            ],
        }

    def tags(self) -> Sequence[TagInfo]:
        return self.store.tags

    def readings(self) -> Mapping[str, Reading]:
        return self.store.snapshot()

    def identity(self) -> IdentitySummary | None:
        return IdentitySummary("CN=edge-agent@test", datetime.now(UTC) + timedelta(days=20, hours=1), 2, 1, 0)

    def model_outputs(self) -> Mapping[str, Sequence[str]]:
        return {"pump_health": ["anomaly_score"]}

    def status(self) -> str:
        return "serving 4 tags, 1 model, 1 sources down"

    async def history(self, tag: str, start_ns: int, end_ns: int) -> Sequence[Reading] | None:
        if self.recorded is None or tag != "anomaly_score":
            return None
        return await self.recorded.read(tag, start_ns=start_ns, end_ns=end_ns)

    def threshold(self, tag: str) -> float | None:
        return 0.8 if tag == "anomaly_score" else None

    def listen(self, listener: Callable[[Reading], None]) -> Callable[[], None]:
        self.listeners += 1
        unlisten = self.store.listen(listener)

        def stop() -> None:
            self.listeners -= 1
            unlisten()

        return stop


@pytest.fixture
def status() -> StoreStatus:
    return StoreStatus()


@pytest.fixture
async def client(status: StoreStatus) -> AsyncIterator[TestClient[web.Request, web.Application]]:
    routes = StatusRoutes(status)
    app = build_app(_no_shell(), middlewares=[principal_middleware], root_page=routes.root_page)
    routes.register(app.router)
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
    response = await client.get("/", headers=HTML)
    assert response.status == 200
    assert response.content_type == "text/html"
    policy = response.headers["Content-Security-Policy"]
    assert "script-src 'self'" in policy and "default-src 'none'" in policy and "unsafe-inline" not in policy
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    html = await response.text()
    assert text_of(html, "status") == "serving 4 tags, 1 model, 1 sources down"
    assert "test-operator" in html
    assert "in 20 days" in text_of(html, "expiry")


async def test_the_page_shows_sources_models_and_every_tag(client: TestClient[Any, Any]) -> None:
    html = await (await client.get("/", headers=HTML)).text()
    assert re.search(
        r'data-source="pump_plc">.*?<td class="good">up</td><td>1</td><td>1</td><td>0</td>'
        r"<td>40</td><td>2</td>",
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
    html = await (await client.get("/", headers=HTML)).text()
    assert HOSTILE not in html
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;" in html
    assert re.findall(r"<script[^>]*>", html) == ['<script src="/status/static/page.js" defer>']
    assert not re.search(r"\sstyle=|\son[a-z]+=", html)


async def test_other_clients_at_the_root_get_the_shell_as_before(client: TestClient[Any, Any]) -> None:
    for accept in ("*/*", "application/json", "application/json, text/html"):
        response = await client.get("/", headers={"Accept": accept})
        assert response.content_type != "text/html", accept


@pytest.mark.parametrize(("role", "expected"), [("Observer", 403), ("Operator", 200)])
async def test_the_diagnostics_download_needs_the_diagnose_right(
    client: TestClient[Any, Any], role: str, expected: int
) -> None:
    response = await client.get("/status/diagnostics.json", headers={ROLE_HEADER: role})
    assert response.status == expected
    if expected == 200:
        assert "attachment" in response.headers["Content-Disposition"]
        assert (await response.json())["status"] == "serving 4 tags, 1 model, 1 sources down"
    html = await (await client.get("/", headers={**HTML, ROLE_HEADER: role})).text()
    assert ("diagnostics.json" in html) == (expected == 200)


async def test_assets_come_from_the_package_and_nothing_else_is_served(client: TestClient[Any, Any]) -> None:
    for name, kind in (("page.js", "text/javascript"), ("page.css", "text/css")):
        response = await client.get(f"/status/static/{name}")
        assert response.status == 200 and response.content_type == kind
        assert len(await response.read()) > 100
    for name in ("other.js", "..%2Fmodel.py", "%2e%2e/render.py"):
        assert (await client.get(f"/status/static/{name}")).status == 404


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
    response = await client.get("/status/events")
    assert response.status == 200 and response.content_type == "text/event-stream"
    assert await next_event(response) == ("status", {"status": "serving 4 tags, 1 model, 1 sources down"})
    for step in range(50):
        status.store.publish(
            Reading("motor_temperature", 70.0 + step, Quality.Good, 1_765_000_000_000_000_000)
        )
    status.store.publish(Reading("alarm_lamp", True, Quality.Good, 1_765_000_000_000_000_000))
    seen: dict[str, dict[str, Any]] = {}
    events = 0
    while seen.get("motor_temperature", {}).get("value") != "119" or "alarm_lamp" not in seen:
        kind, data = await next_event(response)
        if kind == "tags":
            events += 1
            seen.update({row["name"]: row for row in data})
    assert events <= 2, "fifty changes of a tag at once are one or two updates, not fifty"
    assert seen["alarm_lamp"] == {
        "name": "alarm_lamp",
        "value": "true",
        "quality": "Good",
        "severity": "good",
        "time": "2025-12-06T05:46:40.000Z",
        "number": 1.0,
        "time_ms": 1_765_000_000_000,
    }
    response.close()


async def test_a_closed_page_stops_listening(client: TestClient[Any, Any], status: StoreStatus) -> None:
    response = await client.get("/status/events")
    await next_event(response)
    assert status.listeners == 1
    response.close()
    async with asyncio.timeout(EVENT_DEADLINE_S):
        while status.listeners:
            status.store.publish(Reading("motor_temperature", 1.0))  # the write that finds the page gone
            await asyncio.sleep(0.3)


async def test_open_pages_are_bounded(client: TestClient[Any, Any], monkeypatch: pytest.MonkeyPatch) -> None:
    from edge_agent.status_page import events

    monkeypatch.setattr(events, "MAX_STREAMS", 2)
    opened = [await client.get("/status/events") for _ in range(2)]
    for response in opened:
        await next_event(response)
    assert (await client.get("/status/events")).status == 503
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
        answer = await (await client.get("/status/history/anomaly_score")).json()
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
    answer = await (await client.get("/status/history/motor_temperature")).json()
    assert answer["recorded"] is False and answer["points"] == [] and answer["threshold"] is None
    assert (await client.get("/status/history/no_such_tag")).status == 404
