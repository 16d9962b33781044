"""Polling a Modbus TCP device and writing its setpoints."""

from __future__ import annotations

import asyncio
import logging
import random
import time
from typing import Any

from pymodbus.client import AsyncModbusTcpClient
from pymodbus.exceptions import ConnectionException, ModbusException, ModbusIOException

from drivers.base import Source
from edge_agent.quality import Quality
from edge_agent.tags import Reading, ReadingSink, TagInfo, TagValue, now_ns

from .codec import decode, encode, register_count
from .plan import ReadRequest, plan_reads

log = logging.getLogger(__name__)

# Modbus exception code -> the OPC UA status its tags carry.
EXCEPTION_QUALITY = {
    1: Quality.BadConfigurationError,  # illegal function: the device has no such register kind
    2: Quality.BadConfigurationError,  # illegal data address: the config names registers it lacks
    3: Quality.BadOutOfRange,  # illegal data value
    4: Quality.BadDeviceFailure,  # server device failure
    6: Quality.BadDeviceFailure,  # server device busy
    10: Quality.BadNoCommunication,  # gateway path unavailable
    11: Quality.BadTimeout,  # gateway target device failed to respond
}
MAX_BACKOFF_S = 10.0
ILLEGAL_DATA_ADDRESS = 2


class ModbusTcpSource(Source):
    def __init__(self, config: Any) -> None:
        self.config = config
        self.name: str = config.name
        self._infos = {info.name: info for info in config.tag_infos()}
        self._points = {p.name: p for p in config.points}
        self._plan = plan_reads(config.points, max_registers=config.max_registers_per_request)
        self._client = AsyncModbusTcpClient(
            config.host,
            port=config.port,
            timeout=config.timeout,
            retries=0,
            reconnect_delay=0,  # reconnecting is paced here, with backoff, not inside pymodbus
            name=f"modbus:{self.name}",
        )
        self._qualities: dict[str, Quality] = {}
        self._lock = asyncio.Lock()  # one transaction at a time on the connection

    def tag_infos(self) -> list[TagInfo]:
        return list(self._infos.values())

    @property
    def plan(self) -> list[ReadRequest]:
        return self._plan

    async def run(self, sink: ReadingSink) -> None:
        period = self.config.poll
        failures = 0
        next_poll = time.monotonic()
        try:
            while True:
                ok = await self._poll_once(sink)
                failures = 0 if ok else failures + 1
                if failures:
                    delay = min(MAX_BACKOFF_S, period * 2 ** (failures - 1))
                    delay = max(period, delay * random.uniform(0.8, 1.2))
                    next_poll = time.monotonic() + delay
                else:
                    next_poll += period
                    now = time.monotonic()
                    if next_poll < now:  # a slow cycle: skip the periods it overran, do not burst
                        next_poll = now + period - ((now - next_poll) % period)
                await asyncio.sleep(max(0.0, next_poll - time.monotonic()))
        finally:
            self._client.close()

    async def _poll_once(self, sink: ReadingSink) -> bool:
        async with self._lock:
            return await self._poll_once_unlocked(sink)

    def _split(self, request: ReadRequest) -> None:
        # Many devices refuse a read that spans registers they do not implement, so a merged read that
        # bridged a gap is answered with "illegal data address". Read those points one by one from now on.
        log.info(
            "%s: %s registers %d..%d are not all readable at once; reading its %d points one by one",
            self.name,
            request.kind,
            request.address,
            request.address + request.count - 1,
            len(request.points),
        )
        index = self._plan.index(request)
        self._plan[index : index + 1] = [
            ReadRequest(p.kind, p.address, register_count(p), (p,)) for p in request.points
        ]

    async def _poll_once_unlocked(self, sink: ReadingSink) -> bool:
        if not self._client.connected and not await self._connect():
            self._mark_all(sink, Quality.BadNotConnected)
            return False
        for request in self._plan:
            try:
                response = await self._read(request)
            except (ModbusIOException, TimeoutError) as exc:
                log.warning("%s: no answer to %s@%d: %s", self.name, request.kind, request.address, exc)
                self._mark_all(sink, Quality.BadTimeout)
                self._client.close()
                return False
            except (ConnectionException, ModbusException, OSError) as exc:
                log.warning("%s: connection lost: %s", self.name, exc)
                self._mark_all(sink, Quality.BadCommunicationError)
                self._client.close()
                return False
            stamp = now_ns()
            if response.isError():
                code = getattr(response, "exception_code", 0)
                if code == ILLEGAL_DATA_ADDRESS and len(request.points) > 1:
                    self._split(request)
                    return await self._poll_once_unlocked(sink)
                quality = EXCEPTION_QUALITY.get(code, Quality.BadDeviceFailure)
                for point in request.points:
                    self._publish(sink, Reading(point.name, None, quality, stamp))
                continue
            for point in request.points:
                as_int = self._infos[point.name].data_type == "int"
                value = decode(point, request.registers_of(point, response.registers), as_int=as_int)
                self._publish(sink, Reading(point.name, value, Quality.Good, stamp))
        return True

    async def _connect(self) -> bool:
        try:
            return bool(await self._client.connect())
        except (OSError, ModbusException) as exc:
            log.warning("%s: cannot connect to %s:%d: %s", self.name, self.config.host, self.config.port, exc)
            return False

    async def _read(self, request: ReadRequest) -> Any:
        unit = self.config.unit
        if request.kind == "holding":
            return await self._client.read_holding_registers(
                request.address, count=request.count, device_id=unit
            )
        return await self._client.read_input_registers(request.address, count=request.count, device_id=unit)

    def _publish(self, sink: ReadingSink, reading: Reading) -> None:
        # A Bad status is published once when it starts, not every cycle, so that a dead device
        # does not flood every sink with the same stale value.
        if reading.quality != Quality.Good and self._qualities.get(reading.tag) == reading.quality:
            return
        if reading.quality != self._qualities.get(reading.tag) and reading.quality != Quality.Good:
            log.info("%s: %s is now %s", self.name, reading.tag, reading.quality.name)
        self._qualities[reading.tag] = reading.quality
        sink.publish(reading)

    def _mark_all(self, sink: ReadingSink, quality: Quality) -> None:
        stamp = now_ns()
        for name in self._points:
            self._publish(sink, Reading(name, None, quality, stamp))

    async def write(self, tag: str, value: TagValue) -> Quality:
        point = self._points.get(tag)
        if point is None or not point.writable:
            return Quality.BadNotWritable
        if point.range is not None and not point.range[0] <= float(value) <= point.range[1]:
            return Quality.BadOutOfRange
        try:
            registers = encode(point, float(value))
        except (TypeError, ValueError):
            return Quality.BadOutOfRange
        async with self._lock:
            if not self._client.connected and not await self._connect():
                return Quality.BadNotConnected
            try:
                response = await self._client.write_registers(
                    point.address, registers, device_id=self.config.unit
                )
            except (ModbusIOException, TimeoutError):
                return Quality.BadTimeout
            except (ConnectionException, ModbusException, OSError):
                self._client.close()
                return Quality.BadCommunicationError
        if response.isError():
            return EXCEPTION_QUALITY.get(getattr(response, "exception_code", 0), Quality.BadDeviceFailure)
        return Quality.Good
