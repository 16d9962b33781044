"""The bundled pump state classifier tells off, normal, cavitation and a bearing fault apart."""

from __future__ import annotations

import statistics

import pytest

from edge_agent.simulator.pump import PumpSimulator, PumpState
from tests.support.feeding import feed, model_config, pipeline_for, settled_pump

STATES = ["off", "normal", "cavitation", "bearing_fault"]


def put_in(pump: PumpSimulator, state: str) -> None:
    pump.running = state != "off"
    pump.cavitation = state == "cavitation"
    pump.bearing_fault = state == "bearing_fault"


def test_its_card_declares_the_four_states_as_a_classifier() -> None:
    config = model_config(name="pump", file="pump_state.tflite")
    (classifier,) = config.classifiers
    assert classifier.name == "pump_state"
    assert classifier.classes == STATES
    assert config.normalize is not None and type(config.normalize).__name__ == "MinMaxNormalization"


@pytest.mark.parametrize("state", STATES)
@pytest.mark.parametrize(("seed", "setpoint"), [(41, 2900), (42, 2450), (43, 3000)])
async def test_ten_seconds_into_a_state_the_classifier_names_it(
    state: str, seed: int, setpoint: float
) -> None:
    pipeline = pipeline_for(model_config(name="pump", file="pump_state.tflite"))
    pump = settled_pump(seed, setpoint)
    await feed(pump, pipeline, 10)
    put_in(pump, state)
    await feed(pump, pipeline, 10)

    outputs = await feed(pump, pipeline, 30)

    labels = [seen["pump_state"].value for seen in outputs]
    assert labels.count(state) >= 0.95 * len(labels), labels
    probabilities = [
        seen["pump_state_probability"].value for seen in outputs if seen["pump_state"].value == state
    ]
    assert statistics.median(probabilities) > 0.9


def run(pump: PumpSimulator, seconds: float) -> list[PumpState]:
    return [pump.step(0.25) for _ in range(round(seconds / 0.25))]


def test_the_simulated_cavitation_drops_pressure_and_flow_and_shakes_without_heating() -> None:
    healthy, cavitating, bearing = (settled_pump(seed) for seed in (51, 51, 51))
    before = run(healthy, 60)
    cavitating.cavitation = True
    bearing.bearing_fault = True
    run(cavitating, 20)
    run(bearing, 20)
    during, faulty = run(cavitating, 60), run(bearing, 60)

    def mean(states: list[PumpState], field: str) -> float:
        return statistics.fmean(getattr(s, field) for s in states)

    def spread(states: list[PumpState], field: str) -> float:
        return statistics.stdev(getattr(s, field) for s in states)

    assert mean(during, "discharge_pressure") < 0.85 * mean(before, "discharge_pressure")
    assert spread(during, "discharge_pressure") > 3 * spread(before, "discharge_pressure")
    assert mean(during, "flow_rate") < 0.9 * mean(before, "flow_rate")
    assert mean(during, "vibration_rms") > 1.5 * mean(before, "vibration_rms")
    assert mean(during, "motor_temperature") < mean(before, "motor_temperature") + 2
    # A bearing fault shakes harder and heats the motor; the hydraulics stay as they were.
    assert mean(faulty, "vibration_rms") > 1.3 * mean(during, "vibration_rms")
    assert mean(faulty, "motor_temperature") > mean(before, "motor_temperature") + 5
    assert mean(faulty, "discharge_pressure") == pytest.approx(mean(before, "discharge_pressure"), rel=0.05)


def test_a_pump_that_never_cavitates_replays_the_readings_it_gave_before_cavitation_existed() -> None:
    # The bundled anomaly model was trained on these readings; retraining it must give the same model.
    pump = PumpSimulator(seed=1729)
    states = run(pump, 5)
    assert states[-1].motor_speed == pytest.approx(2900, abs=20)
    twin = PumpSimulator(seed=1729)
    twin.cavitation = True
    twin.cavitation = False
    assert run(twin, 5) == states
