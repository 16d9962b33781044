"""A fleet of edge nodes on one broker: what each gateway asks of the broker, and what the node costs it.

N processes, each a TagStore written by a loop (as drivers write readings) and the agent's EdgeNode, with
their own edge node id in one group, publish to one local mosquitto; a host application (one subscriber to
the whole group) receives everything. Measured over a window: CPU and RSS of each node process and of the
broker, messages and bytes per second at the host, and the broker's RSS before the nodes connected, so
its cost per connected node can be read off. The last lines scale the per-node figures to a fleet of
1,000 gateways: a figure on paper, from one broker on one machine, for sizing a cluster.

    python -m bench.sparkplug_fleet [--agents N] [--tags T] [--hz H] [--window S]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import statistics
import sys
import tempfile
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

import aiomqtt

from bench.sparkplug import Broker, Child

GROUP = "fleet"
FLEET_ON_PAPER = 1_000


@dataclass
class Traffic:
    messages: int = 0
    payload_bytes: int = 0
    births: int = 0


@asynccontextmanager
async def host(port: int) -> AsyncIterator[Traffic]:
    """A host application: every message of the group, counted."""
    traffic = Traffic()
    async with aiomqtt.Client("127.0.0.1", port, identifier="bench-fleet-host") as client:
        await client.subscribe(f"spBv1.0/{GROUP}/#")

        async def count() -> None:
            async for message in client.messages:
                payload = message.payload
                assert isinstance(payload, bytes)
                traffic.messages += 1
                traffic.payload_bytes += len(payload)
                if "BIRTH" in message.topic.value:
                    traffic.births += 1

        task = asyncio.create_task(count())
        try:
            yield traffic
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task


@dataclass
class FleetRun:
    agents: int
    tags: int
    hz: float
    window_s: float
    node_cpu_s: list[float]
    node_rss: list[int]
    broker_cpu_s: float
    broker_rss_before: int
    broker_rss: int
    messages: int
    payload_bytes: int


async def fleet(args: argparse.Namespace) -> FleetRun:
    with tempfile.TemporaryDirectory() as directory:
        root = Path(directory)
        broker = Broker(root)
        broker.start()
        try:
            async with host(broker.port) as traffic, contextlib.AsyncExitStack() as stack:
                broker_rss_before = broker.process.memory_info().rss
                children: list[Child] = []
                for i in range(args.agents):
                    state = root / f"gw{i}"
                    state.mkdir()
                    child = await stack.enter_async_context(
                        Child.running(
                            "agent",
                            str(broker.port),
                            str(state),
                            "--hz",
                            str(args.hz),
                            "--tags",
                            str(args.tags),
                            "--sources",
                            str(args.sources),
                            "--group",
                            GROUP,
                            "--node",
                            f"gw{i}",
                        )
                    )
                    children.append(child)
                for child in children:
                    await child.expect("ready")
                await asyncio.sleep(args.warmup)
                before = [child.cpu_s() for child in children]
                broker_before = broker.process.cpu_times()
                messages, payload_bytes = traffic.messages, traffic.payload_bytes
                await asyncio.sleep(args.window)
                after = [child.cpu_s() for child in children]
                broker_after = broker.process.cpu_times()
                messages, payload_bytes = traffic.messages - messages, traffic.payload_bytes - payload_bytes
                node_rss = [child.ps.memory_info().rss for child in children]
                broker_rss = broker.process.memory_info().rss
                for child in children:
                    await child.stop()
        finally:
            broker.stop()
    broker_cpu = (broker_after.user + broker_after.system) - (broker_before.user + broker_before.system)
    return FleetRun(
        args.agents,
        args.tags,
        args.hz,
        args.window,
        [a - b for a, b in zip(after, before, strict=True)],
        node_rss,
        broker_cpu,
        broker_rss_before,
        broker_rss,
        messages,
        payload_bytes,
    )


def print_fleet(run: FleetRun) -> None:
    per_node_metrics = run.tags * run.hz
    print(
        f"\nSparkplug B fleet: {run.agents} edge nodes of {run.tags:,} tags each changing at {run.hz:g} Hz "
        f"({per_node_metrics:,.0f} metrics/s a node), one host subscribed to the group, one local mosquitto; "
        f"{run.window_s:.0f} s measured"
    )
    cpu_percent = [100 * cpu / run.window_s for cpu in run.node_cpu_s]
    rss_mb = [rss / 2**20 for rss in run.node_rss]
    broker_percent = 100 * run.broker_cpu_s / run.window_s
    broker_growth = (run.broker_rss - run.broker_rss_before) / 2**10
    messages_per_s = run.messages / run.window_s
    bytes_per_s = run.payload_bytes / run.window_s
    print(f"{'':<34} {'mean':>10} {'max':>10}")
    print(
        f"{'edge node CPU (% of a core)':<34} {statistics.mean(cpu_percent):>10.2f} {max(cpu_percent):>10.2f}"
    )
    print(f"{'edge node RSS (MB)':<34} {statistics.mean(rss_mb):>10.1f} {max(rss_mb):>10.1f}")
    print(f"{'broker CPU (% of a core), all nodes':<34} {broker_percent:>10.2f}")
    print(f"{'broker RSS (MB), all nodes':<34} {run.broker_rss / 2**20:>10.1f}")
    print(f"{'broker RSS growth per node (KB)':<34} {broker_growth / run.agents:>10.0f}")
    print(f"{'messages/s at the host':<34} {messages_per_s:>10.0f}")
    print(f"{'payload KB/s at the host':<34} {bytes_per_s / 2**10:>10.1f}")
    scale = FLEET_ON_PAPER / run.agents
    print(
        f"on paper, {FLEET_ON_PAPER:,} such gateways: broker CPU {broker_percent * scale / 100:.1f} cores, "
        f"broker RSS growth {broker_growth * scale / 2**10:.0f} MB, {messages_per_s * scale:,.0f} messages/s "
        f"and {bytes_per_s * scale / 2**20:.1f} MB/s of payload in, as much out to each host"
    )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="bench.sparkplug_fleet", description=__doc__.splitlines()[0])
    parser.add_argument("--agents", type=int, default=10, help="edge node processes")
    parser.add_argument("--tags", type=int, default=100, help="tags of each node")
    parser.add_argument("--sources", type=int, default=2, help="Sparkplug devices of each node")
    parser.add_argument("--hz", type=float, default=1.0, help="changes of every tag a second")
    parser.add_argument("--window", type=float, default=20.0, help="seconds measured")
    parser.add_argument("--warmup", type=float, default=2.0, help="seconds before the window")
    args = parser.parse_args(sys.argv[1:] if argv is None else argv)
    print_fleet(asyncio.run(fleet(args)))


if __name__ == "__main__":
    main()
