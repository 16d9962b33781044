"""Polling one Modbus device (one unit id) behind a link, and publishing its points."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import struct
from typing import Any

from pymodbus.exceptions import ModbusException, ModbusIOException

from edge_agent.pacing import Backoff, Ticker
from edge_agent.quality import Quality
from edge_agent.tags import Reading, ReadingSink, TagValue, now_ns

from .codec import decode
from .link import Link, LinkDown
from .plan import ReadRequest, plan_reads

log = logging.getLogger(__name__)

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
MAX_BACKOFF_S = 5.0


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


def response_values(request: ReadRequest, response: Any) -> list[Any]:
    if request.kind in ("coil", "discrete"):
        return list(response.bits[: request.count])
    return list(response.registers)


class DevicePoller:
    """Reads a device's plan every ``poll``; while the device is down, retries with backoff and jitter."""

    def __init__(self, source_name: str, device: Any, link: Link) -> None:
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
        self._published: dict[str, tuple[Quality, TagValue | None]] = {}
        self._poll_now = asyncio.Event()
        self.cycles = 0
        self.failures = 0

    def poll_soon(self) -> None:
        """Read the device at once (after a write), instead of waiting for the next period."""
        self._poll_now.set()

    async def run(self, sink: ReadingSink) -> None:
        self._published.clear()  # a restarted poller publishes everything afresh
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
                backoff.reset()
                wait = ticker.advance()
            self.cycles += 1
            self._poll_now.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._poll_now.wait(), wait)

    async def poll_once(self, sink: ReadingSink) -> None:
        """Read every request of the plan once and publish; DeviceUnreachable if the device did not answer."""
        index = 0
        while index < len(self.plan):
            request = self.plan[index]
            response = await self._request(request)
            stamp = now_ns()
            if response.isError():
                if response.exception_code == ILLEGAL_DATA_ADDRESS and len(request.points) > 1:
                    self._split(index)
                    continue
                quality = exception_quality(response)
                for point in request.points:
                    self._publish(sink, point, None, quality, stamp)
            else:
                values = response_values(request, response)
                for point in request.points:
                    self._publish(
                        sink, point, decode(point, request.values_of(point, values)), Quality.Good, stamp
                    )
            index += 1

    async def _request(self, request: ReadRequest) -> Any:
        unit, timeout = self.device.unit, self.device.timeout
        attempts = 1 + self.device.retries
        for attempt in range(1, attempts + 1):
            try:
                return await self.link.transact(
                    lambda client: read_table(client, request.kind, request.address, request.count, unit),
                    timeout,
                )
            except LinkDown as exc:
                raise DeviceUnreachable(Quality.BadNotConnected, str(exc)) from exc
            except TimeoutError as exc:
                if attempt == attempts:
                    raise DeviceUnreachable(
                        Quality.BadTimeout, f"no answer within {timeout:g} s ({attempts} attempts)"
                    ) from exc
            except ModbusIOException as exc:  # pymodbus' own timeout
                if attempt == attempts:
                    raise DeviceUnreachable(Quality.BadTimeout, str(exc)) from exc
            except ModbusException as exc:
                if attempt == attempts:
                    raise DeviceUnreachable(Quality.BadCommunicationError, str(exc)) from exc
        raise AssertionError("unreachable")

    def _split(self, index: int) -> None:
        # Many devices refuse a read that spans addresses they do not implement, so a merged read that
        # bridged a gap is answered "illegal data address". Read those points one by one from now on.
        request = self.plan[index]
        log.info(
            "%s: %s %d..%d cannot be read at once; reading its %d points one by one",
            self.label,
            request.kind,
            request.address,
            request.address + request.count - 1,
            len(request.points),
        )
        self.plan[index : index + 1] = [
            single for point in request.points for single in plan_reads([point], max_gap=0)
        ]

    def _publish_decoded(self, sink: ReadingSink, point: Any, raw: list[Any], stamp: int) -> None:
        try:
            value = decode(point, raw)
        except (ValueError, IndexError, struct.error) as exc:
            # A short or malformed answer spoils this point only.
            log.warning("%s: cannot decode %s from %r: %s", self.label, point.name, raw, exc)
            self._publish(sink, point, None, Quality.BadDeviceFailure, stamp)
            return
        self._publish(sink, point, value, Quality.Good, stamp)

    def _publish(
        self, sink: ReadingSink, point: Any, value: TagValue | None, quality: Quality, stamp: int
    ) -> None:
        previous = self._published.get(point.name)
        if previous is not None and previous[0] == quality:
            if quality != Quality.Good:
                return  # a Bad status is news once, not every cycle
            deadband = getattr(point, "deadband", None)
            old = previous[1]
            if value == old:
                return
            numbers = isinstance(value, int | float) and isinstance(old, int | float)
            if deadband and numbers and abs(value - old) <= deadband:
                return
        kept = value if quality == Quality.Good else (previous[1] if previous else None)
        self._published[point.name] = (quality, kept)
        sink.publish(Reading(point.name, value, quality, stamp))

    def _mark_all(self, sink: ReadingSink, quality: Quality) -> None:
        stamp = now_ns()
        for point in self.device.points:
            self._publish(sink, point, None, quality, stamp)
