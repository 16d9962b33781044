"""The pump's physics on its own: plain step() calls in simulated time."""

from __future__ import annotations

import math
import statistics
from dataclasses import astuple

from edge_agent.simulator import PumpSimulator, PumpState

SAMPLE_PERIOD_S = 0.25


def run(pump: PumpSimulator, seconds: float, dt: float = SAMPLE_PERIOD_S) -> list[PumpState]:
    return [pump.step(dt) for _ in range(round(seconds / dt))]


def mean_of(states: list[PumpState], field: str) -> float:
    return statistics.fmean(getattr(state, field) for state in states)


def test_the_same_seed_replays_the_same_readings() -> None:
    first, second = PumpSimulator(seed=42), PumpSimulator(seed=42)
    for pump in (first, second):
        pump.step(30.0)
        pump.bearing_fault = True
    assert [astuple(s) for s in run(first, 20)] == [astuple(s) for s in run(second, 20)]


def test_different_seeds_give_different_noise() -> None:
    assert astuple(PumpSimulator(seed=1).step(1.0)) != astuple(PumpSimulator(seed=2).step(1.0))


def test_normal_running_stays_in_the_documented_ranges() -> None:
    states = run(PumpSimulator(seed=7), 600)

    assert all(state.running for state in states)
    assert 55 <= min(s.motor_temperature for s in states) <= max(s.motor_temperature for s in states) <= 70
    assert 1.5 <= min(s.vibration_rms for s in states) <= max(s.vibration_rms for s in states) <= 3.0
    assert 4 <= min(s.discharge_pressure for s in states) <= max(s.discharge_pressure for s in states) <= 6
    assert 40 <= min(s.flow_rate for s in states) <= max(s.flow_rate for s in states) <= 60
    assert abs(mean_of(states, "motor_speed") - 2900) < 5


def test_readings_are_noisy() -> None:
    states = run(PumpSimulator(seed=7), 10)
    for field in ("motor_temperature", "vibration_rms", "discharge_pressure", "flow_rate", "motor_speed"):
        assert len({getattr(state, field) for state in states}) > 1, field


def test_speed_ramps_to_a_new_setpoint_and_flow_and_pressure_follow() -> None:
    pump = PumpSimulator(seed=3)
    before = run(pump, 5)
    pump.speed_setpoint = 2400

    halfway = pump.step(0.25).motor_speed
    after = run(pump, 10)[-20:]

    assert 2400 + 50 < halfway < 2900 - 50
    assert abs(mean_of(after, "motor_speed") - 2400) < 5
    flow_ratio = mean_of(after, "flow_rate") / mean_of(before, "flow_rate")
    pressure_ratio = mean_of(after, "discharge_pressure") / mean_of(before, "discharge_pressure")
    assert math.isclose(flow_ratio, 2400 / 2900, rel_tol=0.03)
    assert math.isclose(pressure_ratio, (2400 / 2900) ** 2, rel_tol=0.03)


def test_a_stopped_pump_delivers_nothing_and_cools_down() -> None:
    pump = PumpSimulator(seed=5)
    warm = mean_of(run(pump, 5), "motor_temperature")
    pump.running = False

    stopped = run(pump, 10)[-8:]
    cooled = run(pump, 1800)[-8:]

    assert all(not s.running and s.motor_speed == 0 for s in stopped)
    assert all(s.flow_rate == 0 and s.discharge_pressure == 0 for s in stopped)
    assert 0.05 < mean_of(stopped, "vibration_rms") < 0.2
    assert mean_of(cooled, "motor_temperature") < warm - 25
    assert 18 < mean_of(cooled, "motor_temperature") < 35


def test_a_bearing_fault_shakes_and_heats_the_pump_until_it_is_cleared() -> None:
    pump = PumpSimulator(seed=11)
    healthy = run(pump, 20)
    pump.bearing_fault = True
    run(pump, 4)
    shaking = run(pump, 4)
    run(pump, 22)
    hot = run(pump, 4)
    pump.bearing_fault = False
    recovered = run(pump, 180)[-16:]

    vibration_rise = mean_of(shaking, "vibration_rms") / mean_of(healthy, "vibration_rms")
    temperature_rise = mean_of(hot, "motor_temperature") - mean_of(healthy, "motor_temperature")
    assert 3 <= vibration_rise <= 5
    assert max(s.vibration_rms for s in shaking) > 1.3 * mean_of(shaking, "vibration_rms"), "no spikes"
    assert 10 <= temperature_rise <= 20
    assert math.isclose(mean_of(recovered, "vibration_rms"), mean_of(healthy, "vibration_rms"), rel_tol=0.15)
    assert abs(mean_of(recovered, "motor_temperature") - mean_of(healthy, "motor_temperature")) < 2


def test_one_long_step_lands_where_many_short_ones_do() -> None:
    short, long = PumpSimulator(seed=9), PumpSimulator(seed=9)
    for pump in (short, long):
        pump.running = False
    run(short, 3600, dt=0.25)
    one = long.step(3600.0)

    assert one.motor_speed == 0 and one.flow_rate == 0
    assert abs(one.motor_temperature - short.state.motor_temperature) < 6
