"""Coalescing a device's points into the fewest read requests."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from .codec import register_count

MAX_REGISTERS_PER_READ = 125  # Modbus application protocol limit for FC 3 and 4


class PlannedPoint(Protocol):
    name: str
    kind: str
    address: int
    type: str
    word_order: str
    scale: float
    offset: float


@dataclass(frozen=True)
class ReadRequest:
    kind: str
    address: int
    count: int
    points: tuple[PlannedPoint, ...]

    def registers_of(self, point: PlannedPoint, registers: Sequence[int]) -> list[int]:
        start = point.address - self.address
        return list(registers[start : start + register_count(point)])


def plan_reads(
    points: Sequence[PlannedPoint], *, max_registers: int = MAX_REGISTERS_PER_READ, max_gap: int = 8
) -> list[ReadRequest]:
    """Merge points of the same kind into requests no longer than ``max_registers``.

    Two neighbouring points share a request when the registers between them number at most ``max_gap``:
    reading a few unused registers is cheaper than another round trip.
    """
    requests: list[ReadRequest] = []
    for kind in sorted({p.kind for p in points}):
        group = sorted((p for p in points if p.kind == kind), key=lambda p: p.address)
        current: list[PlannedPoint] = []
        start = end = 0
        for point in group:
            point_end = point.address + register_count(point)
            if current and point.address - end <= max_gap and point_end - start <= max_registers:
                current.append(point)
                end = max(end, point_end)
                continue
            if current:
                requests.append(ReadRequest(kind, start, end - start, tuple(current)))
            current, start, end = [point], point.address, point_end
        if current:
            requests.append(ReadRequest(kind, start, end - start, tuple(current)))
    return requests
