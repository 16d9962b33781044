"""The demo's status page in a real browser (headless Chromium): it loads under its security policy, its
values change live, its plots draw, a click opens a tag's chart and the filter narrows the table."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.agent_process import PUMP, SERVING, demo_process
from tests.support.browser import BrowserPage, browser, page

__all__ = ["browser", "page"]

AAS_API = re.compile(r"AAS API \(IDTA-01002-3-0\): (http://\S+)/shells")
LIVE_S = 15  # the pump's values change every second or so; generous for two busy cores
TAG = 'tr[data-tag="motor_temperature"]'
DRAWN = """(selector) => {
  const canvas = document.querySelector(selector);
  if (!canvas) return false;
  const pixels = canvas.getContext("2d").getImageData(0, 0, canvas.width, canvas.height).data;
  return pixels.some((channel) => channel !== 0);
}"""


@pytest.fixture(scope="module")
def demo_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    agent = demo_process(tmp_path_factory.mktemp("demo-state"))
    try:
        agent.wait_for_line(SERVING, timeout=90)
        agent.wait_for_line(PUMP)
        yield agent.wait_for_line(AAS_API).group(1)
    finally:
        agent.stop()


async def test_the_status_page_is_live_and_clean(page: BrowserPage, demo_url: str, tmp_path: Path) -> None:
    await page.goto(demo_url + "/")
    assert (await page.text("#status")).startswith("serving 25 tags, 2 models")
    await page.wait_for_count("#tags tbody tr", 25)
    cycles = 'tr[data-source="pump_plc"] td:nth-child(9)'
    cycles_before = await page.text(cycles)
    before = await page.text(f"{TAG} .value")
    assert await page.wait_for_text_change(f"{TAG} .value", before, within=LIVE_S) != before
    await page.wait_for_condition(DRAWN, f"{TAG} canvas", within=LIVE_S)
    await page.wait_for_text_change(cycles, cycles_before, within=LIVE_S)  # the sources' health, live too
    await page.click(f"{TAG} canvas")
    await page.wait_for_text("#chart-title", "motor_temperature")
    await page.wait_for_condition(DRAWN, "#chart-canvas", within=LIVE_S)
    await page.click("#chart button")
    await page.fill("#filter", "motor")
    visible = await page.evaluate(
        "() => [...document.querySelectorAll('#tags tbody tr')].filter((row) => row.offsetParent).length"
    )
    assert 1 <= visible < 25
    shot = await page.screenshot(tmp_path / "status-page.png")
    assert shot.stat().st_size > 10_000
    page.assert_clean()
