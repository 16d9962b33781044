"""gpiozero pin factories by the config's name for them."""

from __future__ import annotations

from functools import cache
from typing import Any


@cache
def pin_factory(name: str) -> Any:
    """The process's pin factory of that kind.

    One per process and kind, as the hardware is one per process: the mock factory is shared so that a
    simulated panel (the demo, the tests) drives the very pins the driver reads.
    """
    if name == "mock":
        from gpiozero.pins.mock import MockFactory

        return MockFactory()
    if name == "lgpio":
        from gpiozero.pins.lgpio import LGPIOFactory

        return LGPIOFactory()
    if name == "rpigpio":
        from gpiozero.pins.rpigpio import RPiGPIOFactory

        return RPiGPIOFactory()
    raise ValueError(f"unknown pin factory {name!r}")


def pin_number(pin: str | int) -> int:
    """BCM number of a pin named 'GPIO17', 'BCM17' or 17."""
    if isinstance(pin, int):
        return pin
    return int(pin.removeprefix("GPIO").removeprefix("BCM"))
