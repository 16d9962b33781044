"""Polling one Modbus device (one unit id) behind a link, and publishing its points."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import struct
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from pymodbus.exceptions import ModbusException, ModbusIOException

from edge_agent.pacing import Backoff, Ticker
from edge_agent.quality import Quality
from edge_agent.tags import Reading, ReadingSink, TagValue, now_ns

from .answers import CheckedClient, WrongAnswer
from .codec import decoder, value_decoder
from .complaints import Complaints
from .config import ModbusDevice
from .link import Link, LinkDown
from .plan import ReadRequest, plan_reads

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class PointSlot:
    """One point's place in a read request's answer."""

    name: str
    start: int
    stop: int
    decode: Callable[[Any], TagValue]
    """Takes the point's one value for a ``single`` point, its slice of the answer otherwise."""
    deadband: float
    single: bool
    """One register or bit: ``start + 1 == stop``."""


# Modbus exception code -> the OPC UA status its points carry.
EXCEPTION_QUALITY = {
    1: Quality.BadConfigurationError,  # illegal function: the device has no such table
    2: Quality.BadConfigurationError,  # illegal data address: the config names registers it lacks
    3: Quality.BadOutOfRange,  # illegal data value
    4: Quality.BadDeviceFailure,  # server device failure
    6: Quality.BadDeviceFailure,  # server device busy
    10: Quality.BadNoCommunication,  # gateway path unavailable
    11: Quality.BadTimeout,  # gateway target device failed to respond
}
ILLEGAL_DATA_ADDRESS = 2
# Retries of a device that is down grow to at most this apart, so that its tags are Good again within
# about 2 s of it answering (pymodbus's own reconnect delay, switched off in link.py, doubles to 300 s).
MAX_BACKOFF_S = 1.5


class DeviceUnreachable(Exception):
    def __init__(self, quality: Quality, reason: str) -> None:
        super().__init__(reason)
        self.quality = quality


def exception_quality(response: Any) -> Quality:
    return EXCEPTION_QUALITY.get(getattr(response, "exception_code", 0), Quality.BadDeviceFailure)


async def read_table(client: Any, kind: str, address: int, count: int, unit: int) -> Any:
    if kind == "holding":
        return await client.read_holding_registers(address, count=count, device_id=unit)
    if kind == "input":
        return await client.read_input_registers(address, count=count, device_id=unit)
    if kind == "coil":
        return await client.read_coils(address, count=count, device_id=unit)
    return await client.read_discrete_inputs(address, count=count, device_id=unit)


def reader(request: ReadRequest, unit: int) -> Callable[[CheckedClient], Awaitable[Any]]:
    """``request``'s read as a function of the link's client, its table's method looked up once."""
    read = _READS[request.kind]
    address, count = request.address, request.count
    return lambda client: read(client, address, count=count, device_id=unit)


_READS = {
    "coil": CheckedClient.read_coils,
    "discrete": CheckedClient.read_discrete_inputs,
    "holding": CheckedClient.read_holding_registers,
    "input": CheckedClient.read_input_registers,
}


def response_values(request: ReadRequest, response: Any) -> list[Any]:
    if request.kind in ("coil", "discrete"):
        return list(response.bits[: request.count])
    registers: list[Any] = response.registers  # a fresh list for every answer; kept as it is
    return registers


def describe_read(request: ReadRequest) -> str:
    """'holding 0..11': the table and addresses of a read, for log lines."""
    return f"{request.kind} {request.address}..{request.last_address}"


class DevicePoller:
    """Reads a device's plan every ``poll``; while the device is down, retries with backoff and jitter."""

    def __init__(self, source_name: str, device: ModbusDevice, link: Link) -> None:
        self.source_name = source_name
        self.device = device
        self.link = link
        self.label = f"{source_name} unit {device.unit}"
        self.plan = plan_reads(
            device.points,
            max_registers=device.max_registers_per_request,
            max_bits=device.max_bits_per_request,
            max_gap=device.max_gap,
        )
        self.points = {point.name: point for point in device.points}
        # Keyed by id: hashing a request would hash every point in it, on every read.
        self._layouts = {id(request): self._layout(request) for request in self.plan}
        self._reads = {id(request): reader(request, device.unit) for request in self.plan}
        self._answers: dict[int, list[Any]] = {}  # the last good answer to each request
        self._raws: dict[str, list[Any]] = {}  # the wire values each point was last decoded from
        self._published: dict[str, tuple[Quality, TagValue | None]] = {}
        self._poll_now = asyncio.Event()
        self.complaints = Complaints(self.label)
        self.cycles = 0
        self.failures = 0
        self.last_good_ns: int | None = None
        """When the device last answered a whole cycle (wall clock, ns)."""

    def poll_soon(self) -> None:
        """Read the device at once (after a write), instead of waiting for the next period."""
        self._poll_now.set()

    async def run(self, sink: ReadingSink) -> None:
        self._published.clear()  # a restarted poller publishes everything afresh
        self._answers.clear()
        self._raws.clear()
        ticker = Ticker(self.device.poll)
        backoff = Backoff(first=self.device.poll, cap=max(MAX_BACKOFF_S, self.device.poll))
        while True:
            try:
                await self.poll_once(sink)
            except DeviceUnreachable as exc:
                if backoff.failures == 0:
                    log.warning("%s is down (%s): %s", self.label, exc.quality.name, exc)
                self.failures += 1
                self._mark_all(sink, exc.quality)
                wait = ticker.restart_in(backoff.next_delay())
            else:
                if backoff.failures:
                    log.info("%s answers again", self.label)
                self.last_good_ns = now_ns()
                backoff.reset()
                wait = ticker.advance()
            self.cycles += 1
            self._poll_now.clear()
            # asyncio.timeout, not wait_for: on Python 3.11 wait_for can swallow a cancellation that
            # arrives just as the event is set, and the poller would outlive its source.
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(wait):
                    await self._poll_now.wait()

    async def poll_once(self, sink: ReadingSink) -> None:
        """Read every request of the plan once and publish; DeviceUnreachable if the device did not answer."""
        index = 0
        wrong = False
        while index < len(self.plan):
            request = self.plan[index]
            try:
                response = await self._request(self._reads[id(request)])
            except WrongAnswer as exc:
                # Answers to other requests say nothing about this one's points: Bad, never a value.
                wrong = True
                self.complaints.wrong_answer(describe_read(request), str(exc))
                self._answers.pop(id(request), None)
                stamp = now_ns()
                for point in request.points:
                    self._publish(sink, point, None, Quality.BadCommunicationError, stamp)
                index += 1
                continue
            stamp = now_ns()
            if response.isError():
                if response.exception_code == ILLEGAL_DATA_ADDRESS and len(request.points) > 1:
                    self._split(index)
                    continue
                self._answers.pop(id(request), None)
                quality = exception_quality(response)
                for point in request.points:
                    self._publish(sink, point, None, quality, stamp)
            else:
                values = response_values(request, response)
                # An answer identical to the last good one holds the same values: nothing to decode or
                # publish (report by exception, decided on the wire bytes).
                if self._answers.get(id(request)) != values:
                    self._answers[id(request)] = values
                    self._publish_answer(sink, self._layouts[id(request)], values, stamp)
            index += 1
        if not wrong:
            self.complaints.all_right()

    async def _request(self, read: Callable[[CheckedClient], Awaitable[Any]]) -> Any:
        timeout = self.device.timeout
        attempts = 1 + self.device.retries
        for attempt in range(1, attempts + 1):
            try:
                return await self.link.transact(read, timeout)
            except LinkDown as exc:
                raise DeviceUnreachable(Quality.BadNotConnected, str(exc)) from exc
            except (TimeoutError, ModbusIOException) as exc:  # ModbusIOException: pymodbus' own timeout
                if attempt == attempts:
                    raise DeviceUnreachable(
                        Quality.BadTimeout, f"no answer within {timeout:g} s ({attempts} attempts)"
                    ) from exc
            except WrongAnswer:
                if attempt == attempts:
                    raise
            except ModbusException as exc:
                if attempt == attempts:
                    raise DeviceUnreachable(Quality.BadCommunicationError, str(exc)) from exc
        raise AssertionError("unreachable")

    def _split(self, index: int) -> None:
        # Many devices refuse a read that spans addresses they do not implement, so a merged read that
        # bridged a gap is answered "illegal data address". Read those points one by one from now on.
        request = self.plan[index]
        log.info(
            "%s: %s cannot be read at once; reading its %d points one by one",
            self.label,
            describe_read(request),
            len(request.points),
        )
        singles = [single for point in request.points for single in plan_reads([point], max_gap=0)]
        self.plan[index : index + 1] = singles
        self._layouts.update((id(single), self._layout(single)) for single in singles)
        self._reads.update((id(single), reader(single, self.device.unit)) for single in singles)

    def _layout(self, request: ReadRequest) -> list[PointSlot]:
        """Where each point's values sit in the request's answer, and its decoder: worked out once."""
        return [
            PointSlot(
                point.name,
                point.address - request.address,
                point.address - request.address + point.register_count,
                value_decoder(point) if point.register_count == 1 else decoder(point),
                getattr(point, "deadband", 0.0) or 0.0,
                point.register_count == 1,
            )
            for point in request.points
        ]

    def _publish_answer(
        self, sink: ReadingSink, slots: list[PointSlot], values: list[Any], stamp: int
    ) -> None:
        """Decode and publish the points of one good answer whose wire values changed.

        This is the driver's hot path (every point, every poll), hence its flat shape: a point whose
        registers are as last time is skipped before decoding, a value within its deadband of the last
        published one is not published.
        """
        raws, published, good = self._raws, self._published, Quality.Good
        for slot in slots:
            # A one-register (or one-bit) point is compared and decoded as its value, without a slice.
            raw = values[slot.start] if slot.single else values[slot.start : slot.stop]
            if raws.get(slot.name) == raw:
                continue
            raws[slot.name] = raw
            try:
                value = slot.decode(raw)
            except (ValueError, IndexError, struct.error) as exc:
                # A short or malformed answer spoils this point only.
                log.warning("%s: cannot decode %s from %r: %s", self.label, slot.name, raw, exc)
                self._publish(sink, self.points[slot.name], None, Quality.BadDeviceFailure, stamp)
                continue
            previous = published.get(slot.name)
            if previous is not None and previous[0] is good:
                old = previous[1]
                if value == old or (
                    slot.deadband
                    and isinstance(value, int | float)
                    and isinstance(old, int | float)
                    and abs(value - old) <= slot.deadband
                ):
                    continue
            published[slot.name] = (good, value)
            # The answer's arrival is both when the value was true and when the agent got it.
            sink.publish(Reading(slot.name, value, good, stamp, stamp))

    def _publish(
        self, sink: ReadingSink, point: Any, value: TagValue | None, quality: Quality, stamp: int
    ) -> None:
        """Publish a status (Bad ones) for a point, once per change of status."""
        previous = self._published.get(point.name)
        if quality != Quality.Good:
            self._raws.pop(point.name, None)  # the next good answer is news even if its bytes are old
            if previous is not None and previous[0] == quality:
                return  # a Bad status is news once, not every cycle
        kept = value if quality == Quality.Good else (previous[1] if previous else None)
        self._published[point.name] = (quality, kept)
        sink.publish(Reading(point.name, value, quality, stamp))

    def _mark_all(self, sink: ReadingSink, quality: Quality) -> None:
        self._answers.clear()
        self._raws.clear()
        stamp = now_ns()
        for point in self.device.points:
            self._publish(sink, point, None, quality, stamp)
