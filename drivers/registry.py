"""The drivers the agent knows, keyed by the config's ``driver:``.

Each driver has two halves: its config schema (imported here, light: no pymodbus, no gpiozero, so that
checking a config stays fast) and its running source, imported only when a source of it is built.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import get_args

from drivers.base import Source
from drivers.base_config import SourceConfigBase
from drivers.gpio.config import GpioSourceConfig
from drivers.modbus.config import ModbusSourceConfig


@dataclass(frozen=True)
class Driver:
    config: type[SourceConfigBase]
    source: str  # "module:Class" of the running half

    @property
    def name(self) -> str:
        return get_args(self.config.model_fields["driver"].annotation)[0]


DRIVERS = (
    Driver(ModbusSourceConfig, "drivers.modbus.source:ModbusSource"),
    Driver(GpioSourceConfig, "drivers.gpio.source:GpioSource"),
)
SOURCE_CONFIGS: tuple[type[SourceConfigBase], ...] = tuple(driver.config for driver in DRIVERS)


def driver_names() -> list[str]:
    """The values ``driver:`` accepts, sorted."""
    return sorted(driver.name for driver in DRIVERS)


def build_source(config: SourceConfigBase) -> Source:
    """The running source for one `sources:` entry."""
    driver = next((d for d in DRIVERS if isinstance(config, d.config)), None)
    if driver is None:
        raise ValueError(f"no driver builds sources of {type(config).__name__}")
    module_name, class_name = driver.source.split(":")
    source_class = getattr(importlib.import_module(module_name), class_name)
    return source_class(config)
