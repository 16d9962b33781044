"""Feeding a model pipeline as the agent does: a tag store, the simulated pump's readings, one cycle each."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Any

import pytest

from edge_agent.config.inference import ModelConfig
from edge_agent.inference.pipeline import ModelPipeline
from edge_agent.simulator.pump import PumpSimulator
from edge_agent.tags import Reading, TagInfo
from edge_agent.tagstore import TagStore
from models import MODELS_DIR

PUMP_TAGS = ["motor_temperature", "vibration_rms", "discharge_pressure", "flow_rate", "motor_speed"]
SAMPLE_PERIOD_S = 0.25

BACKENDS = [
    pytest.param(
        name,
        marks=pytest.mark.skipif(
            importlib.util.find_spec(name) is None, reason=f"{name} is not installed in this environment"
        ),
    )
    for name in ("tflite_runtime", "ai_edge_litert")
]
"""The interpreters a test runs with: tflite_runtime (the default on Python 3.11) and the other one."""


def model_config(**entry: Any) -> ModelConfig:
    """A `models:` entry as the config would hold it, completed from the card like the loader does."""
    return ModelConfig.model_validate(entry, context={"config_dir": MODELS_DIR})


def store_for(config: ModelConfig, inputs: list[str] | None = None) -> TagStore:
    """A tag store with the model's input tags (as floats) and its outputs declared."""
    store = TagStore(TagInfo(tag, "plant", "float") for tag in dict.fromkeys(inputs or config.input_tags))
    for info in config.tag_infos():
        store.declare(info)
    return store


def pipeline_for(config: ModelConfig, backend: str | None = None, file: Path | None = None) -> ModelPipeline:
    pipeline = ModelPipeline(config, file or MODELS_DIR / config.file, store_for(config), backend=backend)
    pipeline.load()
    return pipeline


def settled_pump(seed: int, setpoint: float = 2900.0) -> PumpSimulator:
    pump = PumpSimulator(seed)
    pump.speed_setpoint = setpoint
    pump.step(600.0)
    return pump


async def feed(pump: PumpSimulator, pipeline: ModelPipeline, seconds: float) -> list[dict[str, Reading]]:
    """Step the pump for ``seconds``, one sample and one pipeline cycle every 250 ms.

    Returns the model's outputs after each cycle.
    """
    store = pipeline.store
    names = [info.name for info in pipeline.config.tag_infos()]
    seen = []
    for _ in range(round(seconds / SAMPLE_PERIOD_S)):
        state = pump.step(SAMPLE_PERIOD_S)
        for tag in PUMP_TAGS:
            store.publish(Reading(tag, float(getattr(state, tag))))
        await pipeline.cycle()
        seen.append({name: store.current(name) for name in names})
    return seen
