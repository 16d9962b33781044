"""The Modbus driver polling 1,000 points on 10 devices, against a bare pymodbus client issuing the same
requests, in one run: requests/s, points/s, and the ratio. The devices run in a process of their own."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from pymodbus.client import AsyncModbusTcpClient

from bench.fleet_server import DEVICES
from drivers.modbus.config import ModbusSourceConfig
from drivers.modbus.device import read_table
from drivers.modbus.source import ModbusSource
from edge_agent.tagstore import TagStore

POINTS_PER_DEVICE = 100
ROUND_S = 1.0
ROUNDS = 6  # alternated, best of each: the machine's other load touches both sides alike


def device_points(device: int) -> list[dict[str, Any]]:
    """100 points of a realistic map: a block of words, a block of floats, inputs, scattered coils."""
    points: list[dict[str, Any]] = []
    for i in range(40):
        points.append({"name": f"d{device}_w{i}", "kind": "holding", "address": i, "scale": 0.1})
    for i in range(20):
        address = 100 + 2 * i
        points.append({"name": f"d{device}_f{i}", "kind": "holding", "address": address, "type": "float32"})
    for i in range(30):
        points.append({"name": f"d{device}_i{i}", "kind": "input", "address": 3 * i, "type": "int16"})
    for i in range(10):
        points.append({"name": f"d{device}_c{i}", "kind": "coil", "address": 2 * i})
    return points


def minimum_requests(points: list[dict[str, Any]], max_registers: int, max_gap: int) -> int:
    """Fewest reads that cover the points, computed independently of the driver's planner."""
    total = 0
    for kind in {p["kind"] for p in points}:
        spans = sorted(
            (p["address"], p["address"] + (2 if p.get("type") == "float32" else 1) - 1)
            for p in points
            if p["kind"] == kind
        )
        limit = 2000 if kind == "coil" else max_registers
        gap = max_gap * 16 if kind == "coil" else max_gap
        start, end = spans[0]
        total += 1
        for first, last in spans[1:]:
            if first - end - 1 <= gap and last - start + 1 <= limit:
                end = max(end, last)
            else:
                total += 1
                start, end = first, last
    return total


def sources(ports: list[int]) -> list[ModbusSource]:
    return [
        ModbusSource(
            ModbusSourceConfig.model_validate(
                {
                    "name": f"device{n}",
                    "driver": "modbus",
                    "host": "127.0.0.1",
                    "port": port,
                    "poll": "10ms",
                    "max_registers_per_request": 60 if n % 2 else 125,
                    "points": device_points(n),
                }
            )
        )
        for n, port in enumerate(ports)
    ]


async def agent_rate(srcs: list[ModbusSource], store: TagStore) -> tuple[int, float]:
    """Cycles as fast as they go: every device polled concurrently, each one request at a time."""
    done = 0
    deadline = time.perf_counter() + ROUND_S

    async def device_loop(src: ModbusSource) -> None:
        nonlocal done
        poller = src.pollers[0]
        while time.perf_counter() < deadline:
            await poller.poll_once(store)
            done += len(poller.plan)

    started = time.perf_counter()
    await asyncio.gather(*(device_loop(src) for src in srcs))
    return done, time.perf_counter() - started


DATATYPES = {
    "uint16": AsyncModbusTcpClient.DATATYPE.UINT16,
    "int16": AsyncModbusTcpClient.DATATYPE.INT16,
    "float32": AsyncModbusTcpClient.DATATYPE.FLOAT32,
}


async def raw_rate(srcs: list[ModbusSource], ports: list[int], *, convert: bool) -> tuple[int, float]:
    """The same requests from a bare client; with ``convert``, each point also converted by pymodbus."""
    done = 0
    deadline = time.perf_counter() + ROUND_S

    async def device_loop(src: ModbusSource, port: int) -> None:
        nonlocal done
        client = AsyncModbusTcpClient("127.0.0.1", port=port)
        await client.connect()
        plan = [
            (
                r.kind,
                r.address,
                r.count,
                [(p.address - r.address, p.register_count, DATATYPES.get(p.type), p.scale) for p in r.points],
            )
            for r in src.pollers[0].plan
        ]
        values: dict[int, object] = {}
        while time.perf_counter() < deadline:
            for kind, address, count, points in plan:
                response = await read_table(client, kind, address, count, 1)
                done += 1
                if not convert:
                    continue
                if kind == "coil":
                    for start, _, _, _ in points:
                        values[start] = response.bits[start]
                    continue
                registers = response.registers
                for start, size, datatype, scale in points:
                    raw = client.convert_from_registers(registers[start : start + size], datatype)
                    values[start] = raw * scale
        client.close()

    started = time.perf_counter()
    await asyncio.gather(*(device_loop(src, port) for src, port in zip(srcs, ports, strict=True)))
    return done, time.perf_counter() - started


async def run(ports: list[int]) -> None:
    srcs = sources(ports)
    store = TagStore(info for src in srcs for info in src.tag_infos())
    points = sum(len(src.pollers[0].points) for src in srcs)
    planned = sum(len(src.pollers[0].plan) for src in srcs)
    minimum = sum(
        minimum_requests(device_points(n), 60 if n % 2 else 125, src.pollers[0].device.max_gap)
        for n, src in enumerate(srcs)
    )
    await agent_rate(srcs, store)  # connect and warm up
    ours_rps = raw_rps = converted_rps = 0.0
    for _ in range(ROUNDS):
        done, seconds = await agent_rate(srcs, store)
        ours_rps = max(ours_rps, done / seconds)
        done, seconds = await raw_rate(srcs, ports, convert=False)
        raw_rps = max(raw_rps, done / seconds)
        done, seconds = await raw_rate(srcs, ports, convert=True)
        converted_rps = max(converted_rps, done / seconds)
    for src in srcs:
        src.link.close()
    print(f"\nmodbus TCP: {points} points on {len(srcs)} devices over loopback, best of {ROUNDS} rounds")
    print(f"requests per cycle: {planned} planned, {minimum} the coalescing minimum")
    rows = [
        ("edge-agent (read, decode, publish)", ours_rps),
        ("bare pymodbus (read only)", raw_rps),
        ("bare pymodbus (read + convert)", converted_rps),
    ]
    print(f"{'':<36} {'requests/s':>11} {'points/s':>11} {'edge-agent/this':>16}")
    for name, rate in rows:
        print(f"{name:<36} {rate:>11.0f} {rate * points / planned:>11.0f} {ours_rps / rate:>16.2f}")


def main() -> None:
    server = subprocess.Popen(
        [sys.executable, str(Path(__file__).with_name("fleet_server.py"))],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert server.stdout is not None and server.stdin is not None
    try:
        ports = [int(server.stdout.readline()) for _ in range(DEVICES)]
        asyncio.run(run(ports))
    finally:
        server.stdin.close()
        server.wait(10)


if __name__ == "__main__":
    main()
