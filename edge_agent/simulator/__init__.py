"""A simulated centrifugal pump, alone (``PumpSimulator``) or behind a Modbus TCP server."""

from .modbus_device import SimulatedPumpDevice
from .pump import PumpSimulator, PumpState

__all__ = ["PumpSimulator", "PumpState", "SimulatedPumpDevice"]
