"""GPIO inputs and pulse counters through gpiozero's mock pins, and a machine without GPIO."""

from __future__ import annotations

import asyncio
import logging
from importlib.util import find_spec
from pathlib import Path

import pytest

from drivers.gpio.factories import pin_factory
from edge_agent.quality import Quality
from edge_agent.tags import Reading, now_ns
from edge_agent.tagstore import TagStore
from tests.support.waiting import eventually

from .gpio_panel import panel, running


def history(store: TagStore, tag: str) -> list[Reading]:
    readings: list[Reading] = []
    store.listen(lambda reading: readings.append(reading) if reading.tag == tag else None)
    return readings


async def test_an_active_low_input_follows_the_wire() -> None:
    door = pin_factory("mock").pin(5)
    door.drive_high()
    source = panel({"name": "door_open", "kind": "input", "pin": "GPIO5", "pull": "up", "active_low": True})
    async with running(source) as store:
        await eventually(lambda: store.current("door_open").value is False)
        door.drive_low()
        await eventually(lambda: store.current("door_open").value is True)
        door.drive_high()
        await eventually(lambda: store.current("door_open").value is False)


async def test_edges_inside_the_debounce_time_are_ignored() -> None:
    contact = pin_factory("mock").pin(16)
    contact.drive_high()
    source = panel({"name": "level_high", "kind": "input", "pin": 16, "active_low": True, "debounce": "50ms"})
    async with running(source) as store:
        await eventually(lambda: store.current("level_high").value is False)
        seen = history(store, "level_high")
        contact.drive_low()  # a bounce: back before the debounce time is over
        contact.drive_high()
        contact.drive_low()  # the contact closes for good
        await eventually(lambda: store.current("level_high").value is True)
        assert [reading.value for reading in seen] == [True]


async def test_a_counter_counts_pulses_and_reports_their_rate() -> None:
    pulses = pin_factory("mock").pin(13)
    pulses.drive_high()
    source = panel({"name": "flow_pulses", "kind": "counter", "pin": "GPIO13", "rate_window": "1s"})
    async with running(source) as store:
        await eventually(lambda: store.current("flow_pulses").value == 0)
        for _ in range(10):
            pulses.drive_low()
            pulses.drive_high()
        await eventually(lambda: store.current("flow_pulses").value == 10)
        assert store.current("flow_pulses_rate").value > 0


async def test_a_count_carries_the_time_of_its_last_edge() -> None:
    pulses = pin_factory("mock").pin(19)
    pulses.drive_high()
    source = panel({"name": "flow_pulses", "kind": "counter", "pin": 19})
    async with running(source) as store:
        await eventually(lambda: store.current("flow_pulses").value == 0)
        await asyncio.sleep(0.05)
        before = now_ns()
        for _ in range(3):
            pulses.drive_low()
            pulses.drive_high()
        after = now_ns()
        await eventually(lambda: store.current("flow_pulses").value == 3)
        assert before <= store.current("flow_pulses").source_time_ns <= after


@pytest.mark.parametrize(("pin", "edge", "expected"), [(20, None, 4), (21, "rising", 3), (26, "both", 7)])
async def test_a_counter_counts_the_edges_it_is_told_to(pin: int, edge: str | None, expected: int) -> None:
    pulses = pin_factory("mock").pin(pin)
    pulses.drive_high()
    point = {"name": "strokes", "kind": "counter", "pin": pin, "pull": "up"}
    if edge is not None:
        point["edge"] = edge
    async with running(panel(point)) as store:
        await eventually(lambda: store.current("strokes").value == 0)
        for _ in range(3):
            pulses.drive_low()
            pulses.drive_high()
        pulses.drive_low()  # a fourth pulse that has begun but not ended
        await eventually(lambda: store.current("strokes").value == expected)


async def test_the_environment_chooses_the_pin_factory_when_the_config_does_not(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("GPIOZERO_PIN_FACTORY", "mock")
    switch = pin_factory("mock").pin(14)
    source = panel({"name": "switch_on", "kind": "input", "pin": 14, "pull": "down"}, factory=None)
    async with running(source) as store:
        await eventually(lambda: store.current("switch_on").value is False)
        switch.drive_high()
        await eventually(lambda: store.current("switch_on").value is True)


NO_GPIO_HERE = not (Path("/dev/gpiochip0").exists() and find_spec("lgpio"))


@pytest.mark.skipif(not NO_GPIO_HERE, reason="this machine has GPIO through lgpio")
async def test_without_gpio_one_line_is_logged_and_the_tags_turn_bad(
    caplog: pytest.LogCaptureFixture,
) -> None:
    source = panel(
        {"name": "door_open", "kind": "input", "pin": 17},
        {"name": "alarm_lamp", "kind": "output", "pin": 22},
        factory="lgpio",
    )
    with caplog.at_level(logging.INFO, logger="drivers.gpio"):
        async with running(source) as store:
            await eventually(
                lambda: all(
                    store.current(tag).quality == Quality.BadConfigurationError
                    for tag in ("door_open", "alarm_lamp")
                )
            )
            await asyncio.sleep(0.1)
    lines = [record.getMessage() for record in caplog.records]
    assert len(lines) == 1, lines
    assert lines[0].startswith("panel: no GPIO on this machine (lgpio: ")
    assert lines[0].endswith("its tags stay Bad. Use pin_factory: mock to try the config without hardware.")


@pytest.mark.skipif(not NO_GPIO_HERE, reason="this machine has GPIO through lgpio")
async def test_without_gpio_a_write_is_refused_as_a_configuration_error() -> None:
    source = panel({"name": "alarm_lamp", "kind": "output", "pin": 22}, factory="lgpio")
    async with running(source) as store:
        await eventually(lambda: store.current("alarm_lamp").quality == Quality.BadConfigurationError)
        assert await source.write("alarm_lamp", True) == Quality.BadConfigurationError


async def test_a_pin_already_taken_turns_only_its_own_tag_bad(caplog: pytest.LogCaptureFixture) -> None:
    from gpiozero import LED

    other_program = LED(4, pin_factory=pin_factory("mock"))
    try:
        source = panel(
            {"name": "door_open", "kind": "input", "pin": 4},
            {"name": "hatch_open", "kind": "input", "pin": 15, "pull": "down"},
        )
        async with running(source) as store:
            await eventually(lambda: store.current("door_open").quality == Quality.BadConfigurationError)
            await eventually(lambda: store.current("hatch_open").quality == Quality.Good)
    finally:
        other_program.close()
    assert [record.getMessage().split(" (")[0] for record in caplog.records] == [
        "panel: cannot use GPIO4 for 'door_open'"
    ]
