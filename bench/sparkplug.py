"""The agent's Sparkplug B edge node against a bare aiomqtt publisher, in one run, each in its own process.

1. 1,000 float tags over 10 devices, every tag changing 10 times a second, to a subscriber on the same
   local mosquitto (plain loopback): latency from the reading's publication to the subscriber's receipt of
   the DDATA carrying it, and the CPU time and RSS of the publishing process. The agent's process holds a
   TagStore written by a loop (as drivers write readings) and the EdgeNode; the bare one builds the same
   payloads with ``data_payload`` and publishes them with aiomqtt, nothing else; once as aiomqtt leaves
   its socket and once with TCP_NODELAY set on it, which shows what Nagle's algorithm costs the latency.
2. Store and forward: the broker is stopped, 1,000 tags x 60 readings are published into the store (so
   into the outbox), the broker is started again, and the time from the node's connection being let
   through to the subscriber holding every historical reading is measured, with a check that every
   reading came, once, in order per tag.

Each reading's value is the wall-clock time it was published (seconds since the epoch, a double: exact to
a quarter of a microsecond), so the subscriber reads the latency off the value; one host, one clock.

    python -m bench.sparkplug [--window S] [--warmup S] [--replay-rounds N] [--profile DIR]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import cProfile
import logging
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path

import aiomqtt
import psutil

from edge_agent.config.sparkplug import SparkplugConfig
from edge_agent.quality import Quality
from edge_agent.sparkplug.mqtt import MqttConnection, MqttSettings, connect
from edge_agent.sparkplug.node import EdgeNode
from edge_agent.sparkplug.payloads import MetricDefinition, data_payload, next_seq
from edge_agent.sparkplug.sparkplug_b_pb2 import Payload
from edge_agent.tags import Reading, TagInfo
from edge_agent.tagstore import TagStore

ROOT = Path(__file__).resolve().parent.parent
MOSQUITTO = shutil.which("mosquitto") or shutil.which("mosquitto", path="/usr/sbin:/usr/local/sbin")
GROUP, NODE = "bench", "node1"
TAGS = 1_000
SOURCES = 10
CHANGE_HZ = 10.0
# Only guards against a hang: every wait ends on a message long before this on a healthy machine.
GUARD_S = 120.0
TARGET_P99_MS = 50.0
TARGET_CPU_RATIO = 1.3
TARGET_REPLAY_PER_S = 10_000.0


def tag_name(i: int) -> str:
    return f"tag{i}"


def tag_infos(tags: int, sources: int) -> list[TagInfo]:
    per_source = tags // sources
    return [TagInfo(tag_name(i), f"device{i // per_source}", "float") for i in range(tags)]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


class Broker:
    """A plain-only mosquitto on a loopback port, stopped and started again on the same port."""

    def __init__(self, directory: Path) -> None:
        if MOSQUITTO is None:
            raise RuntimeError("mosquitto is not installed: `make mosquitto-tools` installs Debian's package")
        self.port = free_port()
        self._config = directory / "mosquitto.conf"
        # Without TCP_NODELAY the broker holds back each write behind the subscriber's delayed ACK, which
        # adds up to 40 ms to any message after the first of a burst, whoever publishes it.
        self._config.write_text(
            f"listener {self.port} 127.0.0.1\nallow_anonymous true\npersistence false\nset_tcp_nodelay true\n"
        )
        self._popen: subprocess.Popen[bytes] | None = None

    @property
    def process(self) -> psutil.Process:
        assert self._popen is not None
        return psutil.Process(self._popen.pid)

    def start(self) -> None:
        assert MOSQUITTO is not None
        self._popen = subprocess.Popen(
            [MOSQUITTO, "-c", str(self._config)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            if self._popen.poll() is not None:
                raise RuntimeError(f"mosquitto exited with {self._popen.returncode}")
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
                return
            except OSError:
                time.sleep(0.01)
        raise TimeoutError("mosquitto did not listen within 20 s")

    def stop(self) -> None:
        if self._popen is not None and self._popen.poll() is None:
            self._popen.terminate()
            self._popen.wait(timeout=10)
        self._popen = None


# --- child processes: the node or the bare publisher, each alone in its process ---------------------


def node_config(port: int, state: Path, *, group: str = GROUP, node: str = NODE) -> SparkplugConfig:
    return SparkplugConfig.model_validate(
        {
            "brokers": [f"mqtt://127.0.0.1:{port}"],
            "group_id": group,
            "edge_node_id": node,
            "insecure": {"plaintext": True},
            "store_and_forward": {"database": str(state / "outbox.sqlite")},
        }
    )


class Gate:
    """Holds the node's next connection until the parent lets it through, so a replay is timed from then."""

    def __init__(self) -> None:
        self.open = asyncio.Event()
        self.open.set()

    def connector(self) -> Callable[[MqttSettings], AbstractAsyncContextManager[MqttConnection]]:
        @asynccontextmanager
        async def gated(settings: MqttSettings) -> AsyncIterator[MqttConnection]:
            await self.open.wait()
            async with connect(settings) as connection:
                yield connection

        return gated


@dataclass
class Rounds:
    done: int = 0
    late: int = 0


async def change_forever(change: Callable[[], Awaitable[None]], hz: float, rounds: Rounds) -> None:
    """Rounds on a fixed schedule; a round that starts late is counted, and the schedule does not slip."""
    loop = asyncio.get_running_loop()
    start = loop.time()
    while True:
        await change()
        rounds.done += 1
        delay = start + rounds.done / hz - loop.time()
        if delay <= 0:
            rounds.late += 1
        # Even a late round yields, or the publisher would starve the connection it writes to.
        await asyncio.sleep(max(delay, 0))


def publish_round(store: TagStore, names: list[str]) -> None:
    for name in names:
        now = time.time_ns()
        store.publish(Reading(name, now / 1e9, Quality.Good, now))


async def wait_until(condition: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + GUARD_S
    while not condition():
        if time.monotonic() > deadline:
            raise TimeoutError(f"{what} within {GUARD_S:.0f} s")
        await asyncio.sleep(0.005)


async def stdin_lines() -> AsyncIterator[str]:
    while line := await asyncio.to_thread(sys.stdin.readline):
        yield line.strip()


@dataclass(frozen=True)
class NodeShape:
    """One edge node of a benchmark: its id and tags."""

    group: str = GROUP
    node: str = NODE
    tags: int = TAGS
    sources: int = SOURCES


async def live_agent(port: int, state: Path, hz: float, shape: NodeShape) -> str:
    """The store written by a loop and the edge node publishing it, until stdin closes."""
    infos = tag_infos(shape.tags, shape.sources)
    store = TagStore(infos)
    node = EdgeNode(
        node_config(port, state, group=shape.group, node=shape.node),
        store,
        pki=state / "pki",
        bd_seq_path=state / "bdseq",
    )
    running = asyncio.create_task(node.run())
    await wait_until(lambda: node.online, "the node was not born")
    names = [info.name for info in infos]

    async def change() -> None:
        publish_round(store, names)

    rounds = Rounds()
    changing = asyncio.create_task(change_forever(change, hz, rounds))
    print("ready", flush=True)
    async for _ in stdin_lines():
        pass
    changing.cancel()
    running.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await running
    return f"rounds {rounds.done} late {rounds.late} published {node.published}"


async def live_bare(port: int, hz: float, *, nodelay: bool) -> str:
    """The same DDATA payloads, built and published by the raw libraries only, until stdin closes.

    With ``nodelay``, TCP_NODELAY on the socket, which paho leaves off: the messages of a round after the
    first then go out at once instead of waiting for the broker's (delayed) ACK of the first.
    """
    infos = tag_infos(TAGS, SOURCES)
    devices: dict[str, list[tuple[str, MetricDefinition]]] = {}
    for alias, info in enumerate(infos, start=1):
        devices.setdefault(info.source, []).append((info.name, MetricDefinition.from_tag(info, alias)))
    topics = {device: f"spBv1.0/{GROUP}/DDATA/{NODE}/{device}" for device in devices}
    seq = 0
    published = 0
    options = [(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)] if nodelay else []
    async with aiomqtt.Client(
        "127.0.0.1",
        port,
        identifier="bench-bare",
        protocol=aiomqtt.ProtocolVersion.V5,
        socket_options=options,
    ) as client:

        async def change() -> None:
            nonlocal seq, published
            changes: dict[str, list[tuple[MetricDefinition, Reading]]] = {}
            for device, metrics in devices.items():
                readings = changes[device] = []
                for name, definition in metrics:
                    now = time.time_ns()
                    readings.append((definition, Reading(name, now / 1e9, Quality.Good, now)))
            for device, readings in changes.items():
                seq = next_seq(seq)
                payload = data_payload(readings, seq=seq, timestamp_ms=time.time_ns() // 1_000_000)
                await client.publish(topics[device], payload)
                published += len(readings)

        rounds = Rounds()
        changing = asyncio.create_task(change_forever(change, hz, rounds))
        print("ready", flush=True)
        async for _ in stdin_lines():
            pass
        changing.cancel()
    return f"rounds {rounds.done} late {rounds.late} published {published}"


async def replay_agent(port: int, state: Path, rounds: int) -> str:
    """The node through an outage, driven by the parent's lines on stdin.

    offline: hold the next connection (answers "closed"); fill: once the node knows it is offline, publish
    ``rounds`` readings of every tag (answers "queued N SECONDS" once all are in the outbox); open: let the
    connection through. Ends when stdin closes.
    """
    infos = tag_infos(TAGS, SOURCES)
    names = [info.name for info in infos]
    total = rounds * len(names)
    store = TagStore(infos)
    for name in names:
        store.publish(Reading(name, 0.0))
    gate = Gate()
    node = EdgeNode(
        node_config(port, state),
        store,
        pki=state / "pki",
        bd_seq_path=state / "bdseq",
        connector=gate.connector(),
    )
    running = asyncio.create_task(node.run())
    await wait_until(lambda: node.online, "the node was not born")
    print("ready", flush=True)
    async for line in stdin_lines():
        if line == "offline":
            gate.open.clear()
            print("closed", flush=True)
        elif line == "fill":
            # Readings published while the connection is going are QoS 0 data lost with it (Sparkplug's
            # choice): the outage's readings start once the node knows it is offline.
            await wait_until(lambda: not node.online, "the node did not see the broker go")
            started = time.perf_counter()
            for round_ in range(1, rounds + 1):
                for name in names:
                    store.publish(Reading(name, float(round_)))
                await asyncio.sleep(0)
            await wait_until(lambda: node.diagnostics()["queued"] == total, "the outbox did not take it all")
            print(f"queued {total} {time.perf_counter() - started:.3f}", flush=True)
        elif line == "open":
            gate.open.set()
    running.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await running
    return f"queued {node.diagnostics()['queued']}"


def child_main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(prog="bench.sparkplug child")
    parser.add_argument("kind", choices=["agent", "bare", "replay"])
    parser.add_argument("port", type=int)
    parser.add_argument("state", type=Path)
    parser.add_argument("--hz", type=float, default=CHANGE_HZ)
    parser.add_argument("--rounds", type=int, default=60)
    parser.add_argument("--profile", type=Path)
    parser.add_argument("--nodelay", action="store_true")
    parser.add_argument("--tags", type=int, default=TAGS)
    parser.add_argument("--sources", type=int, default=SOURCES)
    parser.add_argument("--group", default=GROUP)
    parser.add_argument("--node", default=NODE)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.ERROR)
    if args.kind == "agent":
        shape = NodeShape(args.group, args.node, args.tags, args.sources)
        work = live_agent(args.port, args.state, args.hz, shape)
    elif args.kind == "bare":
        work = live_bare(args.port, args.hz, nodelay=args.nodelay)
    else:
        work = replay_agent(args.port, args.state, args.rounds)
    profiler = cProfile.Profile() if args.profile else None
    if profiler is not None:
        profiler.enable()
    summary = asyncio.run(work)
    if profiler is not None:
        profiler.disable()
        profiler.dump_stats(args.profile)
    print(summary, flush=True)


# --- the parent: broker, subscriber, measurements ---------------------------------------------------


class Child:
    """A child process of this module, spoken to by lines: stdin closed ends it and it prints a summary."""

    def __init__(self, process: asyncio.subprocess.Process) -> None:
        self._process = process
        self.ps = psutil.Process(process.pid)

    @classmethod
    @asynccontextmanager
    async def running(cls, *args: str) -> AsyncIterator[Child]:
        child = await cls.start(*args)
        try:
            yield child
        finally:
            await child.kill()

    @classmethod
    async def start(cls, *args: str) -> Child:
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "bench.sparkplug",
            "child",
            *args,
            cwd=ROOT,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
        )
        return cls(process)

    async def line(self) -> str:
        assert self._process.stdout is not None
        async with asyncio.timeout(GUARD_S):
            line = await self._process.stdout.readline()
        if not line:
            raise RuntimeError(f"the child exited with {await self._process.wait()}")
        return line.decode().strip()

    async def expect(self, word: str) -> str:
        line = await self.line()
        if not line.startswith(word):
            raise RuntimeError(f"the child said {line!r}, not {word}")
        return line

    async def send(self, line: str) -> None:
        assert self._process.stdin is not None
        self._process.stdin.write(f"{line}\n".encode())
        await self._process.stdin.drain()

    async def stop(self) -> str:
        assert self._process.stdin is not None
        self._process.stdin.close()
        summary = await self.line()
        async with asyncio.timeout(GUARD_S):
            await self._process.wait()
        return summary

    async def kill(self) -> None:
        """End the child if it is still there: a failed run must not leave it publishing."""
        if self._process.returncode is None:
            self._process.kill()
            await self._process.wait()

    def cpu_s(self) -> float:
        times = self.ps.cpu_times()
        return float(times.user + times.system)


@dataclass
class Subscriber:
    """Every DDATA of the group, decoded as it arrives."""

    recording: bool = False
    latencies_ms: list[float] = field(default_factory=list)
    historical: dict[int, list[float]] = field(default_factory=dict)
    historical_count: int = 0
    last_historical_at: float = 0.0
    births_at: float = 0.0
    changed: asyncio.Event = field(default_factory=asyncio.Event)

    def on_message(self, topic: str, data: bytes) -> None:
        received = time.time()
        kind = topic.split("/")[2]
        if kind == "NBIRTH":
            self.births_at = time.perf_counter()
            return
        if kind != "DDATA":
            return
        payload = Payload.FromString(data)
        for metric in payload.metrics:
            if metric.is_historical:
                self.historical.setdefault(metric.alias, []).append(metric.double_value)
                self.historical_count += 1
            elif self.recording:
                self.latencies_ms.append((received - metric.double_value) * 1000)
        if payload.metrics and payload.metrics[-1].is_historical:
            self.last_historical_at = time.perf_counter()
            self.changed.set()


@asynccontextmanager
async def subscribed(port: int) -> AsyncIterator[Subscriber]:
    subscriber = Subscriber()
    async with aiomqtt.Client("127.0.0.1", port, identifier="bench-subscriber") as client:
        await client.subscribe(f"spBv1.0/{GROUP}/#")

        async def collect() -> None:
            async for message in client.messages:
                payload = message.payload
                assert isinstance(payload, bytes)
                subscriber.on_message(message.topic.value, payload)

        task = asyncio.create_task(collect())
        try:
            yield subscriber
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task


@dataclass
class LiveRun:
    latencies_ms: list[float]
    cpu_s: float
    broker_cpu_s: float
    rss: int
    window_s: float
    summary: str

    def percentile(self, q: int) -> float:
        return statistics.quantiles(self.latencies_ms, n=100)[q - 1]

    @property
    def late(self) -> str:
        words = self.summary.split()
        return f"{words[3]}/{words[1]}"


async def live(
    kind: str, broker: Broker, state: Path, args: argparse.Namespace, *, nodelay: bool = False
) -> LiveRun:
    options = ["--profile", str(args.profile / f"{state.name}.prof")] if args.profile else []
    if nodelay:
        options.append("--nodelay")
    async with (
        subscribed(broker.port) as subscriber,
        Child.running(kind, str(broker.port), str(state), "--hz", str(CHANGE_HZ), *options) as child,
    ):
        await child.expect("ready")
        await asyncio.sleep(args.warmup)
        before, broker_before = child.cpu_s(), broker.process.cpu_times()
        subscriber.recording = True
        await asyncio.sleep(args.window)
        subscriber.recording = False
        after, broker_after = child.cpu_s(), broker.process.cpu_times()
        rss = child.ps.memory_info().rss
        summary = await child.stop()
    broker_cpu = (broker_after.user + broker_after.system) - (broker_before.user + broker_before.system)
    return LiveRun(subscriber.latencies_ms, after - before, broker_cpu, rss, args.window, summary)


@dataclass
class ReplayRun:
    readings: int
    fill_s: float
    replay_s: float
    births_to_last_s: float
    received: int
    in_order: bool
    rss: int


async def replay(broker: Broker, state: Path, args: argparse.Namespace) -> ReplayRun:
    options = ["--profile", str(args.profile / "replay.prof")] if args.profile else []
    async with Child.running(
        "replay", str(broker.port), str(state), "--rounds", str(args.replay_rounds), *options
    ) as child:
        await child.expect("ready")
        await child.send("offline")
        await child.expect("closed")
        broker.stop()
        await child.send("fill")
        _, total, fill_s = (await child.expect("queued")).split()
        readings = int(total)
        broker.start()
        async with subscribed(broker.port) as subscriber:
            await child.send("open")
            opened = time.perf_counter()
            async with asyncio.timeout(GUARD_S):
                while subscriber.historical_count < readings:
                    subscriber.changed.clear()
                    await subscriber.changed.wait()
            # Anything sent twice would show up as more than expected: wait a moment for it.
            await asyncio.sleep(0.5)
            rss = child.ps.memory_info().rss
        await child.stop()
    expected = [float(round_) for round_ in range(1, args.replay_rounds + 1)]
    in_order = len(subscriber.historical) == TAGS and all(
        values == expected for values in subscriber.historical.values()
    )
    return ReplayRun(
        readings,
        float(fill_s),
        subscriber.last_historical_at - opened,
        subscriber.last_historical_at - subscriber.births_at,
        subscriber.historical_count,
        in_order,
        rss,
    )


def print_live(bare: LiveRun, nodelay: LiveRun, agent: LiveRun, args: argparse.Namespace) -> None:
    print(
        f"\nSparkplug B: {TAGS:,} float tags over {SOURCES} devices, each changing at {CHANGE_HZ:.0f} Hz, "
        f"to a subscriber on a local mosquitto; {args.window:.0f} s measured after {args.warmup:.0f} s"
    )
    print(
        "latency: the reading's publication to the subscriber's receipt of its DDATA; CPU, RSS: the "
        "publishing process; bare: aiomqtt publishing the payloads of data_payload, nothing else; "
        "TCP_NODELAY: set on its socket, as the node does (paho leaves Nagle's algorithm on)"
    )
    print(
        f"{'':<26} {'p50 ms':>7} {'p99 ms':>7} {'max ms':>7} {'metrics/s':>10} {'CPU s':>6} {'CPU %':>6} "
        f"{'RSS MB':>7} {'broker %':>9} {'late rounds':>12}"
    )
    for name, run in (
        ("bare aiomqtt publisher", bare),
        ("the same, TCP_NODELAY", nodelay),
        ("edge-agent node", agent),
    ):
        print(
            f"{name:<26} {run.percentile(50):>7.1f} {run.percentile(99):>7.1f} {max(run.latencies_ms):>7.1f} "
            f"{len(run.latencies_ms) / run.window_s:>10.0f} {run.cpu_s:>6.2f} "
            f"{100 * run.cpu_s / run.window_s:>6.1f} {run.rss / 2**20:>7.1f} "
            f"{100 * run.broker_cpu_s / run.window_s:>9.1f} {run.late:>12}"
        )
    for name, reference in (("edge-agent / bare", bare), ("edge-agent / TCP_NODELAY", nodelay)):
        print(
            f"{name:<26} {agent.percentile(50) / reference.percentile(50):>7.2f} "
            f"{agent.percentile(99) / reference.percentile(99):>7.2f} {'':>7} "
            f"{len(agent.latencies_ms) / len(reference.latencies_ms):>10.2f} "
            f"{agent.cpu_s / reference.cpu_s:>6.2f} {'':>6} {agent.rss / reference.rss:>7.2f}"
        )
    # The node sets TCP_NODELAY on its socket: the like-for-like publisher is the second.
    p99, ratio = agent.percentile(99), agent.cpu_s / nodelay.cpu_s
    print(
        f"targets: p99 <= {TARGET_P99_MS:.0f} ms: {p99:.1f} ms ({_verdict(p99 <= TARGET_P99_MS)}); "
        f"CPU <= {TARGET_CPU_RATIO} x the same publisher: {ratio:.2f} ({_verdict(ratio <= TARGET_CPU_RATIO)})"
    )


def _verdict(met: bool) -> str:
    return "met" if met else "MISSED"


def print_replay(run: ReplayRun) -> None:
    rate = run.readings / run.replay_s
    print(
        f"\nSparkplug B store and forward: {run.readings:,} readings ({TAGS:,} tags x "
        f"{run.readings // TAGS}) published while the broker was down, replayed as historical DDATA once "
        "it is back"
    )
    fill_rate = run.readings / run.fill_s
    print(f"{'into the outbox (store to committed)':<44} {run.fill_s:>7.2f} s {fill_rate:>10,.0f}/s")
    print(f"{'replay: connection let through to last':<44} {run.replay_s:>7.2f} s {rate:>10,.0f}/s")
    print(f"{'replay: NBIRTH received to last':<44} {run.births_to_last_s:>7.2f} s")
    print(
        f"{'received, every tag in order, once':<44} {run.received:>9,} {'yes' if run.in_order else 'NO':>11}"
    )
    print(f"{'node RSS after the replay':<44} {run.rss / 2**20:>7.1f} MB")
    lossless = run.in_order and run.received == run.readings
    print(
        f"targets: >= {TARGET_REPLAY_PER_S:,.0f} readings/s: {rate:,.0f} "
        f"({_verdict(rate >= TARGET_REPLAY_PER_S)}); nothing lost: {_verdict(lossless)}"
    )


async def run(args: argparse.Namespace) -> None:
    with tempfile.TemporaryDirectory() as directory:
        root = Path(directory)
        broker = Broker(root)
        broker.start()
        try:
            runs: dict[str, LiveRun] = {}
            for kind, name, nodelay in (
                ("bare", "bare", False),
                ("bare", "bare-nodelay", True),
                ("agent", "agent", False),
            ):
                state = root / name
                state.mkdir()
                runs[name] = await live(kind, broker, state, args, nodelay=nodelay)
            print_live(runs["bare"], runs["bare-nodelay"], runs["agent"], args)
            state = root / "replay"
            state.mkdir()
            print_replay(await replay(broker, state, args))
        finally:
            broker.stop()


def main(argv: list[str] | None = None) -> None:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["child"]:
        child_main(argv[1:])
        return
    parser = argparse.ArgumentParser(prog="bench.sparkplug", description=__doc__.splitlines()[0])
    parser.add_argument("--window", type=float, default=10.0, help="seconds measured per live phase")
    parser.add_argument(
        "--warmup", type=float, default=1.0, help="seconds before each live phase is measured"
    )
    parser.add_argument(
        "--replay-rounds", type=int, default=60, help="readings of every tag during the outage"
    )
    parser.add_argument(
        "--profile", type=Path, help="write a cProfile of each child process to this directory"
    )
    args = parser.parse_args(argv)
    if args.profile:
        args.profile.mkdir(parents=True, exist_ok=True)
    asyncio.run(run(args))


if __name__ == "__main__":
    main()
