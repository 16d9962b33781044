"""The Condition Monitoring submodel: per model, what it concludes now and what it is.

``model_info`` maps a model's name to what is known of it beyond the config, every key optional:

- ``version``, ``description``: from its model card;
- ``sha256``: the file's digest as loaded (else the config's ``sha256``, if given);
- ``latency_ms``: inference latency statistics, a mapping of ``p50``, ``p99``, ``mean``, ``max`` to
  milliseconds;
- ``inferences``: how many times it ran.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from aas_core3 import types as aas

from edge_agent.agent_config import AgentConfig
from edge_agent.config.inference import ModelConfig

from . import ids
from .elements import collection, prop, submodel
from .live import live_property

ModelInfo = Mapping[str, Mapping[str, Any]]

LATENCY_STATISTICS = {"p50": "P50Ms", "p99": "P99Ms", "mean": "MeanMs", "max": "MaxMs"}
"""The latency statistics a model's info may hold, and the idShort each gets."""


def xs_duration(seconds: float) -> str:
    """Seconds as an xs:duration: 0.25 -> PT0.25S."""
    return "PT" + f"{seconds:.3f}".rstrip("0").rstrip(".") + "S"


def _text(info: Mapping[str, Any], key: str) -> str | None:
    value = info.get(key)
    return str(value) if value not in (None, "") else None


def _latency(stats: Mapping[str, Any]) -> aas.SubmodelElementCollection | None:
    elements: list[aas.SubmodelElement] = [
        prop(id_short, float(stats[name]))
        for name, id_short in LATENCY_STATISTICS.items()
        if stats.get(name) is not None
    ]
    if not elements:
        return None
    return collection("LatencyStatistics", elements, description="Inference latency in milliseconds")


def _metadata(model: ModelConfig, info: Mapping[str, Any]) -> list[aas.SubmodelElement]:
    elements: list[aas.SubmodelElement] = [prop("Name", model.name), prop("File", model.file)]
    for id_short, value in (
        ("Sha256", _text(info, "sha256") or model.sha256),
        ("Version", _text(info, "version")),
        ("Description", _text(info, "description")),
    ):
        if value:
            elements.append(prop(id_short, value))
    elements += [
        prop("SamplePeriod", xs_duration(model.every), value_type=aas.DataTypeDefXSD.DURATION),
        # A model of several input tensors waits for its longest window, as the pipeline does.
        prop("Window", max(group.window for group in model.input_groups)),
        prop("InputTags", ", ".join(model.input_tags)),
    ]
    if info.get("inferences") is not None:
        elements.append(prop("Inferences", int(info["inferences"])))
    latency = _latency(info.get("latency_ms") or {})
    if latency is not None:
        elements.append(latency)
    return elements


def _model_collection(
    model: ModelConfig, info: Mapping[str, Any], values: Mapping[str, object]
) -> aas.SubmodelElementCollection:
    outputs = collection(
        "Outputs",
        [live_property(tag, values.get(tag.name)) for tag in model.tag_infos()],
        description="What the model concludes now",
    )
    return collection(
        model.name,
        [outputs, *_metadata(model, info)],
        concept=ids.MODEL_RESULT,
        description=f"The model {model.name}: its outputs and what it is",
    )


def build_condition_monitoring(
    config: AgentConfig,
    submodel_id: str,
    model_info: ModelInfo | None = None,
    values: Mapping[str, object] | None = None,
) -> aas.Submodel:
    """One collection per configured model; an empty submodel when the config has no models."""
    model_info = model_info or {}
    values = values or {}
    return submodel(
        submodel_id,
        "ConditionMonitoring",
        ids.CONDITION_MONITORING_SUBMODEL,
        [_model_collection(model, model_info.get(model.name, {}), values) for model in config.models],
        description="What the on-device models conclude, and which models they are",
    )
