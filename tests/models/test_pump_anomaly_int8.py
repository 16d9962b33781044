"""The int8 pump anomaly model against the float one: within a stated tolerance on held-out data.

The tolerance, as its card states it: on healthy running (setpoint changes, stops and starts
included) the int8 score is within 0.1 of the float score; on every window whose float score is more
than 0.1 from the threshold and whose normalised inputs lie within +-4 standard deviations (the int8
model clips beyond), both make the same alarm decision; a developed fault alarms in both. Held out:
pump seeds and runs the training never saw, fed through the agent's own normalisation and
quantisation.
"""

from __future__ import annotations

import numpy as np
import pytest

from edge_agent.config.inference import Normalization
from edge_agent.inference.model import LoadedModel
from edge_agent.simulator.pump import PumpSimulator
from models import MODELS_DIR
from tests.support.feeding import PUMP_TAGS, feed, model_config, pipeline_for, settled_pump

HEALTHY_TOLERANCE = 0.1
DECISION_MARGIN = 0.1
INPUT_CLIP = 4.0
WINDOW = 16


def loaded(file: str) -> LoadedModel:
    return LoadedModel(MODELS_DIR / file, model_config(name="m", file=file))


@pytest.fixture(scope="module")
def models() -> tuple[LoadedModel, LoadedModel]:
    return loaded("pump_anomaly.tflite"), loaded("pump_anomaly_int8.tflite")


def samples(pump: PumpSimulator, seconds: float) -> list[list[float]]:
    states = [pump.step(0.25) for _ in range(round(seconds / 0.25))]
    return [[getattr(state, tag) for tag in PUMP_TAGS] for state in states]


def healthy_run(seed: int) -> np.ndarray:
    pump = settled_pump(seed, 2400 + seed % 7 * 100)
    rows = samples(pump, 60)
    pump.speed_setpoint = 2500
    rows += samples(pump, 30)
    pump.running = False
    rows += samples(pump, 40)
    pump.running = True
    rows += samples(pump, 40)
    return np.asarray(rows, dtype=np.float32)


def fault_run(seed: int) -> np.ndarray:
    pump = settled_pump(seed, 2400 + seed % 7 * 100)
    rows = samples(pump, 20)
    pump.bearing_fault = True
    rows += samples(pump, 40)
    return np.asarray(rows, dtype=np.float32)


def windows(run: np.ndarray) -> np.ndarray:
    """Every window of the run, one sample apart, as the agent sees them."""
    return np.stack([run[end - WINDOW : end] for end in range(WINDOW, len(run) + 1)])


def scores(model: LoadedModel, run: np.ndarray) -> np.ndarray:
    return np.asarray([float(model.infer(window)[0].item()) for window in windows(run)])


@pytest.mark.parametrize("seed", [901, 902, 903, 904])
def test_on_healthy_running_the_int8_score_is_within_the_tolerance_of_the_float_score(
    models: tuple[LoadedModel, LoadedModel], seed: int
) -> None:
    float_model, int8_model = models
    run = healthy_run(seed)  # setpoint changes, a stop and a restart
    float_scores, int8_scores = scores(float_model, run), scores(int8_model, run)
    assert np.abs(int8_scores - float_scores).max() < HEALTHY_TOLERANCE
    assert int8_scores.max() < 1.0


@pytest.mark.parametrize("seed", [911, 912, 913, 914])
def test_int8_and_float_make_the_same_alarm_decisions(
    models: tuple[LoadedModel, LoadedModel], seed: int
) -> None:
    float_model, int8_model = models
    run = fault_run(seed)
    float_scores, int8_scores = scores(float_model, run), scores(int8_model, run)
    normalize = model_config(name="m", file="pump_anomaly.tflite").normalize
    assert isinstance(normalize, Normalization)
    normalised = (windows(run) - np.asarray(normalize.mean)) / np.asarray(normalize.std)
    inside = np.abs(normalised).max(axis=(1, 2)) <= INPUT_CLIP
    clear = (np.abs(float_scores - 1.0) > DECISION_MARGIN) & inside

    assert clear.sum() > 20
    assert np.array_equal(float_scores[clear] > 1.0, int8_scores[clear] > 1.0)
    developed = slice(-40, None)  # the last 10 s of the fault, inputs clipped or not
    assert (float_scores[developed] > 1.0).all()
    assert (int8_scores[developed] > 1.0).all()


async def test_end_to_end_the_int8_model_alarms_on_a_bearing_fault_and_not_before() -> None:
    pipeline = pipeline_for(model_config(name="pump_health", file="pump_anomaly_int8.tflite"))
    assert pipeline.model is not None
    assert [tensor.scratch is not None for tensor in pipeline.model.inputs] == [True]  # quantised input
    pump = settled_pump(seed=921)
    healthy = await feed(pump, pipeline, 60)
    assert not any(seen["anomaly"].value for seen in healthy)
    pump.bearing_fault = True
    faulty = await feed(pump, pipeline, 20)
    assert all(seen["anomaly"].value for seen in faulty[-40:])
