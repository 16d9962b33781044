"""The Operational Data submodel: one live Property per tag the sources read.

The models' outputs are tags too, but they live in the Condition Monitoring submodel, beside the model
that makes them: each tag appears once in the shell, so a client finds one place to read or subscribe.
"""

from __future__ import annotations

from collections.abc import Mapping

from aas_core3 import types as aas

from edge_agent.agent_config import AgentConfig

from . import ids
from .elements import submodel
from .live import live_property


def build_operational_data(
    config: AgentConfig, submodel_id: str, values: Mapping[str, object] | None = None
) -> aas.Submodel:
    """The submodel of the sources' tags, with their current values when ``values`` holds them."""
    values = values or {}
    infos = [info for source in config.sources for info in source.tag_infos()]
    return submodel(
        submodel_id,
        "OperationalData",
        ids.OPERATIONAL_DATA_SUBMODEL,
        [live_property(info, values.get(info.name)) for info in infos],
        description="What the asset is doing now: one property per live tag of its sources",
    )
