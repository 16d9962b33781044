"""The drivers the agent knows, keyed by the config's ``driver:``.

Each driver has two halves: its config schema (imported here, light: no pymodbus, no gpiozero, so that
checking a config stays fast) and its running source, imported only when a source of it is built.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import Any, Generic, get_args

from drivers.base import Source, SourceEntry
from drivers.gpio.config import GpioSourceConfig
from drivers.modbus.config import ModbusSourceConfig
from edge_agent.config.vocabulary import SourceConfigBase


@dataclass(frozen=True)
class Driver(Generic[SourceEntry]):
    config: type[SourceEntry]
    source: str  # "module:Class" of the running half, a Source[SourceEntry]

    @property
    def name(self) -> str:
        name: str = get_args(self.config.model_fields["driver"].annotation)[0]
        return name

    def source_class(self) -> type[Source[SourceEntry]]:
        """The running half's class, imported now."""
        module_name, class_name = self.source.split(":")
        found: type[Source[SourceEntry]] = getattr(importlib.import_module(module_name), class_name)
        return found


DRIVERS: tuple[Driver[Any], ...] = (
    Driver(ModbusSourceConfig, "drivers.modbus.source:ModbusSource"),
    Driver(GpioSourceConfig, "drivers.gpio.source:GpioSource"),
)
SOURCE_CONFIGS: tuple[type[SourceConfigBase], ...] = tuple(driver.config for driver in DRIVERS)


def driver_names() -> list[str]:
    """The values ``driver:`` accepts, sorted."""
    return sorted(driver.name for driver in DRIVERS)


def build_source(config: SourceConfigBase) -> Source[Any]:
    """The running source for one `sources:` entry."""
    driver = next((d for d in DRIVERS if isinstance(config, d.config)), None)
    if driver is None:
        raise ValueError(f"no driver builds sources of {type(config).__name__}")
    return driver.source_class()(config)
