"""A model over live tags: outputs appear as tags, and a bad model is refused while the rest runs."""

from __future__ import annotations

import asyncio
import logging

import pytest

from edge_agent.inference.pipeline import Alarm, ModelPipeline
from edge_agent.quality import Quality
from edge_agent.simulator.pump import PumpSimulator
from edge_agent.tags import Reading
from models import MODELS_DIR
from tests.support.feeding import PUMP_TAGS, feed, model_config, pipeline_for, settled_pump

BUNDLED = MODELS_DIR / "pump_anomaly.tflite"
OUTPUTS = [
    {"name": "anomaly_score", "index": 0},
    {"name": "anomaly", "from": "anomaly_score", "above": 1.0, "clear_below": 0.7},
]


def anomaly_pipeline(**changes: object) -> ModelPipeline:
    entry: dict[str, object] = {
        "name": "pump_health",
        "file": "pump_anomaly.tflite",
        "every": "20ms",
        "inputs": {"tags": PUMP_TAGS, "window": 16},
        "outputs": OUTPUTS,
    }
    return pipeline_for(model_config(**{**entry, **changes}))


async def test_healthy_pump_scores_low_and_a_bearing_fault_raises_the_alarm() -> None:
    pipeline = anomaly_pipeline()
    pump = settled_pump(seed=11)
    healthy = (await feed(pump, pipeline, 10))[-1]
    assert healthy["anomaly_score"].quality == Quality.Good
    assert healthy["anomaly_score"].value < 1.0
    assert healthy["anomaly"].value is False

    pump.bearing_fault = True
    faulty = (await feed(pump, pipeline, 20))[-1]
    assert faulty["anomaly_score"].value > 1.0
    assert faulty["anomaly"].value is True


async def test_outputs_wait_for_a_full_window_of_good_inputs() -> None:
    pipeline = anomaly_pipeline()
    outputs = await feed(PumpSimulator(seed=1), pipeline, 16 * 0.25)
    assert [seen["anomaly_score"].quality for seen in outputs] == [Quality.BadWaitingForInitialData] * 15 + [
        Quality.Good
    ]
    assert pipeline.invocations == 1


async def test_a_bad_input_restarts_the_window_and_the_outputs_say_so() -> None:
    pipeline = anomaly_pipeline()
    pump = PumpSimulator(seed=2)
    await feed(pump, pipeline, 5)
    assert pipeline.store.current("anomaly_score").quality == Quality.Good

    pipeline.store.publish(Reading("vibration_rms", None, Quality.BadTimeout))
    await pipeline.cycle()
    assert pipeline.store.current("anomaly_score").quality == Quality.BadWaitingForInitialData
    refilled = await feed(pump, pipeline, 16 * 0.25)
    assert [seen["anomaly_score"].quality.is_good for seen in refilled].index(True) == 15


async def test_a_stopped_pipeline_leaves_every_tag_out_of_service() -> None:
    pipeline = anomaly_pipeline()
    task = asyncio.create_task(pipeline.run())
    await asyncio.sleep(0.05)
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)
    for info in pipeline.config.tag_infos():
        assert pipeline.store.current(info.name).quality == Quality.BadOutOfService, info.name


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


async def test_a_model_named_by_file_alone_takes_everything_else_from_its_card(
    caplog: pytest.LogCaptureFixture,
) -> None:
    config = model_config(name="pump_health", file="pump_anomaly.tflite")
    assert [info.name for info in config.tag_infos()][:2] == ["anomaly_score", "anomaly"]
    assert config.every == 0.25
    with caplog.at_level(logging.INFO, logger="edge_agent.inference"):
        pipeline = pipeline_for(config)
    assert pipeline.model is not None
    assert "inputs from the model card" in caplog.text
    assert "num_threads from the default" in caplog.text

    pump = settled_pump(seed=5)
    pump.bearing_fault = True
    outputs = (await feed(pump, pipeline, 20))[-1]
    assert outputs["anomaly"].value is True  # the card's alarm, at the card's threshold


async def test_the_config_wins_over_the_card_where_both_say_something() -> None:
    config = model_config(
        name="pump_health",
        file="pump_anomaly.tflite",
        outputs=[{"name": "health", "index": 0}, {"name": "unhealthy", "from": "health", "above": -1.0}],
    )
    assert config.origins["outputs"] == "config"
    assert config.origins["inputs"] == "model card"
    pipeline = pipeline_for(config)
    outputs = (await feed(settled_pump(seed=6), pipeline, 5))[-1]
    assert outputs["unhealthy"].value is True
    assert "anomaly" not in pipeline.store.snapshot()


async def test_statistics_are_published_as_tags_at_most_once_a_second() -> None:
    pipeline = anomaly_pipeline()
    store = pipeline.store
    updates: list[Reading] = []
    store.listen(lambda reading: updates.append(reading) if reading.tag.startswith("pump_health_") else None)
    await feed(settled_pump(seed=7), pipeline, 10)  # 40 cycles in a fraction of a second

    assert pipeline.invocations == 25
    # Published once, in the first cycle, before any invocation; latencies not at all yet.
    assert sorted((r.tag, r.value) for r in updates) == [
        ("pump_health_invocations", 0),
        ("pump_health_overruns", 0),
    ]

    pipeline._next_statistics = 0.0  # as if a second had passed
    inline = pipeline.inline
    await feed(settled_pump(seed=7), pipeline, 0.25)
    # The cycle publishes after starting its invocation: one on the event loop has finished by then, one in
    # its own thread (where a slow machine, or emulation, puts the model) is counted at the next publication.
    assert pipeline.invocations == 26
    assert store.current("pump_health_invocations").value == (26 if inline else 25)
    mean, p99 = store.current("pump_health_latency_mean_ms"), store.current("pump_health_latency_p99_ms")
    assert mean.quality == p99.quality == Quality.Good
    assert 0 < mean.value <= p99.value


async def test_a_model_that_is_refused_leaves_its_tags_bad_with_the_reason_logged(
    caplog: pytest.LogCaptureFixture,
) -> None:
    with caplog.at_level(logging.ERROR):
        pipeline = anomaly_pipeline(sha256="0" * 64)
    assert pipeline.model is None
    assert "SHA-256" in caplog.text
    task = asyncio.create_task(pipeline.run())
    await asyncio.sleep(0)
    for info in pipeline.config.tag_infos():
        assert pipeline.store.current(info.name).quality == Quality.BadConfigurationError, info.name
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)
