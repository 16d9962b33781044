"""The device's Asset Administration Shell (AAS V3.0) as one in-memory model, and its exports.

The OPC UA node set and the JSON/AASX exports are all drawn from the environment ``build_environment``
returns, so they cannot disagree.
"""

from .condition import ModelInfo
from .environment import build_environment, verify
from .export import to_json, to_xml, write_aasx
from .ids import SubmodelIds
from .model_facts import describe_models, model_info

__all__ = [
    "ModelInfo",
    "SubmodelIds",
    "build_environment",
    "describe_models",
    "model_info",
    "to_json",
    "to_xml",
    "verify",
    "write_aasx",
]
