"""Any model: several input and output tensors, float or 8-bit, normalised either way, mapped to tags."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from edge_agent.inference.pipeline import ModelPipeline
from edge_agent.quality import Quality
from edge_agent.tags import Reading
from tests.support.feeding import BACKENDS, model_config, pipeline_for

HERE = Path(__file__).resolve().parent  # the room's test models lie beside its tests

# The test model's input tensors are b (the latest value of 3 tags), then a (a window of 4 samples of 2
# tags); its outputs [sum(a), mean(b)] and 2 * b.
INPUTS = [{"tags": ["b0", "b1", "b2"]}, {"tags": ["a0", "a1"], "window": 4}]
OUTPUTS = [
    {"name": "sum_a", "output": 0, "index": 0},
    {"name": "mean_b", "output": 0, "index": 1},
    {"name": "double_b2", "output": 1, "index": 2},
    {"name": "largest_b", "classes": ["b0", "b1", "b2"], "output": 1},
]


def two_by_two(file: str, backend: str, **entry: object) -> ModelPipeline:
    path = HERE / file
    config = model_config(name="m", file=str(path), inputs=INPUTS, outputs=OUTPUTS, **entry)
    pipeline = pipeline_for(config, backend, path)
    assert pipeline.model is not None, pipeline.refusal
    return pipeline


async def run_cycles(pipeline: ModelPipeline, rows: list[dict[str, float]]) -> dict[str, Reading]:
    for row in rows:
        for tag, value in row.items():
            pipeline.store.publish(Reading(tag, value))
        await pipeline.cycle()
    return pipeline.store.snapshot()


def rows(cycles: int) -> list[dict[str, float]]:
    """Cycle k (from 1): a0 = 0.1 k, a1 = 0.05 k; b the same each time."""
    return [{"a0": 0.1 * k, "a1": 0.05 * k, "b0": 0.2, "b1": 0.8, "b2": -0.4} for k in range(1, cycles + 1)]


@pytest.mark.parametrize("backend", BACKENDS)
async def test_several_input_and_output_tensors_each_get_their_own_tags(backend: str) -> None:
    pipeline = two_by_two("two_by_two.tflite", backend)
    outputs = await run_cycles(pipeline, rows(6))

    window = np.asarray([[0.1 * k, 0.05 * k] for k in range(3, 7)])  # the last 4 samples of a
    assert outputs["sum_a"].value == pytest.approx(window.sum(), abs=1e-5)
    assert outputs["mean_b"].value == pytest.approx(0.2, abs=1e-6)
    assert outputs["double_b2"].value == pytest.approx(-0.8, abs=1e-6)
    assert outputs["largest_b"].value == "b1"
    assert outputs["largest_b_probability"].value == pytest.approx(1.6, abs=1e-6)
    assert all(
        outputs[name].quality == Quality.Good for name in ("sum_a", "largest_b", "largest_b_probability")
    )


@pytest.mark.parametrize("backend", BACKENDS)
async def test_min_max_normalisation_runs_through_the_tags_of_all_input_tensors(backend: str) -> None:
    # Tags in tensor order: b0, b1, b2, a0, a1. b scaled from [0, 2] to [0, 1], a from [-1, 1].
    normalize = {"min": [0, 0, 0, -1, -1], "max": [2, 2, 2, 1, 1]}
    pipeline = two_by_two("two_by_two.tflite", backend, normalize=normalize)
    outputs = await run_cycles(pipeline, rows(4))

    a = (np.asarray([[0.1 * k, 0.05 * k] for k in range(1, 5)]) + 1) / 2
    assert outputs["sum_a"].value == pytest.approx(a.sum(), abs=1e-5)
    assert outputs["mean_b"].value == pytest.approx((0.2 + 0.8 - 0.4) / 3 / 2, abs=1e-6)


@pytest.mark.parametrize("backend", BACKENDS)
async def test_uint8_tensors_are_quantised_and_dequantised_with_their_scale_and_zero_point(
    backend: str,
) -> None:
    float_outputs = await run_cycles(two_by_two("two_by_two.tflite", backend), rows(6))
    uint8 = two_by_two("two_by_two_uint8.tflite", backend)
    assert uint8.model is not None
    assert [tensor.scratch is not None for tensor in uint8.model.inputs] == [True, True]
    outputs = await run_cycles(uint8, rows(6))

    # The steps of 8 bits over the ranges the model was calibrated on (inputs in [-1, 1]).
    for name in ("sum_a", "mean_b", "double_b2", "largest_b_probability"):
        assert outputs[name].value == pytest.approx(float_outputs[name].value, abs=0.1), name
    assert outputs["largest_b"].value == "b1"


@pytest.mark.parametrize("backend", BACKENDS)
async def test_mean_std_normalisation_before_quantisation(backend: str) -> None:
    # (x - 1) / 2 for every tag: b becomes [-0.4, -0.1, -0.7], a (k = 1..4) stays inside [-1, 1].
    normalize = {"mean": [1] * 5, "std": [2] * 5}
    float_outputs = await run_cycles(two_by_two("two_by_two.tflite", backend, normalize=normalize), rows(4))
    outputs = await run_cycles(two_by_two("two_by_two_uint8.tflite", backend, normalize=normalize), rows(4))

    assert float_outputs["mean_b"].value == pytest.approx(-0.4, abs=1e-6)
    assert outputs["mean_b"].value == pytest.approx(-0.4, abs=0.05)
    assert outputs["largest_b"].value == float_outputs["largest_b"].value == "b1"
