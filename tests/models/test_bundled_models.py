"""Every bundled model, loaded from its card alone, runs on the simulated pump through the pipeline."""

from __future__ import annotations

import hashlib

import pytest
from ruamel.yaml import YAML

from edge_agent.quality import Quality
from models import MODELS_DIR
from tests.support.feeding import BACKENDS, feed, model_config, pipeline_for, settled_pump

BUNDLED = sorted(path.name for path in MODELS_DIR.glob("*.tflite"))


def test_the_bundled_models_are_the_documented_ones() -> None:
    assert BUNDLED == ["pump_anomaly.tflite", "pump_anomaly_int8.tflite", "pump_state.tflite"]
    readme = (MODELS_DIR / "README.md").read_text()
    for name in BUNDLED:
        assert f"`{name}`" in readme


@pytest.mark.parametrize("name", BUNDLED)
def test_each_has_a_card_that_names_it_by_its_sha256(name: str) -> None:
    model = MODELS_DIR / name
    card = YAML(typ="safe").load(model.with_name(model.stem + ".card.yaml"))
    assert card["file"] == name
    assert card["sha256"] == hashlib.sha256(model.read_bytes()).hexdigest()
    assert model.stat().st_size < 100_000


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("name", BUNDLED)
async def test_each_runs_on_the_simulated_pump_with_nothing_but_its_card(name: str, backend: str) -> None:
    config = model_config(name="model", file=name)
    pipeline = pipeline_for(config, backend)
    assert pipeline.model is not None, pipeline.refusal
    assert pipeline.model.backend == backend

    outputs = (await feed(settled_pump(seed=1), pipeline, 8))[-1]

    assert set(outputs) == {info.name for info in config.tag_infos()}
    for tag in set(outputs) - set(config.statistics_tags()):
        assert outputs[tag].quality == Quality.Good, tag
    assert pipeline.invocations == 32 - 16 + 1
