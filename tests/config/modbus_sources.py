"""Modbus sources written as a config file would hold them, loaded as the agent loads them."""

from __future__ import annotations

from textwrap import dedent, indent

from drivers.modbus.config import ModbusSourceConfig
from edge_agent.agent_config import load_config_text

from .reporting import the_one_problem

ASSET = "asset: {id: urn:example:aas:p1, global_asset_id: urn:example:asset:p1}\n"

TCP = """\
- name: plc
  driver: modbus
"""

POINTS = "  points: [{name: flow_rate, kind: input, address: 0}]\n"

SERIAL_BUS = """\
- name: bus
  driver: modbus
  transport: rtu
  port: /dev/ttyUSB0
"""


def serial_bus(keys: str) -> str:
    """A source named bus on the serial line /dev/ttyUSB0, with more of its keys written as a YAML block."""
    return SERIAL_BUS + indent(dedent(keys), "  ")


def modbus_source(text: str) -> ModbusSourceConfig:
    config = load_config_text(ASSET + "sources:\n" + indent(dedent(text), "  "))
    source = config.sources[0]
    assert isinstance(source, ModbusSourceConfig)
    return source


def reported(text: str) -> str:
    """The one line the user sees for a source with exactly one mistake (the file's line 1 is the asset)."""
    return the_one_problem(ASSET + "sources:\n" + indent(dedent(text), "  "))
