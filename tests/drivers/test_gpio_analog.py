"""An MCP3008 ADC on the mock SPI bus: the driver reads its channels through gpiozero's software SPI."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from gpiozero.pins.mock import MockSPIDevice

from drivers.gpio.factories import pin_factory
from edge_agent.quality import Quality
from edge_agent.tags import Reading
from edge_agent.tagstore import TagStore
from tests.support.waiting import eventually

from .gpio_panel import panel, running

BITS = 10
FULL_SCALE = 2**BITS - 1
SPI0 = {"clock_pin": 11, "mosi_pin": 10, "miso_pin": 9}
CE0 = 8


class SimulatedMcp3008(MockSPIDevice):
    """The chip's side of the wire: answers each conversion with the level set for that channel.

    A conversion starts with a start bit, then single-ended (1) or differential (0), then three channel
    bits; the chip then clocks out a null bit and the 10-bit result, most significant bit first.
    """

    def __init__(self) -> None:
        super().__init__(**SPI0, select_pin=CE0, pin_factory=pin_factory("mock"))
        self.levels = [0.0] * 8
        """Each channel's voltage as a fraction of the reference voltage."""
        self.conversions = 0
        self._command: list[bool] = []

    def on_start(self) -> None:
        super().on_start()
        self._command = []

    def on_bit(self) -> None:
        bit = bool(self.rx_buf[-1])
        if len(self._command) == 5 or (not self._command and not bit):
            return
        self._command.append(bit)
        if len(self._command) == 5:
            _start, single, *channel_bits = self._command
            channel = int("".join("1" if b else "0" for b in channel_bits), 2)
            level = self.levels[channel] if single else self.levels[channel] - self.levels[channel ^ 1]
            self.tx_word(round(min(max(level, 0.0), 1.0) * FULL_SCALE), BITS + 2)
            self.conversions += 1


@pytest.fixture
def adc() -> Iterator[SimulatedMcp3008]:
    chip = SimulatedMcp3008()
    try:
        yield chip
    finally:
        chip.close()


def near(store: TagStore, tag: str, expected: float, tolerance: float) -> bool:
    reading = store.current(tag)
    return reading.quality == Quality.Good and abs(float(reading.value or 0) - expected) <= tolerance


async def test_a_channel_is_read_scaled_and_follows_the_voltage(adc: SimulatedMcp3008) -> None:
    adc.levels[2] = 0.5
    point = {"name": "tank_pressure", "kind": "mcp3008", "channel": 2, "scale": 10.0, "offset": 1.0}
    async with running(panel({**point, "unit": "bar", "poll": "20ms"})) as store:
        step = 10.0 / FULL_SCALE
        await eventually(lambda: near(store, "tank_pressure", 0.5 * 10 + 1, 2 * step))
        adc.levels[2] = 0.25
        await eventually(lambda: near(store, "tank_pressure", 0.25 * 10 + 1, 2 * step))


async def test_channels_of_one_chip_are_read_side_by_side(adc: SimulatedMcp3008) -> None:
    adc.levels[0], adc.levels[7] = 0.2, 0.9
    async with running(
        panel(
            {"name": "inlet_level", "kind": "mcp3008", "channel": 0, "poll": "20ms"},
            {"name": "outlet_level", "kind": "mcp3008", "channel": 7, "poll": "20ms"},
        )
    ) as store:
        await eventually(lambda: near(store, "inlet_level", 0.2, 2 / FULL_SCALE))
        await eventually(lambda: near(store, "outlet_level", 0.9, 2 / FULL_SCALE))


async def test_changes_within_the_deadband_are_not_published(adc: SimulatedMcp3008) -> None:
    adc.levels[1] = 0.5
    point = {"name": "flow_setpoint", "kind": "mcp3008", "channel": 1, "scale": 100.0, "deadband": 1.0}
    async with running(panel({**point, "poll": "10ms"})) as store:
        await eventually(lambda: near(store, "flow_setpoint", 50.0, 0.2))
        published: list[Reading] = []
        store.listen(published.append)
        adc.levels[1] = 0.505  # half a unit: within the deadband
        conversions = adc.conversions
        await eventually(lambda: adc.conversions >= conversions + 3)
        adc.levels[1] = 0.6
        await eventually(lambda: near(store, "flow_setpoint", 60.0, 0.2))
        assert len(published) == 1
