"""A model over live tags: outputs appear as tags, and a bad model is refused while the rest runs."""

from __future__ import annotations

import asyncio
import shutil
from pathlib import Path

import pytest

from edge_agent.config import ModelConfig
from edge_agent.inference.model import LoadedModel, ModelRefused
from edge_agent.inference.pipeline import Alarm, ModelPipeline
from edge_agent.quality import Quality
from edge_agent.simulator.pump import PumpSimulator
from edge_agent.tags import Reading, TagInfo
from edge_agent.tagstore import TagStore
from models import MODELS_DIR

INPUTS = ["motor_temperature", "vibration_rms", "discharge_pressure", "flow_rate", "motor_speed"]
BUNDLED = MODELS_DIR / "pump_anomaly.tflite"


def model_config(**changes: object) -> ModelConfig:
    data: dict[str, object] = {
        "name": "pump_health",
        "file": "pump_anomaly.tflite",
        "every": "20ms",
        "inputs": {"tags": INPUTS, "window": 16},
        "outputs": [
            {"name": "anomaly_score", "index": 0},
            {"name": "anomaly", "from": "anomaly_score", "above": 1.0, "clear_below": 0.7},
        ],
    }
    data.update(changes)
    return ModelConfig.model_validate(data)


def store_with_inputs() -> TagStore:
    store = TagStore(TagInfo(tag, "pump", "float") for tag in INPUTS)
    for info in model_config().tag_infos():
        store.declare(info)
    return store


def publish_state(store: TagStore, pump: PumpSimulator) -> None:
    state = pump.step(0.25)
    for tag in INPUTS:
        store.publish(Reading(tag, float(getattr(state, tag))))


async def run_pipeline_on(
    pump: PumpSimulator, store: TagStore, pipeline: ModelPipeline, samples: int
) -> None:
    task = asyncio.create_task(pipeline.run())
    try:
        for _ in range(samples):
            publish_state(store, pump)
            await asyncio.sleep(0.02)
        await asyncio.sleep(0.1)
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)


async def test_healthy_pump_scores_low_and_a_bearing_fault_raises_the_alarm() -> None:
    pump = PumpSimulator(seed=11)
    for _ in range(400):  # warm up to steady running
        pump.step(0.25)
    store = store_with_inputs()
    pipeline = ModelPipeline(model_config(), BUNDLED, store)
    await run_pipeline_on(pump, store, pipeline, 40)
    healthy = store.current("anomaly_score")
    assert healthy.quality == Quality.Good
    assert healthy.value < 1.0
    assert store.current("anomaly").value is False

    pump.bearing_fault = True
    await run_pipeline_on(pump, store, pipeline, 80)
    assert store.current("anomaly_score").value > 1.0
    assert store.current("anomaly").value is True
    assert pipeline.invocations > 0


async def test_outputs_wait_for_a_full_window_of_good_inputs() -> None:
    store = store_with_inputs()
    pipeline = ModelPipeline(model_config(), BUNDLED, store)
    await run_pipeline_on(PumpSimulator(seed=1), store, pipeline, 5)
    assert store.current("anomaly_score").quality == Quality.BadWaitingForInitialData


def test_hysteresis_keeps_the_alarm_on_until_the_score_clears() -> None:
    alarm = Alarm(above=1.0, clear_below=0.7)
    assert [alarm.update(s) for s in (0.5, 1.2, 0.9, 0.75, 0.69, 0.9)] == [
        False,
        True,
        True,
        True,
        False,
        False,
    ]


def test_a_hash_mismatch_refuses_the_model_and_its_outputs_go_bad() -> None:
    store = store_with_inputs()
    pipeline = ModelPipeline(model_config(sha256="0" * 64), BUNDLED, store)
    pipeline.load()
    assert pipeline.model is None
    assert "SHA-256" in (pipeline.refusal or "")
    assert store.current("anomaly_score").quality == Quality.BadConfigurationError


@pytest.mark.parametrize(
    "damage",
    [lambda b: b[:2000], lambda b: b"not a model at all" * 10, lambda b: b[:64] + bytes(len(b) - 64)],
    ids=["truncated", "garbage", "zeroed"],
)
def test_a_corrupt_model_file_is_refused_with_a_reason_and_the_agent_survives(tmp_path: Path, damage) -> None:
    # The interpreter segfaults on some of these; the agent must only refuse them.
    broken = tmp_path / "pump_anomaly.tflite"
    broken.write_bytes(damage(BUNDLED.read_bytes()))
    with pytest.raises(ModelRefused, match=r"corrupt|not a valid TFLite model"):
        LoadedModel(broken, n_features=5, window=16, expected_sha256=None, normalise=None)


def test_a_window_that_does_not_fit_the_input_tensor_names_both_shapes(tmp_path: Path) -> None:
    model = tmp_path / "m.tflite"
    shutil.copy(BUNDLED, model)
    with pytest.raises(ModelRefused, match=r"input shape is \[1, 16, 5\], expected \[1, 8, 5\]"):
        LoadedModel(model, n_features=5, window=8, expected_sha256=None, normalise=None)
