"""Digital and PWM outputs on gpiozero's mock pins, switched by writes as an OPC UA client makes them."""

from __future__ import annotations

from drivers.gpio.factories import pin_factory
from edge_agent.quality import Quality
from edge_agent.tagstore import TagStore
from tests.support.waiting import eventually

from .gpio_panel import panel, running


def is_good(store: TagStore, tag: str) -> bool:
    return store.current(tag).quality == Quality.Good


async def test_an_output_starts_at_its_initial_state() -> None:
    async with running(panel({"name": "pump_on", "kind": "output", "pin": 23, "initial": True})) as store:
        await eventually(lambda: is_good(store, "pump_on"))
        assert (store.current("pump_on").value, pin_factory("mock").pin(23).state) == (True, True)


async def test_a_write_switches_the_output_and_the_tag_follows() -> None:
    lamp = pin_factory("mock").pin(22)
    async with running(panel({"name": "alarm_lamp", "kind": "output", "pin": "GPIO22"})) as store:
        await eventually(lambda: is_good(store, "alarm_lamp"))
        assert not lamp.state
        assert await store.write("alarm_lamp", True) == Quality.Good
        assert lamp.state
        assert (store.current("alarm_lamp").value, store.current("alarm_lamp").quality) == (
            True,
            Quality.Good,
        )
        assert await store.write("alarm_lamp", False) == Quality.Good
        assert (lamp.state, store.current("alarm_lamp").value) == (False, False)


async def test_an_active_low_output_pulls_its_pin_low_when_on() -> None:
    relay = pin_factory("mock").pin(24)
    async with running(panel({"name": "relay", "kind": "output", "pin": 24, "active_low": True})) as store:
        await eventually(lambda: is_good(store, "relay"))
        assert relay.state
        await store.write("relay", True)
        assert not relay.state


async def test_a_read_only_output_refuses_writes() -> None:
    source = panel({"name": "beacon", "kind": "output", "pin": 25, "writable": False})
    async with running(source) as store:
        await eventually(lambda: is_good(store, "beacon"))
        assert await source.write("beacon", True) == Quality.BadNotWritable
        assert not pin_factory("mock").pin(25).state


async def test_a_write_of_another_type_than_bool_is_refused() -> None:
    source = panel({"name": "horn", "kind": "output", "pin": 18})
    async with running(source) as store:
        await eventually(lambda: is_good(store, "horn"))
        assert await source.write("horn", 1.0) == Quality.BadTypeMismatch


async def test_a_pwm_output_runs_at_its_frequency_and_initial_duty_cycle() -> None:
    point = {"name": "fan", "kind": "pwm", "pin": 12, "frequency": 500, "initial": 0.5}
    async with running(panel(point)) as store:
        await eventually(lambda: is_good(store, "fan"))
        fan = pin_factory("mock").pin(12)
        assert (fan.frequency, fan.state, store.current("fan").value) == (500, 0.5, 0.5)


async def test_a_pwm_write_sets_the_duty_cycle() -> None:
    async with running(panel({"name": "dimmer", "kind": "pwm", "pin": 6})) as store:
        await eventually(lambda: is_good(store, "dimmer"))
        assert await store.write("dimmer", 0.25) == Quality.Good
        assert pin_factory("mock").pin(6).state == 0.25
        assert store.current("dimmer").value == 0.25


async def test_a_pwm_write_outside_0_to_1_is_refused_and_changes_nothing() -> None:
    async with running(panel({"name": "valve", "kind": "pwm", "pin": 27, "initial": 0.3})) as store:
        await eventually(lambda: is_good(store, "valve"))
        assert await store.write("valve", 1.5) == Quality.BadOutOfRange
        assert await store.write("valve", -0.1) == Quality.BadOutOfRange
        assert (pin_factory("mock").pin(27).state, store.current("valve").value) == (0.3, 0.3)
