"""A simulated centrifugal pump, alone (``PumpSimulator``) or behind a Modbus TCP server."""

from __future__ import annotations

from typing import TYPE_CHECKING

from .pump import PumpSimulator, PumpState

if TYPE_CHECKING:
    from .modbus_device import SimulatedPumpDevice

__all__ = ["PumpSimulator", "PumpState", "SimulatedPumpDevice"]


def __getattr__(name: str) -> object:
    # The physics alone (all that model training needs) must import without pymodbus.
    if name == "SimulatedPumpDevice":
        from .modbus_device import SimulatedPumpDevice

        return SimulatedPumpDevice
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
