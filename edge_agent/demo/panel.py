"""A simulated operator panel on mock GPIO pins: a door switch and a flow meter's pulse output."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

DOOR_CLOSED_S = 25.0
DOOR_OPEN_S = 5.0
LITRES_PER_PULSE = 10.0
PULSE_WIDTH_S = 0.01


class SimulatedPanel:
    """Drives mock pins the way the wiring of a real panel would.

    Both inputs are wired active-low with pull-ups, as dry contacts and open-collector pulse outputs
    usually are: a closed contact or a pulse pulls the pin low.
    """

    def __init__(self, factory: Any, *, door_pin: int, pulse_pin: int, flow_m3h: Callable[[], float]) -> None:
        self.door = factory.pin(door_pin)
        self.pulses = factory.pin(pulse_pin)
        self.flow_m3h = flow_m3h

    async def run(self) -> None:
        self.door.drive_high()
        self.pulses.drive_high()
        async with asyncio.TaskGroup() as group:
            group.create_task(self._door())
            group.create_task(self._flow_meter())

    async def _door(self) -> None:
        while True:
            await asyncio.sleep(DOOR_CLOSED_S)
            self.door.drive_low()  # contact opens the door circuit to ground: door open
            await asyncio.sleep(DOOR_OPEN_S)
            self.door.drive_high()

    async def _flow_meter(self) -> None:
        while True:
            litres_per_s = max(0.0, self.flow_m3h()) * 1000.0 / 3600.0
            if litres_per_s <= 0:
                await asyncio.sleep(0.5)
                continue
            self.pulses.drive_low()
            await asyncio.sleep(PULSE_WIDTH_S)
            self.pulses.drive_high()
            await asyncio.sleep(max(0.0, LITRES_PER_PULSE / litres_per_s - PULSE_WIDTH_S))
