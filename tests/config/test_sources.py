"""What each driver's config declares to the core: its tags, their types, units and ranges."""

from __future__ import annotations

from textwrap import dedent

from drivers.registry import driver_names
from edge_agent.agent_config import load_config_text
from edge_agent.tags import TagInfo

ASSET = "asset: {id: urn:example:aas:p1, global_asset_id: urn:example:asset:p1}\n"


def source_tags(sources_yaml: str) -> list[TagInfo]:
    config = load_config_text(ASSET + dedent(sources_yaml))
    return config.sources[0].tag_infos()


def test_the_registry_knows_modbus_and_gpio() -> None:
    assert driver_names() == ["gpio", "modbus"]


def test_modbus_points_become_tags_typed_by_their_scaling() -> None:
    tags = source_tags(
        """\
        sources:
          - name: plc
            driver: modbus
            host: 192.168.10.20
            points:
              - {name: motor_speed, kind: input, address: 0, unit: rpm}
              - {name: vibration_rms, kind: input, address: 1, scale: 0.01, unit: mm/s, range: [0, 50]}
              - {name: motor_temperature, kind: input, address: 2, type: float32}
              - {name: speed_setpoint, kind: holding, address: 0, writable: true, description: set by MES}
        """
    )
    assert tags == [
        TagInfo("motor_speed", "plc", "int", "rpm", number_type="uint16"),
        TagInfo("vibration_rms", "plc", "float", "mm/s", (0.0, 50.0)),
        TagInfo("motor_temperature", "plc", "float", number_type="float32"),
        TagInfo(
            "speed_setpoint", "plc", "int", writable=True, description="set by MES", number_type="uint16"
        ),
    ]


def test_a_gpio_counter_gives_a_count_and_a_rate() -> None:
    tags = source_tags(
        """\
        sources:
          - name: panel
            driver: gpio
            pin_factory: mock
            points:
              - {name: door_open, kind: input, pin: BCM17}
              - {name: flow_pulses, kind: counter, pin: 27}
        """
    )
    assert tags == [
        TagInfo("door_open", "panel", "bool"),
        TagInfo("flow_pulses", "panel", "int"),
        TagInfo("flow_pulses_rate", "panel", "float", "1/s", description="pulses per second of flow_pulses"),
    ]


def test_pins_are_kept_by_their_gpio_name_however_written() -> None:
    config = load_config_text(
        ASSET
        + dedent(
            """\
            sources:
              - name: panel
                driver: gpio
                points:
                  - {name: a, kind: input, pin: GPIO4}
                  - {name: b, kind: input, pin: BCM5}
                  - {name: c, kind: input, pin: 6}
            """
        )
    )
    assert [point.pin for point in config.sources[0].points] == ["GPIO4", "GPIO5", "GPIO6"]


def test_defaults_fill_what_a_source_leaves_out() -> None:
    config = load_config_text(
        ASSET
        + dedent(
            """\
            sources:
              - name: plc
                driver: modbus
                host: plc.local
                points: [{name: flow_rate, kind: input, address: 0}]
            """
        )
    )
    source = config.sources[0]
    assert (source.port, source.unit, source.poll, source.timeout, source.max_registers_per_request) == (
        502,
        1,
        1.0,
        1.0,
        125,
    )
