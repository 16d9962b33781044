"""The AAS Part 2 HTTP face against a bare aiohttp handler returning the same bytes, in one run.

Each server runs alone in a process of its own on loopback (plain HTTP, anonymous reads: the demo's
settings), holding the demo's shell with every tag given a value. The load comes from this process:
CONCURRENCY clients on keep-alive connections, each sending its next GET as soon as the last is
answered, for WINDOW seconds per URL, while every float tag changes four times a second (the demo's
poll). Measured: requests a second, latency p50/p99, and the server's RSS
before the HTTP face was imported and started and after the load (what the face adds).

    python -m bench.aas_api [--window S] [--concurrency N]
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psutil

ROOT = Path(__file__).resolve().parent.parent
TARGET_RATIO = 0.7
CHANGE_HZ = 4.0
TARGET_ADDED_MB = 15.0


def b64(text: str) -> str:
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


def paths() -> dict[str, str]:
    from edge_agent.aas.ids import SubmodelIds
    from edge_agent.agent_config import load_config
    from edge_agent.demo import DEMO_CONFIG

    submodel = b64(SubmodelIds(load_config(DEMO_CONFIG).asset.id).operational_data)
    elements = f"/submodels/{submodel}/submodel-elements"
    return {
        "GET .../motor_temperature/$value": f"{elements}/motor_temperature/$value",
        "GET the Operational Data submodel": f"/submodels/{submodel}",
    }


# --- the server processes -------------------------------------------------------------------------------


async def serve(kind: str, port: int, bodies: Path) -> None:
    """The demo shell behind the agent's app, or a bare handler answering each path with the bytes the
    agent answered it with (``bodies``/<i>, in the order of ``paths()``), until stdin closes."""
    from edge_agent.aas import build_environment
    from edge_agent.agent_config import load_config
    from edge_agent.demo import DEMO_CONFIG
    from edge_agent.tags import Reading
    from edge_agent.tagstore import TagStore

    config = load_config(DEMO_CONFIG)
    store = TagStore(config.tag_infos())
    for info in config.tag_infos():
        value = {"float": 21.5, "int": 7, "bool": True, "string": "normal"}[info.data_type]
        store.publish(Reading(info.name, value))
    environment = build_environment(config, certificate_der=None, values=store.snapshot())
    # The agent has its OPC UA server loaded whether or not it serves HTTP: that is not the face's cost.
    import edge_agent.opcua.server  # noqa: F401

    before = psutil.Process().memory_info().rss

    from aiohttp import web

    from edge_agent.aas_api.auth import Authenticator
    from edge_agent.aas_api.live_shell import LiveShell
    from edge_agent.aas_api.results import error_response
    from edge_agent.aas_api.routes import build_app
    from edge_agent.opcua.security import LoginGuard

    shell = LiveShell(environment, store)
    authenticator = Authenticator(None, LoginGuard(), anonymous_read=True)
    agent_app = build_app(shell, middlewares=[authenticator.middleware(error_response)])
    if kind == "agent":
        app = agent_app
    else:
        app = web.Application()
        for index, path in enumerate(paths().values()):
            app.router.add_get(path, _constant((bodies / str(index)).read_bytes()))

    async def change() -> None:
        # As the demo's Modbus poll does: every tag a new value four times a second.
        step = 0
        while True:
            step += 1
            for info in config.tag_infos():
                if info.data_type == "float":
                    store.publish(Reading(info.name, 20.0 + step % 100 / 10))
            await asyncio.sleep(1 / CHANGE_HZ)

    changing = asyncio.create_task(change())
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    print(f"ready {before}", flush=True)
    while await asyncio.to_thread(sys.stdin.readline):
        pass
    changing.cancel()
    await runner.cleanup()


def _constant(body: bytes) -> Callable[[Any], Awaitable[Any]]:
    from aiohttp import web

    async def handler(request: web.Request) -> web.Response:
        return web.Response(body=body, content_type="application/json")

    return handler


# --- the load and the table ---------------------------------------------------------------------------


@dataclass
class Load:
    requests: int
    seconds: float
    latencies_ms: list[float]

    @property
    def rate(self) -> float:
        return self.requests / self.seconds

    def percentile(self, q: int) -> float:
        return statistics.quantiles(self.latencies_ms, n=100)[q - 1]


async def load(url: str, window: float, concurrency: int) -> Load:
    # Imported here, not at the top: the server processes run this module too, and their RSS before the
    # HTTP face is measured must not hold aiohttp already.
    import aiohttp

    latencies: list[float] = []
    connector = aiohttp.TCPConnector(limit=concurrency)
    async with aiohttp.ClientSession(connector=connector) as session:
        for _ in range(3):  # warm both sides up
            async with session.get(url) as response:
                assert response.status == 200, await response.text()
                await response.read()
        deadline = time.perf_counter() + window

        async def client() -> None:
            while (start := time.perf_counter()) < deadline:
                async with session.get(url) as response:
                    await response.read()
                latencies.append((time.perf_counter() - start) * 1000)

        started = time.perf_counter()
        await asyncio.gather(*(client() for _ in range(concurrency)))
        seconds = time.perf_counter() - started
    return Load(len(latencies), seconds, latencies)


async def _keep_answers(port: int, bodies: Path) -> None:
    import aiohttp

    async with aiohttp.ClientSession() as session:
        for index, path in enumerate(paths().values()):
            async with session.get(f"http://127.0.0.1:{port}{path}") as response:
                assert response.status == 200, await response.text()
                (bodies / str(index)).write_bytes(await response.read())


@dataclass
class ServerRun:
    loads: dict[str, Load]
    rss_before: int
    rss_after: int


async def run_server(kind: str, window: float, concurrency: int, bodies: Path) -> ServerRun:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bench.aas_api",
        "serve",
        kind,
        str(port),
        str(bodies),
        cwd=ROOT,
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
    )
    try:
        assert process.stdout is not None and process.stdin is not None
        async with asyncio.timeout(120):
            line = (await process.stdout.readline()).decode().split()
        if line[:1] != ["ready"]:
            raise RuntimeError(f"the {kind} server did not start")
        if kind == "agent":
            await _keep_answers(port, bodies)
        loads = {
            name: await load(f"http://127.0.0.1:{port}{path}", window, concurrency)
            for name, path in paths().items()
        }
        rss_after = psutil.Process(process.pid).memory_info().rss
        process.stdin.close()
        async with asyncio.timeout(30):
            await process.wait()
        return ServerRun(loads, int(line[1]), rss_after)
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()


async def run(args: argparse.Namespace) -> None:
    with tempfile.TemporaryDirectory() as directory:
        agent = await run_server("agent", args.window, args.concurrency, Path(directory))
        bare = await run_server("bare", args.window, args.concurrency, Path(directory))
    print(
        f"\nAAS Part 2 API (plain HTTP on loopback, {args.concurrency} keep-alive clients, "
        f"{args.window:.0f} s per row, tags changing at {CHANGE_HZ:.0f} Hz): the agent's app against a bare "
        "aiohttp handler of the same bytes"
    )
    print(f"{'request':<36} {'edge-agent':>22} {'bare aiohttp':>22} {'ratio':>7}")
    worst = float("inf")
    for name in agent.loads:
        ours, raw = agent.loads[name], bare.loads[name]
        ratio = ours.rate / raw.rate
        worst = min(worst, ratio)
        print(
            f"{name:<36} {ours.rate:>8,.0f}/s p99 {ours.percentile(99):>5.1f} ms "
            f"{raw.rate:>8,.0f}/s p99 {raw.percentile(99):>5.1f} ms {ratio:>7.2f}"
        )
    added = (agent.rss_after - agent.rss_before) / 2**20
    bare_added = (bare.rss_after - bare.rss_before) / 2**20
    print(
        f"{'RSS added by the HTTP server':<36} {added:>19.1f} MB {bare_added:>19.1f} MB "
        f"{added / bare_added:>7.2f}"
    )
    speed = "met" if worst >= TARGET_RATIO else "MISSED"
    memory = "met" if added <= TARGET_ADDED_MB else "MISSED"
    print(
        f"targets: >= {TARGET_RATIO} x the bare handler: {worst:.2f} ({speed}); "
        f"<= {TARGET_ADDED_MB:.0f} MB added: {added:.1f} MB ({memory})"
    )


def main(argv: list[str] | None = None) -> None:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["serve"]:
        asyncio.run(serve(argv[1], int(argv[2]), Path(argv[3])))
        return
    parser = argparse.ArgumentParser(prog="bench.aas_api", description=__doc__.splitlines()[0])
    parser.add_argument("--window", type=float, default=5.0, help="seconds of load per request kind")
    parser.add_argument("--concurrency", type=int, default=8, help="clients at once")
    args = parser.parse_args(argv)
    asyncio.run(run(args))


if __name__ == "__main__":
    main()
