"""What the status page costs the agent: 1,000 tags changing at 10 Hz, with no page open and with five.

The server process holds a tag store whose 1,000 tags all change ten times a second and serves the page
on the HTTP face's own application (anonymous reads, loopback). Five pages are five server-sent event
streams (what a browser's EventSource opens), read here in this process; the figures are the server's.

    python -m bench.status_page [--seconds S]
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import aiohttp
import psutil

from bench.startup import free_port

TAGS = 1_000
HZ = 10
PAGES = 5


class BenchStatus:
    """The status source of an agent whose tags all change at HZ."""

    def __init__(self) -> None:
        from edge_agent.tags import TagInfo
        from edge_agent.tagstore import TagStore

        self.store = TagStore(
            [TagInfo(f"tag{i}", f"source{i // 100}", "float", unit="degC") for i in range(TAGS)]
        )

    def diagnostics(self) -> dict[str, Any]:
        return {"status": self.status(), "sources": [], "models": []}

    def tags(self) -> Sequence[Any]:
        return self.store.tags

    def readings(self) -> Mapping[str, Any]:
        return self.store.snapshot()

    def identity(self) -> None:
        return None

    def model_outputs(self) -> Mapping[str, Sequence[str]]:
        return {}

    def status(self) -> str:
        return f"serving {TAGS} tags"

    def listen(self, listener: Callable[[Any], None]) -> Callable[[], None]:
        return self.store.listen(listener)

    async def history(self, tag: str, start_ns: int, end_ns: int) -> None:
        return None

    def threshold(self, tag: str) -> None:
        return None


async def serve(port: int) -> None:
    from aas_core3 import types as aas
    from aiohttp import web

    from edge_agent.aas_api.auth import Authenticator
    from edge_agent.aas_api.live_shell import LiveShell
    from edge_agent.aas_api.results import error_response
    from edge_agent.aas_api.routes import build_app
    from edge_agent.opcua.security import LoginGuard
    from edge_agent.quality import Quality
    from edge_agent.status_page import StatusRoutes
    from edge_agent.tags import Reading

    status = BenchStatus()
    authenticator = Authenticator(None, LoginGuard(), anonymous_read=True)
    shell = LiveShell(aas.Environment(), status.store)
    routes = StatusRoutes(status, authenticator, shell.write)
    app = build_app(shell, middlewares=[authenticator.middleware(error_response)], root_page=routes.root_page)
    routes.attach(app)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    print("serving", flush=True)
    names = [info.name for info in status.store.tags]
    step = 0
    while True:
        step += 1
        stamp = time.time_ns()
        for i, name in enumerate(names):
            status.store.publish(Reading(name, step + i / 1000, Quality.Good, stamp))
        await asyncio.sleep(1 / HZ)


def measure(process: psutil.Process, seconds: float) -> tuple[float, float]:
    """CPU (% of a core) over ``seconds`` and RSS (MB) at the end."""
    before = process.cpu_times()
    time.sleep(seconds)
    after = process.cpu_times()
    cpu = (after.user + after.system - before.user - before.system) / seconds * 100
    return cpu, process.memory_info().rss / 2**20


async def watch(url: str, seconds: float, counts: list[int]) -> None:
    async with aiohttp.ClientSession() as session, session.get(url) as response:
        deadline = time.monotonic() + seconds
        async for line in response.content:
            counts[0] += len(line)
            if line.startswith(b"event: tags"):
                counts[1] += 1
            if time.monotonic() > deadline:
                break


async def pages(url: str, seconds: float) -> list[list[int]]:
    counts = [[0, 0] for _ in range(PAGES)]
    await asyncio.gather(*(watch(url, seconds, count) for count in counts))
    return counts


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--serve", type=int)
    args = parser.parse_args()
    if args.serve:
        asyncio.run(serve(args.serve))
        return
    port = free_port()
    server = psutil.Popen([sys.executable, "-m", "bench.status_page", "--serve", str(port)])
    try:
        time.sleep(4)  # imports and the first rounds
        idle_cpu, idle_rss = measure(server, args.seconds)
        url = f"http://127.0.0.1:{port}/status/events"
        loop = asyncio.new_event_loop()
        watching = loop.run_in_executor(None, lambda: asyncio.run(pages(url, args.seconds + 2)))
        time.sleep(1)
        busy_cpu, busy_rss = measure(server, args.seconds)
        counts = loop.run_until_complete(watching)
        loop.close()
    finally:
        server.terminate()
        server.wait()
    updates = sum(count[1] for count in counts) / PAGES / (args.seconds + 2)
    kilobytes = sum(count[0] for count in counts) / PAGES / (args.seconds + 2) / 1024
    print(f"\nstatus page: {TAGS:,} tags changing at {HZ} Hz, {PAGES} pages open (server-sent event streams)")
    print(f"{'':<34} {'CPU % core':>10} {'RSS MB':>8}")
    print(f"{'no page open':<34} {idle_cpu:>10.1f} {idle_rss:>8.1f}")
    print(f"{f'{PAGES} pages open':<34} {busy_cpu:>10.1f} {busy_rss:>8.1f}")
    print(f"{'the pages add':<34} {busy_cpu - idle_cpu:>+10.1f} {busy_rss - idle_rss:>+8.1f}")
    print(f"each page: {updates:.1f} updates/s, {kilobytes:.0f} KB/s (every tag at most {4} times a second)")


if __name__ == "__main__":
    main()
