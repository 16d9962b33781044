"""A Modbus source: one link (TCP, RTU over a serial port, or RTU over TCP) and the devices behind it."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from pymodbus.exceptions import ModbusException, ModbusIOException

from drivers.base import Source
from edge_agent.quality import Quality
from edge_agent.tags import ReadingSink, TagInfo, TagValue

from .answers import WrongAnswer
from .codec import encode, encode_bit
from .config import ModbusSourceConfig
from .device import DevicePoller, exception_quality
from .link import Link, LinkDown

log = logging.getLogger(__name__)


class ModbusSource(Source[ModbusSourceConfig]):
    def __init__(self, config: ModbusSourceConfig) -> None:
        super().__init__(config)
        devices = config.devices_resolved()
        self.link = Link(config, timeout=max(device.timeout for device in devices))
        self.pollers = [DevicePoller(self.name, device, self.link) for device in devices]
        self._owner = {point.name: poller for poller in self.pollers for point in poller.device.points}
        self._infos = config.tag_infos()

    def tag_infos(self) -> list[TagInfo]:
        return list(self._infos)

    async def run(self, sink: ReadingSink) -> None:
        try:
            async with asyncio.TaskGroup() as group:
                for poller in self.pollers:
                    group.create_task(poller.run(sink), name=poller.label)
        finally:
            self.link.close()

    def statistics(self) -> dict[str, object]:
        return {
            "devices": [
                {
                    "unit": poller.device.unit,
                    "cycles": poller.cycles,
                    "failed_cycles": poller.failures,
                    "poll_s": poller.device.poll,
                    "last_good_ns": poller.last_good_ns,
                    "requests_per_cycle": len(poller.plan),
                }
                for poller in self.pollers
            ]
        }

    async def write(self, tag: str, value: TagValue) -> Quality:
        poller = self._owner.get(tag)
        if poller is None:
            return Quality.BadNotWritable
        point = poller.points[tag]
        if not point.writable:
            return Quality.BadNotWritable
        if point.range is not None and not _within(value, point.range):
            return Quality.BadOutOfRange
        if point.type != "bit":
            try:
                encoded = encode(point, value)
            except (TypeError, ValueError) as exc:
                log.info("%s: write of %r to %s refused: %s", self.name, value, tag, exc)
                return Quality.BadOutOfRange
        unit, timeout = poller.device.unit, poller.device.timeout

        async def send(client: Any) -> Any:
            if point.kind == "coil":
                return await client.write_coil(point.address, bool(encoded[0]), device_id=unit)
            if point.type == "bit":
                # One bit of a register: read, change the bit, write back, under the link's lock.
                current = await client.read_holding_registers(point.address, count=1, device_id=unit)
                if current.isError():
                    return current
                register = encode_bit(point, current.registers[0], bool(value))
                return await client.write_register(point.address, register, device_id=unit)
            if len(encoded) == 1:
                return await client.write_register(point.address, encoded[0], device_id=unit)
            return await client.write_registers(point.address, encoded, device_id=unit)

        try:
            response = await self.link.transact(send, timeout)
        except LinkDown:
            return Quality.BadNotConnected
        except WrongAnswer as exc:
            poller.complaints.wrong_answer(f"the write of {tag}", str(exc))
            return Quality.BadCommunicationError
        except (TimeoutError, ModbusIOException):
            return Quality.BadTimeout
        except ModbusException:
            return Quality.BadCommunicationError
        if response.isError():
            return exception_quality(response)
        poller.poll_soon()
        return Quality.Good


def _within(value: TagValue, bounds: tuple[float, float]) -> bool:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return False
    return bounds[0] <= value <= bounds[1]
