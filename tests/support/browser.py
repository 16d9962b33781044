"""A real browser for the tests of the agent's web pages: Debian's Chromium driven by Playwright for Python.

One Chromium serves a whole test module (the ``browser`` fixture); each test gets a fresh, isolated
context with one page in it (the ``page`` fixture), so cookies, storage and the collected errors never
leak between tests. A room takes both fixtures into its conftest, or a test module imports them, as
``from tests.support.browser import browser, page`` with both names in ``__all__``.

Playwright runs in a thread of its own, on its own event loop, and every page method is a coroutine
that the test awaits in its own loop. So a test may serve the page under test from its own loop (an
aiohttp server started in the test) without a deadlock, and the module's browser outlives the
function-scoped loops that pytest-asyncio gives each test.

Besides reading, filling and clicking, a page collects what the browser reports on its console as an
error, the page's uncaught exceptions, and every Content-Security-Policy violation, so that a test can
assert the page ran cleanly under its policy (:meth:`BrowserPage.assert_clean`).

Chromium is Debian's package (``make browser-tools``): Playwright's own browser download needs a host
that this project's machines cannot reach, so ``playwright install`` is never run.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import threading
from collections.abc import Awaitable, Callable, Coroutine, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urlsplit

import pytest
from playwright.async_api import Browser as PlaywrightBrowser
from playwright.async_api import (
    BrowserContext,
    ConsoleMessage,
    Page,
    Playwright,
    ViewportSize,
    async_playwright,
    expect,
)

T = TypeVar("T")

CHROMIUM = Path("/usr/bin/chromium")
INSTALL_HINT = f"Chromium is not installed at {CHROMIUM}: `make browser-tools` installs Debian's package"
# Without the background-networking flags Chromium keeps trying to reach Google's hosts, and this
# closed network refuses those connections by the dozen. --no-sandbox because the tests run as root,
# where Chromium's sandbox will not start. Playwright gives each launch a new empty user data dir.
CHROMIUM_ARGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
)
# Generous for a CI machine with both cores busy; a healthy page answers in milliseconds.
DEFAULT_TIMEOUT_S = 10.0
# Starting and stopping the browser or a context is not the page's doing, so it gets its own bound.
LIFECYCLE_TIMEOUT_S = 60.0
VIEWPORT: ViewportSize = {"width": 1280, "height": 800}

# Added before any page script runs, in every frame, so no violation escapes it; reported through a
# binding because the DOM event carries the directive and the blocked resource as fields, which
# Chromium's console line only spells out in prose.
_CSP_BINDING = "__browserHarnessCspViolation"
_CSP_LISTENER = f"""
document.addEventListener("securitypolicyviolation", (event) => {{
    window.{_CSP_BINDING}({{
        directive: event.effectiveDirective || event.violatedDirective,
        blockedUri: event.blockedURI,
        sourceFile: event.sourceFile,
        line: event.lineNumber,
        sample: event.sample,
        disposition: event.disposition,
    }});
}}, true);
"""


@dataclass(frozen=True, slots=True)
class ConsoleError:
    """An error the page's console showed, or an exception the page's scripts did not catch."""

    text: str
    url: str
    line: int

    def __str__(self) -> str:
        where = f" ({self.url}:{self.line})" if self.url else ""
        return f"{self.text}{where}"


@dataclass(frozen=True, slots=True)
class CspViolation:
    """A ``securitypolicyviolation`` event: what the page's Content-Security-Policy refused."""

    directive: str
    blocked_uri: str
    source_file: str
    line: int
    sample: str
    disposition: str

    def __str__(self) -> str:
        sample = f" {self.sample!r}" if self.sample else ""
        return f"{self.directive} refused {self.blocked_uri or '?'}{sample} ({self.source_file}:{self.line})"


def _is_unrequested_favicon(message: ConsoleMessage) -> bool:
    # When a page names no icon, Chromium asks its origin for /favicon.ico on its own: that 404 says
    # nothing about the page.
    url = message.location.get("url", "") if message.location else ""
    return message.text.startswith("Failed to load resource") and urlsplit(url).path == "/favicon.ico"


class _LoopThread:
    """An event loop running in a daemon thread: where every Playwright object lives and is used."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self.loop.run_forever, name="browser-harness", daemon=True)
        self._thread.start()

    def submit(self, coroutine: Coroutine[Any, Any, T]) -> concurrent.futures.Future[T]:
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop)

    def run(self, coroutine: Coroutine[Any, Any, T], timeout: float = LIFECYCLE_TIMEOUT_S) -> T:
        """Blocks the calling thread: only for set-up and tear-down, never while a test serves pages."""
        return self.submit(coroutine).result(timeout)

    def stop(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(LIFECYCLE_TIMEOUT_S)
        if not self._thread.is_alive():
            self.loop.close()


class BrowserPage:
    """One page in a fresh browser context. Every method is awaited in the test's own event loop.

    ``within`` arguments are seconds; the ``wait_for_*`` methods raise :class:`AssertionError` when the
    page does not get there in time.
    """

    def __init__(self, loop_thread: _LoopThread, context: BrowserContext, page: Page) -> None:
        self._loop_thread = loop_thread
        self._context = context
        self._page = page
        # Appended on the browser's thread, read on the test's: list append and copy are atomic.
        self._console_errors: list[ConsoleError] = []
        self._csp_violations: list[CspViolation] = []
        page.on("console", self._on_console)
        page.on("pageerror", self._on_page_error)

    async def _call(self, coroutine: Coroutine[Any, Any, T]) -> T:
        return await asyncio.wrap_future(self._loop_thread.submit(coroutine))

    def _on_console(self, message: ConsoleMessage) -> None:
        if message.type != "error" or _is_unrequested_favicon(message):
            return
        location = message.location or {}
        self._console_errors.append(
            ConsoleError(message.text, str(location.get("url", "")), int(location.get("lineNumber", 0)))
        )

    def _on_page_error(self, error: Exception) -> None:
        self._console_errors.append(ConsoleError(f"uncaught: {error}", self._page.url, 0))

    @classmethod
    async def open(cls, loop_thread: _LoopThread, browser: PlaywrightBrowser) -> BrowserPage:
        """On the browser's thread: a page in a new context, which accepts self-signed certificates so
        that a page a test serves over HTTPS with a certificate of its own opens."""
        context = await browser.new_context(ignore_https_errors=True, viewport=VIEWPORT)
        context.set_default_timeout(DEFAULT_TIMEOUT_S * 1000)
        opened = cls(loop_thread, context, await context.new_page())
        await context.expose_binding(_CSP_BINDING, opened._on_csp_violation)
        await context.add_init_script(_CSP_LISTENER)
        return opened

    def _on_csp_violation(self, _source: Any, report: dict[str, Any]) -> None:
        self._csp_violations.append(
            CspViolation(
                directive=str(report.get("directive", "")),
                blocked_uri=str(report.get("blockedUri", "")),
                source_file=str(report.get("sourceFile", "")),
                line=int(report.get("line") or 0),
                sample=str(report.get("sample", "")),
                disposition=str(report.get("disposition", "")),
            )
        )

    @property
    def url(self) -> str:
        return self._page.url

    @property
    def console_errors(self) -> list[ConsoleError]:
        """Console errors (failed loads among them) and uncaught exceptions, oldest first."""
        return list(self._console_errors)

    @property
    def csp_violations(self) -> list[CspViolation]:
        """Everything the page's Content-Security-Policy refused, oldest first."""
        return list(self._csp_violations)

    def assert_clean(self) -> None:
        """No console error, no uncaught exception and no Content-Security-Policy violation so far."""
        problems = [f"console: {error}" for error in self._console_errors]
        problems += [f"CSP: {violation}" for violation in self._csp_violations]
        assert not problems, f"{self.url} was not clean:\n" + "\n".join(problems)

    async def goto(self, url: str, within: float = DEFAULT_TIMEOUT_S) -> None:
        """Opens ``url`` and waits for its load event; an HTTP error status fails the test."""
        response = await self._call(self._page.goto(url, timeout=within * 1000))
        assert response is not None, f"{url} gave no response"
        assert response.ok, f"{url} answered {response.status} {response.status_text}"

    async def text(self, selector: str) -> str:
        """The rendered text of the one element ``selector`` matches (two matches fail the test)."""
        return await self._call(self._page.locator(selector).inner_text())

    async def texts(self, selector: str) -> list[str]:
        """The rendered text of every element ``selector`` matches, in document order."""
        return await self._call(self._page.locator(selector).all_inner_texts())

    async def fill(self, selector: str, value: str) -> None:
        await self._call(self._page.locator(selector).fill(value))

    async def click(self, selector: str) -> None:
        await self._call(self._page.locator(selector).click())

    async def wait_for_text(self, selector: str, expected: str, within: float = DEFAULT_TIMEOUT_S) -> None:
        """Until the element's whole text is ``expected`` (whitespace at the ends aside)."""
        locator = self._page.locator(selector)
        await self._call(expect(locator).to_have_text(expected, timeout=within * 1000))

    async def wait_for_text_change(self, selector: str, old: str, within: float = DEFAULT_TIMEOUT_S) -> str:
        """Until the element's text is no longer ``old``; returns the new text."""
        locator = self._page.locator(selector)
        await self._call(expect(locator).not_to_have_text(old, timeout=within * 1000))
        return await self.text(selector)

    async def wait_for_count(self, selector: str, count: int, within: float = DEFAULT_TIMEOUT_S) -> None:
        """Until ``selector`` matches exactly ``count`` elements."""
        locator = self._page.locator(selector)
        await self._call(expect(locator).to_have_count(count, timeout=within * 1000))

    async def wait_for_condition(
        self, expression: str, arg: Any = None, within: float = DEFAULT_TIMEOUT_S, poll_s: float = 0.05
    ) -> Any:
        """Until the JavaScript function ``expression`` (of ``arg``) returns something truthy; returns it.

        Polls with ``evaluate`` rather than Playwright's ``wait_for_function``, which runs its predicate
        through ``eval`` inside the page, where a CSP without 'unsafe-eval' refuses it.
        """
        deadline = asyncio.get_running_loop().time() + within
        while True:
            value = await self.evaluate(expression, arg)
            if value:
                return value
            if asyncio.get_running_loop().time() >= deadline:
                raise AssertionError(f"{expression} not truthy within {within} s: last {value!r}")
            await asyncio.sleep(poll_s)

    async def evaluate(self, expression: str, arg: Any = None) -> Any:
        """Runs a JavaScript expression or function in the page (through the DevTools protocol, so the
        page's CSP does not apply to it) and returns its JSON-able result."""
        return await self._call(self._page.evaluate(expression, arg))

    async def screenshot(self, path: Path, full_page: bool = True) -> Path:
        """A PNG of the page (the whole scrollable page unless ``full_page`` is false) at ``path``."""
        path.parent.mkdir(parents=True, exist_ok=True)
        await self._call(self._page.screenshot(path=str(path), full_page=full_page))
        return path

    async def run(self, action: Callable[[Page], Awaitable[T]]) -> T:
        """``action(playwright_page)`` on the browser's thread, for what the methods above do not cover.

        The Playwright page belongs to that thread's loop, so it must be used only inside ``action``.
        """

        async def on_browser_thread() -> T:
            return await action(self._page)

        return await self._call(on_browser_thread())

    def close(self) -> None:
        self._loop_thread.run(self._context.close())


class Browser:
    """A running Chromium, one per test module: opens pages, each in its own context."""

    def __init__(self, loop_thread: _LoopThread, playwright: Playwright, browser: PlaywrightBrowser) -> None:
        self._loop_thread = loop_thread
        self._playwright = playwright
        self._browser = browser

    @property
    def version(self) -> str:
        return self._browser.version

    def new_page(self) -> BrowserPage:
        """A page in a new context of its own (see :meth:`BrowserPage.open`); close it when done."""
        return self._loop_thread.run(BrowserPage.open(self._loop_thread, self._browser))

    @contextmanager
    def page(self) -> Iterator[BrowserPage]:
        opened = self.new_page()
        try:
            yield opened
        finally:
            opened.close()


@contextmanager
def chromium() -> Iterator[Browser]:
    """Starts Debian's Chromium headless and stops it on exit. A missing Chromium fails the test."""
    if not CHROMIUM.exists():
        pytest.fail(INSTALL_HINT)
    loop_thread = _LoopThread()

    async def start() -> Browser:
        playwright = await async_playwright().start()
        try:
            launched = await playwright.chromium.launch(
                executable_path=str(CHROMIUM), args=list(CHROMIUM_ARGS), headless=True
            )
        except BaseException:
            await playwright.stop()
            raise
        return Browser(loop_thread, playwright, launched)

    async def stop(browser: Browser) -> None:
        try:
            await browser._browser.close()
        finally:
            await browser._playwright.stop()

    try:
        browser = loop_thread.run(start())
        try:
            yield browser
        finally:
            loop_thread.run(stop(browser))
    finally:
        loop_thread.stop()


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    """One headless Chromium for the whole test module."""
    with chromium() as started:
        yield started


@pytest.fixture
def page(browser: Browser) -> Iterator[BrowserPage]:
    """A fresh page in its own context; its console errors and CSP violations start empty."""
    with browser.page() as opened:
        yield opened
