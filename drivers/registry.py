"""The drivers the agent knows, keyed by the config's ``driver:``.

The config half lives here now: which config schema each driver has. It imports neither pymodbus nor
gpiozero, so that checking a config stays light.
"""

from __future__ import annotations

from typing import get_args

from drivers.base import Source
from drivers.base_config import SourceConfigBase
from drivers.gpio.config import GpioSourceConfig
from drivers.modbus.config import ModbusSourceConfig

SOURCE_CONFIGS: tuple[type[SourceConfigBase], ...] = (ModbusSourceConfig, GpioSourceConfig)


def driver_names() -> list[str]:
    """The values ``driver:`` accepts, sorted."""
    return sorted(get_args(config.model_fields["driver"].annotation)[0] for config in SOURCE_CONFIGS)


# The running half: build_source(config) -> drivers.base.Source, importing each driver's runtime module
# only when a source of that driver is built.


def build_source(config: SourceConfigBase) -> Source:
    """The running source for one `sources:` entry."""
    if isinstance(config, ModbusSourceConfig):
        from drivers.modbus.source import ModbusTcpSource

        return ModbusTcpSource(config)
    if isinstance(config, GpioSourceConfig):
        from drivers.gpio.source import GpioSource

        return GpioSource(config)
    raise ValueError(f"no driver builds sources of {type(config).__name__}")
