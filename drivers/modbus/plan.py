"""Which reads fetch a device's points: neighbouring points of one table share a request."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from .config import MAX_BITS_PER_READ, MAX_REGISTERS_PER_READ, ModbusDevice
from .point_config import ModbusPoint

if TYPE_CHECKING:
    from .config import ModbusSourceConfig

FUNCTION_CODES = {"coil": 1, "discrete": 2, "holding": 3, "input": 4}
BITS_PER_REGISTER = 16
_TABLE_ORDER = ("coil", "discrete", "holding", "input")


@dataclass(frozen=True, slots=True)
class ReadRequest:
    """One read: ``count`` registers (or bits) of table ``kind`` from ``address``, holding ``points``."""

    kind: str
    address: int
    count: int
    points: tuple[ModbusPoint, ...]

    @property
    def function_code(self) -> int:
        return FUNCTION_CODES[self.kind]

    @property
    def last_address(self) -> int:
        return self.address + self.count - 1

    def values_of(self, point: ModbusPoint, values: Sequence[int] | Sequence[bool]) -> list[int] | list[bool]:
        """The point's registers (or its one bit) out of the values this request read."""
        start = point.address - self.address
        return list(values[start : start + point.register_count])

    def split(self) -> list[ReadRequest]:
        """One request per register span of the points, for devices that refuse reads across gaps.

        Bit points of the same register stay in one request.
        """
        # A gap of -1 lets only points that share a register join a request.
        ordered = sorted(self.points, key=lambda p: (p.address, p.last_address))
        return _merge(self.kind, ordered, self.count, gap=-1)


def plan_reads(
    points: Sequence[ModbusPoint],
    *,
    max_registers: int = MAX_REGISTERS_PER_READ,
    max_bits: int = MAX_BITS_PER_READ,
    max_gap: int = 8,
) -> list[ReadRequest]:
    """The fewest reads that fetch ``points`` (of one device), table by table, in address order.

    Neighbouring points share a read while it stays within ``max_registers`` registers (``max_bits`` bits
    for coils and discrete inputs; never above the protocol's 125 and 2000) and the unused registers
    between them number at most ``max_gap`` (``max_gap`` * 16 bits): reading a few unused registers is
    cheaper than another round trip.
    """
    requests: list[ReadRequest] = []
    for kind in _TABLE_ORDER:
        table = [point for point in points if point.kind == kind]
        if not table:
            continue
        bit_table = kind in ("coil", "discrete")
        limit = min(max_bits, MAX_BITS_PER_READ) if bit_table else min(max_registers, MAX_REGISTERS_PER_READ)
        gap = max_gap * BITS_PER_REGISTER if bit_table else max_gap
        requests += _merge(kind, sorted(table, key=lambda p: (p.address, p.last_address)), limit, gap)
    return requests


def _merge(kind: str, table: list[ModbusPoint], limit: int, gap: int) -> list[ReadRequest]:
    requests: list[ReadRequest] = []
    current: list[ModbusPoint] = []
    start = end = 0  # the current request's span, end exclusive
    for point in table:
        if point.register_count > limit:
            raise ValueError(
                f"point '{point.name}' takes {point.register_count} registers, more than one read may hold "
                f"({limit})"
            )
        point_end = point.address + point.register_count
        if current and point.address - end <= gap and max(end, point_end) - start <= limit:
            current.append(point)
            end = max(end, point_end)
            continue
        if current:
            requests.append(ReadRequest(kind, start, end - start, tuple(current)))
        current, start, end = [point], point.address, point_end
    if current:
        requests.append(ReadRequest(kind, start, end - start, tuple(current)))
    return requests


def plan_device(device: ModbusDevice) -> list[ReadRequest]:
    """The reads of one poll cycle of ``device``, within its limits."""
    return plan_reads(
        device.points,
        max_registers=device.max_registers_per_request,
        max_bits=device.max_bits_per_request,
        max_gap=device.max_gap,
    )


def describe_plan(source: ModbusSourceConfig) -> str:
    """The reads of one poll cycle of every device of ``source``, one line each, under a summary."""
    devices = source.devices_resolved()
    plans = [(device, plan_device(device)) for device in devices]
    unit_width = max(len(str(device.unit)) for device in devices)
    span_width = max(
        (len(_span(request)) for _, plan in plans for request in plan),
        default=0,
    )
    lines = [
        f"source {source.name}: {_count(len(devices), 'device')}, "
        f"{_count(sum(len(plan) for _, plan in plans), 'request')} per cycle, "
        f"{_count(sum(len(device.points) for device in devices), 'point')}"
    ]
    for device, plan in plans:
        for request in plan:
            what = "bit" if request.kind in ("coil", "discrete") else "register"
            names = ", ".join(point.name for point in request.points)
            lines.append(
                f"  unit {device.unit:<{unit_width}}  FC{request.function_code:02d} read {request.kind:<8}  "
                f"{_span(request):<{span_width}} ({_count(request.count, what)}): {names}"
            )
    return "\n".join(lines)


def _span(request: ReadRequest) -> str:
    return str(request.address) if request.count == 1 else f"{request.address}..{request.last_address}"


def _count(number: int, word: str) -> str:
    return f"{number} {word}" + ("" if number == 1 else "s")
