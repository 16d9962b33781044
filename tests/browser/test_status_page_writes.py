"""Switching an output from the status page in a real browser: an Operator signs in with the form and
switches the alarm lamp (the write goes through the agent's own write path to the store's device, whose
answer comes back live); an Observer sees no switch."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from aas_core3 import types as aas
from aiohttp import web

from edge_agent.aas_api.auth import Authenticator
from edge_agent.aas_api.live_shell import LiveShell
from edge_agent.aas_api.results import error_response
from edge_agent.aas_api.routes import build_app
from edge_agent.opcua.security import LoginGuard
from edge_agent.quality import Quality
from edge_agent.status_page import StatusRoutes
from edge_agent.tags import Reading, TagValue
from tests.support.browser import BrowserPage, browser, page
from tests.support.status_page import PASSWORD, USERS, StoreStatus, users_file

__all__ = ["browser", "page"]

LAMP = 'tr[data-tag="alarm_lamp"]'


@pytest.fixture
async def served(tmp_path: Path) -> AsyncIterator[tuple[str, StoreStatus]]:
    status = StoreStatus()
    store = status.store

    async def lamp(tag: str, value: TagValue) -> Quality:
        store.publish(Reading(tag, value))  # the panel switched it and reports the new state
        return Quality.Good

    store.set_writer("alarm_lamp", lamp)
    authenticator = Authenticator(users_file(tmp_path), LoginGuard(), anonymous_read=False)
    shell = LiveShell(aas.Environment(), store)
    routes = StatusRoutes(status, authenticator, shell.write)
    app = build_app(shell, middlewares=[authenticator.middleware(error_response)], root_page=routes.root_page)
    routes.attach(app)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    try:
        yield f"http://127.0.0.1:{port}", status
    finally:
        await runner.cleanup()


async def sign_in(page: BrowserPage, url: str, role: str) -> None:
    await page.goto(url + "/")
    await page.wait_for_count("form.login", 1)
    await page.fill("input[name=user]", USERS[role])
    await page.fill("input[name=password]", PASSWORD)
    await page.click("form.login button")
    await page.wait_for_condition("() => document.getElementById('status') !== null")


async def test_an_operator_switches_the_alarm_lamp(
    page: BrowserPage, served: tuple[str, StoreStatus]
) -> None:
    url, status = served
    await sign_in(page, url, "Operator")
    assert "signed in as alice" in await page.text("header .meta")
    await page.wait_for_text(f"{LAMP} form button", "switch on")
    await page.click(f"{LAMP} form button")
    await page.wait_for_text(f"{LAMP} .value", "true")
    await page.wait_for_text(f"{LAMP} form button", "switch off")
    assert status.store.current("alarm_lamp").value is True
    page.assert_clean()


async def test_an_observer_sees_no_switch(page: BrowserPage, served: tuple[str, StoreStatus]) -> None:
    url, _ = served
    await sign_in(page, url, "Observer")
    assert "signed in as olga" in await page.text("header .meta")
    await page.wait_for_count("form.write", 0)
    page.assert_clean()
