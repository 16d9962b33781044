"""The browser harness (tests/support/browser.py) against a page it can be trusted on: a strict CSP, an
external script, a button and a server-sent event stream, served here by aiohttp on loopback. If these
pass, a page test that finds no console error and no CSP violation really had none."""

from __future__ import annotations

import asyncio
import ipaddress
import ssl
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from aiohttp import web
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from tests.support.browser import DEFAULT_TIMEOUT_S, BrowserPage, browser, page
from tests.support.waiting import eventually

__all__ = ["browser", "page"]

CSP = "default-src 'self'"
SSE_VALUES = ("17.5", "18.0", "18.25")
# Long enough apart that the values reach the page one by one, as a live stream's would.
SSE_INTERVAL_S = 0.05

INDEX = """<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><title>Harness page</title><script src="/app.js" defer></script></head>
<body>
<button id="increment" type="button">Count</button>
<output id="count">0</output>
<input id="name" type="text">
<output id="greeting"></output>
<ol id="readings"></ol>
<p id="stream">open</p>
</body>
</html>
"""

APP_JS = """
"use strict";
const count = document.getElementById("count");
document.getElementById("increment").addEventListener("click", () => {
    count.textContent = String(Number(count.textContent) + 1);
});
const greeting = document.getElementById("greeting");
document.getElementById("name").addEventListener("input", (event) => {
    greeting.textContent = `Hello, ${event.target.value}`;
});
const readings = document.getElementById("readings");
const events = new EventSource("/events");
events.addEventListener("message", (event) => {
    const item = document.createElement("li");
    item.textContent = event.data;
    readings.append(item);
});
// Closed by the page, not the server: EventSource reconnects to a stream the server ends.
events.addEventListener("end", () => {
    events.close();
    document.getElementById("stream").textContent = "closed";
});
"""

INLINE_SCRIPT_PAGE = """<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><title>Inline</title></head>
<body><p id="state">untouched</p>
<script>document.getElementById("state").textContent = "ran";</script>
</body>
</html>
"""

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@web.middleware
async def strict_csp(request: web.Request, handler: Handler) -> web.StreamResponse:
    response = await handler(request)
    response.headers["Content-Security-Policy"] = CSP
    return response


async def index(_request: web.Request) -> web.Response:
    return web.Response(text=INDEX, content_type="text/html")


async def app_js(_request: web.Request) -> web.Response:
    return web.Response(text=APP_JS, content_type="text/javascript")


async def inline(_request: web.Request) -> web.Response:
    return web.Response(text=INLINE_SCRIPT_PAGE, content_type="text/html")


async def events(request: web.Request) -> web.StreamResponse:
    response = web.StreamResponse(headers={"Content-Type": "text/event-stream", "Cache-Control": "no-store"})
    await response.prepare(request)
    for value in SSE_VALUES:
        await response.write(f"data: {value}\n\n".encode())
        await asyncio.sleep(SSE_INTERVAL_S)
    await response.write(b"event: end\ndata: \n\n")
    await response.write_eof()
    return response


def harness_app() -> web.Application:
    app = web.Application(middlewares=[strict_csp])
    app.router.add_get("/", index)
    app.router.add_get("/app.js", app_js)
    app.router.add_get("/events", events)
    app.router.add_get("/inline", inline)
    return app


def self_signed_context(directory: Path) -> ssl.SSLContext:
    """A server TLS context with a certificate for 127.0.0.1 that no browser trusts."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.now(UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), False
        )
        .sign(key, hashes.SHA256())
    )
    cert_file, key_file = directory / "cert.pem", directory / "key.pem"
    cert_file.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert_file, key_file)
    return context


async def serve(ssl_context: ssl.SSLContext | None = None) -> tuple[web.AppRunner, str]:
    runner = web.AppRunner(harness_app())
    await runner.setup()
    # Port 0: the kernel's free port, bound at once, so parallel workers cannot race for it.
    site = web.TCPSite(runner, "127.0.0.1", 0, ssl_context=ssl_context)
    await site.start()
    port = runner.addresses[0][1]
    scheme = "https" if ssl_context else "http"
    return runner, f"{scheme}://127.0.0.1:{port}"


@pytest.fixture
async def base_url() -> AsyncIterator[str]:
    runner, url = await serve()
    try:
        yield url
    finally:
        await runner.cleanup()


async def test_click_fill_and_server_sent_events_under_a_strict_csp(
    page: BrowserPage, base_url: str, tmp_path: Path
) -> None:
    await page.goto(f"{base_url}/")

    await page.click("#increment")
    assert await page.wait_for_text_change("#count", "0") == "1"
    await page.click("#increment")
    await page.wait_for_text("#count", "2")

    await page.fill("#name", "pump 7")
    await page.wait_for_text("#greeting", "Hello, pump 7")

    await page.wait_for_text("#stream", "closed")
    assert await page.texts("#readings li") == list(SSE_VALUES)
    assert await page.wait_for_condition("() => document.querySelectorAll('#readings li').length") == 3

    shot = await page.screenshot(tmp_path / "harness.png")
    assert shot.read_bytes().startswith(b"\x89PNG\r\n\x1a\n")
    assert shot.stat().st_size > 1000

    page.assert_clean()


async def test_an_inline_script_under_the_csp_is_a_violation(page: BrowserPage, base_url: str) -> None:
    await page.goto(f"{base_url}/inline")

    await page.wait_for_condition("() => document.readyState === 'complete'")
    assert await page.text("#state") == "untouched"
    [violation] = page.csp_violations
    assert violation.directive == "script-src-elem"
    assert violation.blocked_uri == "inline"
    assert any("Content Security Policy" in error.text for error in page.console_errors)
    with pytest.raises(AssertionError, match="CSP: script-src-elem refused inline"):
        page.assert_clean()


async def test_a_failed_load_and_an_uncaught_exception_are_console_errors(
    page: BrowserPage, base_url: str
) -> None:
    await page.goto(f"{base_url}/")
    await page.wait_for_text("#stream", "closed")

    await page.evaluate("() => { fetch('/missing'); setTimeout(() => { throw new Error('boom'); }); }")

    await eventually(lambda: len(page.console_errors) >= 2, within=DEFAULT_TIMEOUT_S)
    texts = [error.text for error in page.console_errors]
    assert any("404" in text for text in texts), texts
    assert any("uncaught" in text and "boom" in text for text in texts), texts
    assert page.csp_violations == []


async def test_a_self_signed_https_page_opens(page: BrowserPage, tmp_path: Path) -> None:
    runner, url = await serve(self_signed_context(tmp_path))
    try:
        await page.goto(f"{url}/")
        await page.click("#increment")
        await page.wait_for_text("#count", "1")
        await page.wait_for_text("#stream", "closed")
        page.assert_clean()
    finally:
        await runner.cleanup()


async def test_each_test_gets_a_fresh_page(page: BrowserPage) -> None:
    assert page.url == "about:blank"
    assert page.console_errors == []
    assert page.csp_violations == []
