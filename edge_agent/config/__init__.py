"""The config language: schema, loading with located errors, and the JSON Schema for editors."""

from drivers.base_config import Duration, Identifier, format_duration, parse_duration

from .asset import Address, AssetConfig, Nameplate, TechnicalProperty
from .errors import ConfigError, ConfigProblem
from .inference import AlarmOutput, ModelConfig, ModelInputs, Normalization, ScoreOutput
from .loader import load_config, load_config_text
from .model_files import BUNDLED_MODELS, resolve_model_file
from .opcua import InsecureConfig, OpcUaConfig, OpcUaLimits
from .schema import AgentConfig, SourceConfig, json_schema
from .sizes import ByteSize, format_size, parse_size

__all__ = [
    "BUNDLED_MODELS",
    "Address",
    "AgentConfig",
    "AlarmOutput",
    "AssetConfig",
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
    "SourceConfig",
    "TechnicalProperty",
    "format_duration",
    "format_size",
    "json_schema",
    "load_config",
    "load_config_text",
    "parse_duration",
    "parse_size",
    "resolve_model_file",
]
