"""An answer pymodbus cannot decode fails its request at once, in place of taking the connection down.

pymodbus 3.16 raises out of its protocol's ``data_received`` for a frame it cannot decode (a known
function code with a body of the wrong shape, an unknown function code): asyncio then logs the traceback
at ERROR and closes the connection, and the request waits for its timeout. Here the bytes are dropped and
the request in flight fails with WrongAnswer, which the driver reports like any other wrong answer.
"""

from __future__ import annotations

from typing import Any

from pymodbus.exceptions import ModbusIOException

from .answers import WrongAnswer


def fail_undecodable_answers(client: Any) -> None:
    """Make ``client`` (an async pymodbus client) fail the request an undecodable answer arrives for."""
    manager = client.ctx  # the client's TransactionManager, the protocol of its connection
    receive = manager.callback_data

    def callback_data(data: bytes, addr: tuple[Any, ...] | None = None) -> int:
        try:
            used: int = receive(data, addr)
        except ModbusIOException:
            pending = manager.response_future
            if not pending.done():
                pending.set_exception(WrongAnswer("an answer that cannot be decoded"))
            return len(data)
        return used

    manager.callback_data = callback_data
