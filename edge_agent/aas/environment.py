"""The device's whole Asset Administration Shell: one environment, the source of every projection."""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import datetime

from aas_core3 import types as aas
from aas_core3 import verification

from edge_agent.agent_config import AgentConfig

from .condition import ModelInfo, build_condition_monitoring
from .elements import submodel_reference, texts
from .identity import build_identity
from .ids import SubmodelIds
from .nameplate import build_nameplate
from .operational import build_operational_data
from .technical_data import build_technical_data

_NOT_ID_SHORT = re.compile(r"[^A-Za-z0-9_]")
_ID_SHORT_MAX = 128


def shell_id_short(shell_id: str) -> str:
    """A readable idShort from the shell id's last segment: urn:example:aas:pump-17 -> pump_17."""
    last = re.split(r"[:/#]", shell_id.rstrip(":/#"))[-1]
    name = _NOT_ID_SHORT.sub("_", last)
    name = name if name[:1].isalpha() else f"AAS_{name}"
    return name[:_ID_SHORT_MAX]


def build_environment(
    config: AgentConfig,
    *,
    certificate_der: bytes | None,
    model_info: ModelInfo | None = None,
    values: Mapping[str, object] | None = None,
    now: datetime | None = None,
) -> aas.Environment:
    """The shell of ``config``'s asset with its submodels.

    ``certificate_der`` is the device's application certificate (None before it has one); ``model_info``
    adds what is known of each model beyond the config (see ``edge_agent.aas.condition``); ``values`` are
    the tags' current values or Readings, e.g. a TagStore snapshot; ``now`` dates the certificate's days
    to expiry. Submodel ids derive from the shell id, so every build of one config names them alike.
    """
    asset = config.asset
    submodel_ids = SubmodelIds(asset.id)
    candidates = [
        build_nameplate(asset, submodel_ids.nameplate),
        build_technical_data(asset, submodel_ids.technical_data),
        build_operational_data(config, submodel_ids.operational_data, values),
        build_condition_monitoring(config, submodel_ids.condition_monitoring, model_info, values),
        build_identity(submodel_ids.identity, certificate_der, now),
    ]
    submodels = [candidate for candidate in candidates if candidate is not None]
    shell = aas.AssetAdministrationShell(
        asset.id,
        aas.AssetInformation(aas.AssetKind.INSTANCE, global_asset_id=asset.global_asset_id),
        id_short=shell_id_short(asset.id),
        description=texts(_describe(config)),
        submodels=[submodel_reference(each.id) for each in submodels],
    )
    return aas.Environment(asset_administration_shells=[shell], submodels=submodels)


def _describe(config: AgentConfig) -> str:
    plate = config.asset.nameplate
    if plate is None:
        return f"Asset Administration Shell of {config.asset.global_asset_id}"
    return f"Asset Administration Shell of {plate.product_designation}, serial number {plate.serial_number}"


def verify(environment: aas.Environment) -> list[str]:
    """Every violation of the AAS V3 metamodel's constraints, each as 'path: cause'; empty when valid."""
    return [f"{error.path}: {error.cause}" for error in verification.verify(environment)]
