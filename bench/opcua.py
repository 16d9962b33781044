"""The agent's OPC UA server against a bare asyncua server, in one run, each server in a process of its own.

1. Start and memory with 10, 1,000 and 10,000 tags: from the command to the port accepting connections,
   and RSS once serving. The bare server holds the same number of plain variables in folders of 100.
2. The same start and memory of the agent with 1,000 tags (unit, range, shell) for each
   opcua.address_space: full, standard and micro namespace 0.
3. 1,000 tags changing at 10 Hz with one client subscribed to all of them at a 100 ms publishing
   interval: notification latency (source timestamp to the client's receipt of the publish response;
   one host, one clock) and the CPU time of the server process; then the same with the garbage
   collector frozen once serving, as full collections over asyncua's large heap stall the server.
"""

from __future__ import annotations

import asyncio
import logging
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psutil
from asyncua import Client, ua
from asyncua.common.subscription import Subscription

from bench.opcua_server import APPLICATION_URI, RAW_NAMESPACE_URI, tag_name
from bench.startup import free_port
from edge_agent.identity import PkiLayout, ensure_application_certificate
from edge_agent.opcua import NAMESPACE_URI

ROOT = Path(__file__).resolve().parent.parent
STARTUP_TAGS = (10, 1_000, 10_000)
SETTLE_S = 1.0
ADDRESS_SPACE_TAGS = 1_000
CHANGING_TAGS = 1_000
CHANGE_HZ = 10
PUBLISHING_MS = 100
WARMUP_S = 2.0
WINDOW_S = 8.0
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


class ServerProcess:
    """A bench/opcua_server.py process: started at once, stopped by closing its stdin."""

    def __init__(self, kind: str, tags: int, pki: Path, *options: str) -> None:
        self.port = free_port()
        self._started = time.perf_counter()
        self._popen = subprocess.Popen(
            [sys.executable, "-m", "bench.opcua_server", kind, str(tags), str(self.port), str(pki), *options],
            cwd=ROOT,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        self.process = psutil.Process(self._popen.pid)

    @property
    def url(self) -> str:
        return f"opc.tcp://127.0.0.1:{self.port}"

    def wait_serving(self, timeout: float = 300.0) -> float:
        """Seconds from the command to the port accepting a connection."""
        deadline = time.perf_counter() + timeout
        while time.perf_counter() < deadline:
            if self._popen.poll() is not None:
                raise RuntimeError(f"the OPC UA server exited with {self._popen.returncode}")
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
                return time.perf_counter() - self._started
            except OSError:
                time.sleep(0.01)
        raise TimeoutError(f"the OPC UA server did not serve within {timeout:.0f} s")

    def stop(self) -> str:
        """What the server printed on its way out."""
        try:
            out, _ = self._popen.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            self._popen.kill()
            raise
        return out.strip()


def make_pki(directory: Path) -> Path:
    """The servers' PKI in ``directory``: made once beforehand, as on every start after a device's first."""
    pki = directory / "pki"
    ensure_application_certificate(
        PkiLayout(pki), application_uri=APPLICATION_URI, ip_addresses=["127.0.0.1"]
    )
    return pki


def start_and_memory(
    kind: str, tags: int, pki: Path, *options: str, settle_s: float = SETTLE_S
) -> tuple[float, int]:
    server = ServerProcess(kind, tags, pki, *options)
    try:
        serving = server.wait_serving()
        time.sleep(settle_s)
        rss = server.process.memory_info().rss
    finally:
        server.stop()
    return serving, rss


@dataclass
class ChangeRun:
    latencies_ms: list[float]
    cpu_s: float
    rounds: int
    late: int

    def percentile(self, q: int) -> float:
        return statistics.quantiles(self.latencies_ms, n=100)[q - 1]


class ArrivalClock(Subscription):
    """A subscription that notes how long after its source timestamp each notification arrived.

    The time is taken as the publish response is handed over, before asyncua would give each item a
    task of its own: the latency is the server's and the wire's, not the client's dispatch.
    """

    def __init__(self, client: Client) -> None:
        params = ua.CreateSubscriptionParameters(
            RequestedPublishingInterval=PUBLISHING_MS,
            RequestedLifetimeCount=10_000,
            RequestedMaxKeepAliveCount=client.get_keepalive_count(PUBLISHING_MS),
            MaxNotificationsPerPublish=0,
            PublishingEnabled=True,
        )
        super().__init__(client.uaclient.session, params)
        self.recording = False
        self.latencies_ns: list[int] = []

    async def publish_callback(self, publish_result: ua.PublishResult) -> None:
        received_ns = time.time_ns()
        self.last_publish_at = time.monotonic()
        if not self.recording:
            return
        for notification in publish_result.NotificationMessage.NotificationData or ():
            for item in getattr(notification, "MonitoredItems", ()):
                self.latencies_ns.append(received_ns - _ns(item.Value.SourceTimestamp))


def _ns(stamp: datetime) -> int:
    if stamp.tzinfo is None:
        stamp = stamp.replace(tzinfo=UTC)
    return (stamp - _EPOCH) // timedelta(microseconds=1) * 1000


async def subscribe_all(server: ServerProcess, namespace_uri: str) -> tuple[list[float], float]:
    async with Client(server.url) as client:
        ns = await client.get_namespace_index(namespace_uri)
        nodes = [client.get_node(ua.NodeId(tag_name(i), ns)) for i in range(CHANGING_TAGS)]
        clock = ArrivalClock(client)
        await clock.init()
        results = await clock.subscribe_data_change(nodes, queuesize=10)
        refused = [r for r in results if isinstance(r, ua.StatusCode)]
        if refused:
            raise RuntimeError(f"{len(refused)} monitored items refused: {refused[0]}")
        await asyncio.sleep(WARMUP_S)
        before = server.process.cpu_times()
        clock.recording = True
        await asyncio.sleep(WINDOW_S)
        clock.recording = False
        after = server.process.cpu_times()
    cpu = (after.user + after.system) - (before.user + before.system)
    return [ns / 1e6 for ns in clock.latencies_ns], cpu


def changing(kind: str, pki: Path, *options: str) -> ChangeRun:
    server = ServerProcess(kind, CHANGING_TAGS, pki, "--change-hz", str(CHANGE_HZ), *options)
    try:
        server.wait_serving()
        latencies, cpu = asyncio.run(
            subscribe_all(server, NAMESPACE_URI if kind == "agent" else RAW_NAMESPACE_URI)
        )
    finally:
        summary = server.stop()
    _, rounds, _, late = summary.split()
    return ChangeRun(latencies, cpu, int(rounds), int(late))


def print_start_and_memory(pki: Path) -> None:
    print(
        f"\nOPC UA server start and memory: command to port accepting, RSS {SETTLE_S:.0f} s later; "
        "bare asyncua: a Server with plain Double variables in folders of 100"
    )
    print(
        f"{'tags':<24} {'bare s':>7} {'agent s':>8} {'agent-bare':>11} "
        f"{'bare MB':>8} {'agent MB':>9} {'ratio':>6}"
    )
    bare: dict[int, tuple[float, int]] = {}
    for label, tags, options in [(f"{n:,}", n, ()) for n in STARTUP_TAGS] + [
        ("10,000 from one source", 10_000, ("--one-source",)),
        ("10,000 with unit, range", 10_000, ("--unit-range",)),
        ("1,000 unit, range, shell", 1_000, ("--unit-range", "--shell")),
        ("10,000 unit, range, shell", 10_000, ("--unit-range", "--shell")),
    ]:
        if tags not in bare:
            bare[tags] = start_and_memory("raw", tags, pki)
        (bare_s, bare_rss), (agent_s, agent_rss) = bare[tags], start_and_memory("agent", tags, pki, *options)
        print(
            f"{label:<24} {bare_s:>7.2f} {agent_s:>8.2f} {agent_s - bare_s:>+11.2f} "
            f"{bare_rss / 2**20:>8.1f} {agent_rss / 2**20:>9.1f} {agent_rss / bare_rss:>6.2f}"
        )


def print_address_spaces(pki: Path) -> None:
    print(
        f"\nOPC UA server start and memory by opcua.address_space: {ADDRESS_SPACE_TAGS:,} tags with unit, "
        f"range and shell; command to port accepting, RSS {SETTLE_S:.0f} s later"
    )
    print(f"{'address_space':<24} {'agent s':>8} {'agent MB':>9} {'vs full':>8}")
    full_rss = 0
    for space in ("full", "standard", "micro"):
        started, rss = start_and_memory(
            "agent", ADDRESS_SPACE_TAGS, pki, "--unit-range", "--shell", "--address-space", space
        )
        full_rss = full_rss or rss
        print(f"{space:<24} {started:>8.2f} {rss / 2**20:>9.1f} {rss / full_rss:>8.2f}")


def print_changing(pki: Path) -> None:
    print(
        f"\n{CHANGING_TAGS:,} tags changing at {CHANGE_HZ} Hz, one client subscribed to all at a "
        f"{PUBLISHING_MS} ms publishing interval, {WINDOW_S:.0f} s measured after {WARMUP_S:.0f} s"
    )
    print(
        "latency: the round's source timestamp to the client's receipt; CPU: the server process; "
        "gc frozen: gc.freeze() once serving"
    )
    print(
        f"{'':<28} {'p50 ms':>7} {'p99 ms':>7} {'max ms':>7} {'notif/s':>8} {'CPU s':>6} {'CPU %':>6} "
        f"{'late rounds':>12}"
    )
    for suffix, options in (("", ()), (", gc frozen", ("--freeze-gc",))):
        raw, agent = changing("raw", pki, *options), changing("agent", pki, *options)
        for name, run in ((f"bare asyncua{suffix}", raw), (f"edge-agent{suffix}", agent)):
            print(
                f"{name:<28} {run.percentile(50):>7.1f} {run.percentile(99):>7.1f} "
                f"{max(run.latencies_ms):>7.1f} {len(run.latencies_ms) / WINDOW_S:>8.0f} {run.cpu_s:>6.2f} "
                f"{100 * run.cpu_s / WINDOW_S:>6.1f} {f'{run.late}/{run.rounds}':>12}"
            )
        print(
            f"{'edge-agent / bare asyncua':<28} {agent.percentile(50) / raw.percentile(50):>7.2f} "
            f"{agent.percentile(99) / raw.percentile(99):>7.2f} {'':>7} "
            f"{len(agent.latencies_ms) / len(raw.latencies_ms):>8.2f} {agent.cpu_s / raw.cpu_s:>6.2f}"
        )


def main() -> None:
    logging.getLogger("asyncua").setLevel(logging.ERROR)
    with tempfile.TemporaryDirectory() as state:
        pki = make_pki(Path(state))
        print_start_and_memory(pki)
        print_address_spaces(pki)
        print_changing(pki)


if __name__ == "__main__":
    main()
