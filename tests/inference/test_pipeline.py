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
) -> dict[str, Reading]:
    """Feed ``samples`` pump states while the pipeline runs; the outputs as they were before it stopped."""
    if pipeline.model is None:
        await asyncio.to_thread(pipeline.load)
    task = asyncio.create_task(pipeline.run())
    try:
        for _ in range(samples):
            publish_state(store, pump)
            await asyncio.sleep(0.02)
        await asyncio.sleep(0.1)
        return {name: store.current(name) for name in ("anomaly_score", "anomaly")}
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)


async def test_healthy_pump_scores_low_and_a_bearing_fault_raises_the_alarm() -> None:
    pump = PumpSimulator(seed=11)
    for _ in range(400):  # warm up to steady running
        pump.step(0.25)
    store = store_with_inputs()
    pipeline = ModelPipeline(model_config(), BUNDLED, store)
    healthy = await run_pipeline_on(pump, store, pipeline, 40)
    assert healthy["anomaly_score"].quality == Quality.Good
    assert healthy["anomaly_score"].value < 1.0
    assert healthy["anomaly"].value is False

    pump.bearing_fault = True
    faulty = await run_pipeline_on(pump, store, pipeline, 80)
    assert faulty["anomaly_score"].value > 1.0
    assert faulty["anomaly"].value is True
    assert pipeline.invocations > 0


async def test_outputs_wait_for_a_full_window_of_good_inputs() -> None:
    store = store_with_inputs()
    pipeline = ModelPipeline(model_config(), BUNDLED, store)
    pump = PumpSimulator(seed=1)
    early = await run_pipeline_on(pump, store, pipeline, 5)
    assert pipeline.model is not None
    assert pipeline.invocations == 0
    assert early["anomaly_score"].quality == Quality.BadWaitingForInitialData
    full = await run_pipeline_on(pump, store, pipeline, 20)
    assert pipeline.invocations > 0
    assert full["anomaly_score"].quality == Quality.Good


async def test_a_bad_input_restarts_the_window_and_the_outputs_say_so() -> None:
    store = store_with_inputs()
    pipeline = ModelPipeline(model_config(), BUNDLED, store)
    pump = PumpSimulator(seed=2)
    await run_pipeline_on(pump, store, pipeline, 20)
    store.publish(Reading("vibration_rms", None, Quality.BadTimeout))
    task = asyncio.create_task(pipeline.run())
    try:
        await asyncio.sleep(0.1)
        assert store.current("anomaly_score").quality == Quality.BadWaitingForInitialData
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)


def test_a_stopped_pipeline_leaves_its_outputs_out_of_service() -> None:
    async def scenario() -> Quality:
        store = store_with_inputs()
        pipeline = ModelPipeline(model_config(), BUNDLED, store)
        await run_pipeline_on(PumpSimulator(seed=3), store, pipeline, 20)
        return store.current("anomaly_score").quality

    assert asyncio.run(scenario()) == Quality.BadOutOfService


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


def test_a_model_card_whose_window_differs_from_the_config_refuses_the_model(tmp_path: Path) -> None:
    with pytest.raises(ModelRefused, match="window of 16 samples, the config gives 8"):
        LoadedModel(BUNDLED, n_features=5, window=8, expected_sha256=None, normalise=None, input_tags=INPUTS)


def test_a_broken_model_card_refuses_the_model_not_the_agent(tmp_path: Path) -> None:
    model = tmp_path / "pump_anomaly.tflite"
    shutil.copy(BUNDLED, model)
    (tmp_path / "pump_anomaly.card.yaml").write_text("normalize: {mean: [1, 2, 3, 4, 5]}\n")
    with pytest.raises(ModelRefused, match="'mean' and 'std'"):
        LoadedModel(model, n_features=5, window=16, expected_sha256=None, normalise=None)
