"""One connection to a Modbus network (a TCP device, a serial gateway, an RS-485 bus) for its devices."""

from __future__ import annotations

import asyncio
import logging
from asyncio import current_task
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, TypedDict, TypeVar

from pymodbus.client import AsyncModbusSerialClient, AsyncModbusTcpClient
from pymodbus.exceptions import ConnectionException, ModbusException
from pymodbus.framer import FramerType

from .answers import CheckedClient
from .pymodbus_log import quiet_pymodbus
from .undecodable import fail_undecodable_answers

if TYPE_CHECKING:
    from .config import ModbusSourceConfig

log = logging.getLogger(__name__)
# Before any Link exists: a pymodbus server started first (the demo's simulated pump) logs through it too.
quiet_pymodbus()

T = TypeVar("T")


class _ClientOptions(TypedDict):
    """What every pymodbus client of a link is given, whichever its transport."""

    timeout: float
    retries: int
    reconnect_delay: float
    name: str


class LinkDown(Exception):
    """The connection could not be opened or was lost; every device behind it is unreachable."""


def make_client(config: ModbusSourceConfig, timeout: float) -> AsyncModbusTcpClient | AsyncModbusSerialClient:
    """The pymodbus client for the source's transport. Reconnecting is paced by the pollers, not pymodbus."""
    common = _ClientOptions(timeout=timeout, retries=0, reconnect_delay=0, name=f"modbus:{config.name}")
    if config.transport == "rtu":
        return AsyncModbusSerialClient(
            str(config.port),
            framer=FramerType.RTU,
            baudrate=config.baudrate,
            bytesize=config.bytesize,
            parity=config.parity,
            stopbits=config.stopbits,
            **common,
        )
    framer = FramerType.RTU if config.transport == "rtu_over_tcp" else FramerType.SOCKET
    host, port = config.host, config.port
    if host is None or port is None:  # what the config's validation refuses for a TCP transport
        raise ValueError(f"{config.name}: transport {config.transport} needs a host and a port")
    return AsyncModbusTcpClient(host, port=int(port), framer=framer, **common)


def describe(config: ModbusSourceConfig) -> str:
    if config.transport == "rtu":
        return f"{config.port} ({config.baudrate} {config.bytesize}{config.parity}{config.stopbits})"
    return f"{config.transport}://{config.host}:{config.port}"


class Link:
    """A client and the lock that makes its devices take turns.

    Modbus has one transaction in flight per connection (on a serial line, per bus): every request of
    every device behind this link goes through ``transact``, one at a time.
    """

    def __init__(self, config: ModbusSourceConfig, timeout: float) -> None:
        self.name = config.name
        self.where = describe(config)
        self.timeout = timeout
        self.client = make_client(config, timeout)
        self.checked = CheckedClient(self.client)
        fail_undecodable_answers(self.client)
        self._lock = asyncio.Lock()
        self._was_up = False

    async def transact(
        self, request: Callable[[CheckedClient], Awaitable[T]], within: float | None = None
    ) -> T:
        """Run one request (a coroutine function of the client) alone on the connection.

        Raises LinkDown when there is no connection, TimeoutError when the device does not answer in
        ``within`` seconds, WrongAnswer when it answers some other request, and pymodbus'
        ModbusException for the rest.
        """
        # acquire/release rather than ``async with``, and the connection and cancellation checks inline:
        # this runs for every request, and each of those is a coroutine or call less.
        lock = self._lock
        await lock.acquire()
        try:
            if not self.client.connected:
                await self._connect()
            try:
                if within is None or within >= self.timeout:
                    answer = await request(self.checked)  # pymodbus' own timeout is the one that applies
                else:
                    async with asyncio.timeout(within):
                        answer = await request(self.checked)
            except ConnectionException as exc:
                self._lost(exc)
                raise LinkDown(str(exc)) from exc
        finally:
            lock.release()
        # The cancellation that pymodbus' ``asyncio.wait_for`` may have swallowed. On Python 3.11, a
        # ``wait_for`` whose future completes just as its task is cancelled returns the result and drops
        # the CancelledError; the task's pending cancel request stays counted, so it is raised here.
        task = current_task()
        if task is not None and task.cancelling():
            raise asyncio.CancelledError
        return answer

    async def _connect(self) -> None:
        try:
            connected = await self.client.connect()
        except (OSError, ModbusException) as exc:
            connected = False
            reason = str(exc)
        else:
            reason = "no answer"
        if not connected:
            if self._was_up:
                log.warning("%s: connection to %s lost: %s", self.name, self.where, reason)
            self._was_up = False
            raise LinkDown(f"cannot connect to {self.where}: {reason}")
        if not self._was_up:
            log.info("%s: connected to %s", self.name, self.where)
        self._was_up = True

    def _lost(self, exc: BaseException) -> None:
        log.warning("%s: connection to %s lost: %s", self.name, self.where, exc)
        self._was_up = False
        self.client.close()

    def close(self) -> None:
        self.client.close()
