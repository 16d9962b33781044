"""Soak: the demo plant at its full rate for a while, with a client subscribed to every tag.

    python bench/soak.py [--minutes 10] [--warm-up 60]

Prints a table: RSS growth after warm-up, file descriptors, threads and asyncio tasks at the start and the
end, Modbus poll cycles done against those the poll period asks for, and the gaps in what the subscribed
client received (a source timestamp of a polled tag more than two poll periods after the one before).
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import logging
import socket
import sys
import tempfile
from datetime import datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from asyncua import Client, ua

from edge_agent.agent_config import load_config
from edge_agent.demo import DEMO_CONFIG

TAGS_NAMESPACE = "urn:edge-agent:tags"
REPORT_PERIOD_S = 10.0
ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class Received:
    """Source timestamps per tag, as the subscription delivered them."""

    def __init__(self) -> None:
        self.stamps: dict[str, list[datetime]] = {}
        self.notifications = 0

    def datachange_notification(self, node: Any, value: Any, data: Any) -> None:
        self.notifications += 1
        stamp = data.monitored_item.Value.SourceTimestamp
        if stamp is not None:
            self.stamps.setdefault(node.nodeid.Identifier, []).append(stamp)


async def subscribe_all(url: str, received: Received) -> Client:
    client = Client(url)
    await client.connect()
    namespace = await client.get_namespace_index(TAGS_NAMESPACE)
    tags = [info.name for info in load_config(DEMO_CONFIG).tag_infos()]
    subscription = await client.create_subscription(100, received)
    await subscription.subscribe_data_change([client.get_node(ua.NodeId(tag, namespace)) for tag in tags])
    return client


def gaps(stamps: list[datetime], limit_s: float) -> int:
    return sum(1 for a, b in itertools.pairwise(stamps) if (b - a).total_seconds() > limit_s)


async def soak(minutes: float, warm_up_s: float, *, history: bool = True) -> None:
    url = f"opc.tcp://127.0.0.1:{free_port()}"
    with tempfile.TemporaryDirectory() as state:
        agent = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "bench.soak_agent",
            url,
            state,
            str(REPORT_PERIOD_S),
            *([] if history else ["--without-history"]),
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.DEVNULL,
            cwd=ROOT,
        )
        assert agent.stdout is not None and agent.stdin is not None
        samples: list[dict[str, Any]] = []
        first_sample = asyncio.Event()
        reader = asyncio.create_task(_read_samples(agent.stdout, samples, first_sample))
        await first_sample.wait()
        received = Received()
        client = await subscribe_all(url, received)
        await asyncio.sleep(minutes * 60)
        await client.disconnect()
        agent.stdin.close()
        await agent.wait()
        reader.cancel()
    _print_table(samples, received, minutes, warm_up_s)


async def _read_samples(
    stdout: asyncio.StreamReader, samples: list[dict[str, Any]], first: asyncio.Event
) -> None:
    while line := (await stdout.readline()).decode():
        if line.startswith("{"):
            samples.append(json.loads(line))
            first.set()


def _print_table(samples: list[dict[str, Any]], received: Received, minutes: float, warm_up_s: float) -> None:
    warm = next((s for s in samples if s["t"] >= warm_up_s), samples[0])
    first, last = samples[0], samples[-1]
    poll = last["poll_s"]
    elapsed = last["t"] - warm["t"]
    expected = elapsed / poll if poll else 0
    done = last["cycles"] - warm["cycles"]
    polled = received.stamps.get("motor_temperature", [])
    print(f"\nSoak: the demo plant for {minutes:g} min, a client subscribed to every tag at 100 ms")
    print(f"{'measure':<44} {'start':>12} {'after warm-up':>14} {'end':>12}")
    rss = [sample["rss"] / 2**20 for sample in (first, warm, last)]
    print(f"{'RSS MB':<44} {rss[0]:>12.1f} {rss[1]:>14.1f} {rss[2]:>12.1f}")
    for key in ("fds", "threads", "tasks"):
        print(f"{key:<44} {first[key]:>12} {warm[key]:>14} {last[key]:>12}")
    print(f"{'RSS growth after warm-up, MB':<44} {(last['rss'] - warm['rss']) / 2**20:>+40.2f}")
    print(f"{'Modbus poll cycles done / asked for after warm-up':<44} {done:>27} / {expected:.0f}")
    print(f"{'failed poll cycles':<44} {last['failed_cycles']:>40}")
    print(f"{'notifications received':<44} {received.notifications:>40}")
    print(f"{'gaps > 2 poll periods in motor_temperature':<44} {gaps(polled, 2 * poll):>40}")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--warm-up", type=float, default=60.0, help="seconds before RSS growth is counted")
    parser.add_argument("--without-history", action="store_true", help="the demo without its history store")
    args = parser.parse_args()
    logging.getLogger("asyncua").setLevel(logging.ERROR)
    asyncio.run(soak(args.minutes, args.warm_up, history=not args.without_history))


if __name__ == "__main__":
    main()
