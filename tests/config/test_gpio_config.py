"""GPIO points in the config: the tags they give, and their mistakes reported at the file, line and key."""

from __future__ import annotations

from textwrap import dedent, indent

import pytest

from edge_agent.agent_config import load_config_text
from edge_agent.config import ConfigError
from edge_agent.tags import TagInfo

HEAD = """\
asset: {id: urn:example:aas:p1, global_asset_id: urn:example:asset:p1}
sources:
  - name: panel
    driver: gpio
    points:
"""


def panel(points_yaml: str) -> str:
    return HEAD + indent(dedent(points_yaml), "      ")


def reported(points_yaml: str) -> str:
    """The one line the user sees for a panel with exactly one mistake."""
    with pytest.raises(ConfigError) as caught:
        load_config_text(panel(points_yaml), filename="plant.yaml")
    problems = caught.value.problems
    assert len(problems) == 1, "\n".join(str(p) for p in problems)
    return str(problems[0])


def tags_of(points_yaml: str) -> list[TagInfo]:
    return load_config_text(panel(points_yaml)).sources[0].tag_infos()


def test_outputs_pwm_outputs_and_adc_channels_give_typed_tags() -> None:
    assert tags_of(
        """\
        - {name: alarm_lamp, kind: output, pin: GPIO22}
        - {name: beacon, kind: output, pin: GPIO23, writable: false}
        - {name: fan_speed, kind: pwm, pin: GPIO12, frequency: 25000}
        - {name: tank_pressure, kind: mcp3008, channel: 0, scale: 10.0, unit: bar, range: [0, 10]}
        """
    ) == [
        TagInfo("alarm_lamp", "panel", "bool", writable=True),
        TagInfo("beacon", "panel", "bool"),
        TagInfo("fan_speed", "panel", "float", range=(0.0, 1.0), writable=True),
        TagInfo("tank_pressure", "panel", "float", "bar", (0.0, 10.0)),
    ]


def test_the_pin_factory_may_be_left_to_the_environment() -> None:
    config = load_config_text(panel("- {name: door_open, kind: input, pin: GPIO17}\n"))
    assert config.sources[0].pin_factory is None


def test_a_key_of_another_kind_is_an_unknown_key() -> None:
    assert reported("- {name: door_open, kind: input, pin: GPIO17, frequency: 100}\n") == (
        "plant.yaml:6:53: sources[0].points[0].frequency: unknown key 'frequency'; "
        "known keys here: name, unit, description, semantic_id, kind, pin, pull, active_low, debounce"
    )


def test_a_pwm_frequency_beyond_the_range() -> None:
    assert reported("- {name: fan_speed, kind: pwm, pin: GPIO12, frequency: 50000}\n") == (
        "plant.yaml:6:51: sources[0].points[0].frequency: must be from 1 to 40000 Hz (got 50000)"
    )


def test_a_channel_the_chip_does_not_have() -> None:
    assert reported("- {name: tank_pressure, kind: mcp3004, channel: 4}\n") == (
        "plant.yaml:6:46: sources[0].points[0].channel: the mcp3004 has channels 0 to 3 (got 4)"
    )


def test_a_multi_channel_chip_needs_its_channel() -> None:
    assert reported("- {name: tank_pressure, kind: mcp3008}\n") == (
        "plant.yaml:6:9: sources[0].points[0].channel: "
        "required key is missing; say which channel of the mcp3008: 0 to 7"
    )


def test_an_output_pin_cannot_also_be_read_as_an_input() -> None:
    text = """\
        - {name: alarm_lamp, kind: output, pin: GPIO22}
        - {name: lamp_check, kind: input, pin: 22}
        """
    assert (
        reported(text)
        == "plant.yaml:7:41: sources[0].points[1].pin: pin GPIO22 is already used by point 'alarm_lamp'"
    )


def test_a_pin_of_the_spi_bus_cannot_serve_a_point_of_its_own() -> None:
    text = """\
        - {name: tank_pressure, kind: mcp3008, channel: 0}
        - {name: door_open, kind: input, pin: GPIO8}
        """
    assert reported(text) == (
        "plant.yaml:7:40: sources[0].points[1].pin: "
        "pin GPIO8 is already used by the SPI bus (chip select CE0) of point 'tank_pressure'"
    )


def test_an_adc_cannot_take_a_pin_already_in_use() -> None:
    text = """\
        - {name: door_open, kind: input, pin: GPIO7}
        - {name: tank_pressure, kind: mcp3008, channel: 0, spi: {device: 1}}
        """
    assert reported(text) == (
        "plant.yaml:7:58: sources[0].points[1].spi: "
        "the mcp3008 on SPI device 1 needs pin GPIO7 (chip select CE1), "
        "which is already used by point 'door_open'"
    )


def test_one_chip_select_holds_one_kind_of_chip() -> None:
    text = """\
        - {name: inlet_level, kind: mcp3008, channel: 0}
        - {name: outlet_level, kind: mcp3208, channel: 1}
        """
    assert reported(text) == (
        "plant.yaml:7:30: sources[0].points[1].kind: "
        "SPI device 0 already holds an mcp3008 (point 'inlet_level'); one chip per chip select"
    )


def test_a_channel_is_read_by_one_point() -> None:
    text = """\
        - {name: inlet_level, kind: mcp3008, channel: 3}
        - {name: inlet_level_raw, kind: mcp3008, channel: 3}
        """
    assert reported(text) == (
        "plant.yaml:7:48: sources[0].points[1].channel: "
        "channel 3 of the mcp3008 on SPI device 0 is already read by point 'inlet_level'"
    )


def test_only_the_main_spi_bus_is_available() -> None:
    assert reported("- {name: tank_pressure, kind: mcp3008, channel: 0, spi: {port: 1}}\n") == (
        "plant.yaml:6:64: sources[0].points[0].spi.port: "
        "must be 0: only the main SPI bus (SPI0) can be used (got 1)"
    )
