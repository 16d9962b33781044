"""The config language: schema, loading with located errors, and the JSON Schema for editors.

The package knows no driver: a driver's schema builds on ``edge_agent.config.vocabulary``, and the
whole agent config, with the drivers' sources, is ``edge_agent.agent_config``'s (AgentConfig,
load_config, json_schema).
"""

from __future__ import annotations

from .aas_api import AasApiConfig, AasApiInsecure, AasApiLimits
from .asset import Address, AssetConfig, Nameplate, TechnicalProperty
from .errors import ConfigError, ConfigProblem
from .inference import AlarmOutput, ModelConfig, ModelInputs, Normalization, ScoreOutput
from .model_files import BUNDLED_MODELS, resolve_model_file
from .opcua import InsecureConfig, OpcUaConfig, OpcUaLimits
from .sizes import ByteSize, format_size, parse_size
from .sparkplug import (
    BrokerAddress,
    SparkplugConfig,
    SparkplugInsecure,
    SparkplugTls,
    StoreAndForward,
    TlsFiles,
    broker_address,
)
from .vocabulary import Duration, Identifier, format_duration, parse_duration

__all__ = [
    "BUNDLED_MODELS",
    "AasApiConfig",
    "AasApiInsecure",
    "AasApiLimits",
    "Address",
    "AlarmOutput",
    "AssetConfig",
    "BrokerAddress",
    "ByteSize",
    "ConfigError",
    "ConfigProblem",
    "Duration",
    "Identifier",
    "InsecureConfig",
    "ModelConfig",
    "ModelInputs",
    "Nameplate",
    "Normalization",
    "OpcUaConfig",
    "OpcUaLimits",
    "ScoreOutput",
    "SparkplugConfig",
    "SparkplugInsecure",
    "SparkplugTls",
    "StoreAndForward",
    "TechnicalProperty",
    "TlsFiles",
    "broker_address",
    "format_duration",
    "format_size",
    "parse_duration",
    "parse_size",
    "resolve_model_file",
]
