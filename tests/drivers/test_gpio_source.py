"""GPIO inputs and pulse counters through gpiozero's mock pins."""

from __future__ import annotations

import asyncio

from drivers.gpio.config import GpioSourceConfig
from drivers.gpio.factories import pin_factory
from drivers.gpio.source import GpioSource
from edge_agent.tagstore import TagStore
from tests.waiting import eventually


def config(door_pin: str, pulse_pin: str) -> GpioSourceConfig:
    return GpioSourceConfig.model_validate(
        {
            "name": "panel",
            "driver": "gpio",
            "pin_factory": "mock",
            "points": [
                {"name": "door_open", "kind": "input", "pin": door_pin, "pull": "up", "active_low": True},
                {"name": "flow_pulses", "kind": "counter", "pin": pulse_pin, "rate_window": "1s"},
            ],
        }
    )


async def test_an_active_low_input_follows_the_wire() -> None:
    door = pin_factory("mock").pin(5)
    door.drive_high()
    source = GpioSource(config("GPIO5", "GPIO6"))
    store = TagStore(source.tag_infos())
    task = asyncio.create_task(source.run(store))
    try:
        await eventually(lambda: store.current("door_open").value is False)
        door.drive_low()
        await eventually(lambda: store.current("door_open").value is True)
        door.drive_high()
        await eventually(lambda: store.current("door_open").value is False)
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)


async def test_a_counter_counts_pulses_and_reports_their_rate() -> None:
    pulses = pin_factory("mock").pin(13)
    pulses.drive_high()
    source = GpioSource(config("GPIO12", "GPIO13"))
    store = TagStore(source.tag_infos())
    task = asyncio.create_task(source.run(store))
    try:
        await asyncio.sleep(0.05)
        for _ in range(10):
            pulses.drive_low()
            pulses.drive_high()
        await eventually(lambda: store.current("flow_pulses").value == 10)
        assert store.current("flow_pulses_rate").value > 0
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
