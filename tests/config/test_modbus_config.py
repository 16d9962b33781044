"""Modbus sources in the config: connections, devices on them and their points, or placed mistakes."""

from __future__ import annotations

from textwrap import dedent, indent

import pytest

from drivers.modbus.config import ModbusDevice, ModbusSourceConfig
from edge_agent.config import ConfigError, load_config_text
from edge_agent.tags import TagInfo

ASSET = "asset: {id: urn:example:aas:p1, global_asset_id: urn:example:asset:p1}\n"


def modbus_source(text: str) -> ModbusSourceConfig:
    config = load_config_text(ASSET + "sources:\n" + indent(dedent(text), "  "))
    source = config.sources[0]
    assert isinstance(source, ModbusSourceConfig)
    return source


def reported(text: str) -> str:
    """The one line the user sees for a source with exactly one mistake (the file's line 1 is the asset)."""
    with pytest.raises(ConfigError) as caught:
        load_config_text(ASSET + "sources:\n" + indent(dedent(text), "  "), filename="plant.yaml")
    problems = caught.value.problems
    assert len(problems) == 1, "\n".join(str(p) for p in problems)
    return str(problems[0])


# Connections.


def test_a_serial_bus_with_several_devices() -> None:
    source = modbus_source(
        """\
        - name: line_bus
          driver: modbus
          transport: rtu
          port: /dev/ttyUSB0
          baudrate: 19200
          poll: 500ms
          retries: 2
          devices:
            - unit: 7
              poll: 1s
              points: [{name: tank_level, kind: holding, address: 0, type: int16, scale: 0.1}]
            - unit: 8
              max_registers_per_request: 16
              points: [{name: tank_valve, kind: coil, address: 3, writable: true}]
        """
    )
    assert (source.port, source.baudrate, source.parity, source.stopbits, source.bytesize) == (
        "/dev/ttyUSB0",
        19200,
        "E",
        1,
        8,
    )
    level, valve = source.all_points()
    assert source.devices_resolved() == [
        ModbusDevice(7, 1.0, 1.0, 2, 125, 2000, 8, (level,), ("devices", 0, "points")),
        ModbusDevice(8, 0.5, 1.0, 2, 16, 2000, 8, (valve,), ("devices", 1, "points")),
    ]


def test_points_given_on_the_source_are_one_device_with_the_source_settings() -> None:
    source = modbus_source(
        """\
        - name: plc
          driver: modbus
          host: 192.168.10.20
          unit: 3
          timeout: 300ms
          max_gap: 0
          points: [{name: flow_rate, kind: input, address: 0}]
        """
    )
    (device,) = source.devices_resolved()
    assert (device.unit, device.poll, device.timeout, device.retries, device.max_gap) == (3, 1.0, 0.3, 1, 0)
    assert (device.max_registers_per_request, device.max_bits_per_request) == (125, 2000)


def test_a_tcp_serial_gateway_takes_a_host_and_the_modbus_port() -> None:
    source = modbus_source(
        """\
        - name: gateway
          driver: modbus
          transport: rtu_over_tcp
          host: gw.plant.local
          devices: [{unit: 1, points: [{name: flow_rate, kind: input, address: 0}]}]
        """
    )
    assert (source.host, source.port) == ("gw.plant.local", 502)


def test_a_port_written_as_text_is_a_number() -> None:
    source = modbus_source(
        """\
        - name: plc
          driver: modbus
          host: 10.0.0.1
          port: "5020"
          points: [{name: flow_rate, kind: input, address: 0}]
        """
    )
    assert source.port == 5020


# Tags.


def test_each_point_type_gives_its_tag_type() -> None:
    source = modbus_source(
        """\
        - name: plc
          driver: modbus
          host: 10.0.0.1
          points:
            - {name: pump_on, kind: coil, address: 0, writable: true}
            - {name: door_closed, kind: discrete, address: 0}
            - {name: overload, kind: input, address: 0, type: bit, bit: 4}
            - {name: hours, kind: input, address: 1, type: uint32}
            - {name: energy, kind: input, address: 3, type: int64, scale: 0.001, unit: kWh}
            - {name: pressure, kind: input, address: 7, type: float64, range: [0, 16], deadband: 0.05}
            - {name: batch, kind: holding, address: 0, type: string, length: 12, writable: true}
        """
    )
    assert source.tag_infos() == [
        TagInfo("pump_on", "plc", "bool", writable=True),
        TagInfo("door_closed", "plc", "bool"),
        TagInfo("overload", "plc", "bool"),
        TagInfo("hours", "plc", "int"),
        TagInfo("energy", "plc", "float", "kWh"),
        TagInfo("pressure", "plc", "float", range=(0.0, 16.0)),
        TagInfo("batch", "plc", "string", writable=True),
    ]
    assert [p.register_count for p in source.all_points()] == [1, 1, 1, 2, 4, 4, 6]


def test_tags_of_every_device_are_declared() -> None:
    source = modbus_source(
        """\
        - name: bus
          driver: modbus
          transport: rtu
          port: /dev/ttyUSB0
          devices:
            - {unit: 1, points: [{name: a, kind: input, address: 0}]}
            - {unit: 2, points: [{name: b, kind: input, address: 0}, {name: c, kind: input, address: 1}]}
        """
    )
    assert [(d.info.name, d.path) for d in source.declared_tags()] == [
        ("a", ("devices", 0, "points", 0, "name")),
        ("b", ("devices", 1, "points", 0, "name")),
        ("c", ("devices", 1, "points", 1, "name")),
    ]


def test_bits_of_one_register_and_the_same_address_in_other_tables_or_devices_are_fine() -> None:
    source = modbus_source(
        """\
        - name: bus
          driver: modbus
          transport: rtu
          port: /dev/ttyUSB0
          devices:
            - unit: 1
              points:
                - {name: a0, kind: holding, address: 5, type: bit, bit: 0}
                - {name: a1, kind: holding, address: 5, type: bit, bit: 1}
                - {name: i5, kind: input, address: 5}
                - {name: c5, kind: coil, address: 5}
                - {name: d5, kind: discrete, address: 5}
            - unit: 2
              points: [{name: other_device, kind: holding, address: 5}]
        """
    )
    assert len(source.all_points()) == 6


# Mistakes in the connection.

TCP = """\
- name: plc
  driver: modbus
"""
POINTS = "  points: [{name: flow_rate, kind: input, address: 0}]\n"


@pytest.mark.parametrize(
    ("keys", "problem"),
    [
        (
            "  transport: rtu\n  port: /dev/ttyUSB0\n  host: 10.0.0.1\n",
            "plant.yaml:7:5: sources[0].host: "
            "transport rtu talks to the serial device named by port; host is for tcp and rtu_over_tcp",
        ),
        (
            "  transport: rtu\n",
            "plant.yaml:3:5: sources[0].port: "
            "required key is missing; transport rtu needs the serial device, like /dev/ttyUSB0",
        ),
        (
            "  transport: rtu\n  port: 502\n",
            "plant.yaml:6:5: sources[0].port: "
            "must be the serial device for transport rtu, like /dev/ttyUSB0 (got 502)",
        ),
        (
            "  transport: tcp\n",
            "plant.yaml:3:5: sources[0].host: "
            "required key is missing; transport tcp needs the host name or IP address of the device or "
            "gateway",
        ),
        (
            "  host: 10.0.0.1\n  port: /dev/ttyUSB0\n",
            "plant.yaml:6:5: sources[0].port: "
            "must be a TCP port number for transport tcp (got '/dev/ttyUSB0'); "
            "a serial device needs transport rtu",
        ),
        ("  host: 10.0.0.1\n  port: 0\n", "plant.yaml:6:5: sources[0].port: must be at least 1 (got 0)"),
        (
            "  host: 10.0.0.1\n  baudrate: 19200\n",
            "plant.yaml:6:5: sources[0].baudrate: "
            "baudrate is a serial line setting, only for transport rtu (this source uses tcp)",
        ),
        (
            "  transport: rtu_over_tcp\n  host: 10.0.0.1\n  parity: N\n",
            "plant.yaml:7:5: sources[0].parity: "
            "parity is a serial line setting, only for transport rtu (this source uses rtu_over_tcp); "
            "with rtu_over_tcp the gateway's serial settings apply",
        ),
        (
            "  transport: rtu\n  port: /dev/ttyUSB0\n  baudrate: 19000\n",
            "plant.yaml:7:5: sources[0].baudrate: must be a standard rate: "
            "1200, 2400, 4800, 9600, 14400, 19200, 38400, 57600, 115200, 230400 (got 19000)",
        ),
        (
            "  transport: rtu\n  port: /dev/ttyUSB0\n  stopbits: 3\n",
            "plant.yaml:7:5: sources[0].stopbits: must be one of: 1, 2 (got 3)",
        ),
        (
            "  transport: rtu\n  port: /dev/ttyUSB0\n  parity: X\n",
            "plant.yaml:7:5: sources[0].parity: must be one of N, E, O (got 'X')",
        ),
        (
            "  transport: serial\n  host: 10.0.0.1\n",
            "plant.yaml:5:5: sources[0].transport: must be one of tcp, rtu, rtu_over_tcp (got 'serial')",
        ),
        (
            "  transport: rtu\n  port: /dev/ttyUSB0\n  unit: 0\n",
            "plant.yaml:7:5: sources[0].unit: "
            "unit 0 is the broadcast address, which no device answers on a serial line; use 1..247",
        ),
        (
            "  host: 10.0.0.1\n  retries: 11\n",
            "plant.yaml:6:5: sources[0].retries: must be at most 10 (got 11)",
        ),
        (
            "  host: 10.0.0.1\n  max_gap: 125\n",
            "plant.yaml:6:5: sources[0].max_gap: must be at most 124 (got 125)",
        ),
        (
            "  host: 10.0.0.1\n  max_bits_per_request: 2001\n",
            "plant.yaml:6:5: sources[0].max_bits_per_request: must be at most 2000 (got 2001)",
        ),
    ],
)
def test_a_connection_mistake_is_placed_on_its_key(keys: str, problem: str) -> None:
    assert reported(TCP + keys + POINTS) == problem


def test_unit_0_is_fine_on_tcp() -> None:
    assert modbus_source(TCP + "  host: 10.0.0.1\n  unit: 0\n" + POINTS).unit == 0


# Mistakes in the devices.


def test_points_and_devices_together_are_refused_at_the_second() -> None:
    text = """\
        - name: bus
          driver: modbus
          transport: rtu
          port: /dev/ttyUSB0
          points: [{name: a, kind: input, address: 0}]
          devices: [{unit: 2, points: [{name: b, kind: input, address: 0}]}]
        """
    assert reported(text) == (
        "plant.yaml:8:5: sources[0].devices: give points either here or under devices, not both"
    )


def test_a_source_without_points_or_devices() -> None:
    text = """\
        - name: bus
          driver: modbus
          host: 10.0.0.1
        """
    assert reported(text) == (
        "plant.yaml:3:5: sources[0].points: "
        "required key is missing; give points, or devices for several unit ids on this connection"
    )


def test_a_unit_used_by_two_devices_points_back_to_the_first() -> None:
    text = """\
        - name: bus
          driver: modbus
          transport: rtu
          port: /dev/ttyUSB0
          devices:
            - unit: 7
              points: [{name: a, kind: input, address: 0}]
            - unit: 7
              points: [{name: b, kind: input, address: 0}]
        """
    assert reported(text) == (
        "plant.yaml:10:9: sources[0].devices[1].unit: unit 7 is already used by another device at line 8"
    )


def test_a_unit_on_the_source_beside_devices_is_refused() -> None:
    text = """\
        - name: bus
          driver: modbus
          transport: rtu
          port: /dev/ttyUSB0
          unit: 3
          devices: [{unit: 7, points: [{name: a, kind: input, address: 0}]}]
        """
    assert reported(text) == (
        "plant.yaml:7:5: sources[0].unit: with devices, each device gives its own unit; remove this one"
    )


def test_a_device_must_say_its_unit() -> None:
    text = """\
        - name: bus
          driver: modbus
          transport: rtu
          port: /dev/ttyUSB0
          devices:
            - points: [{name: a, kind: input, address: 0}]
        """
    assert reported(text) == "plant.yaml:8:9: sources[0].devices[0].unit: required key is missing"


def test_a_point_name_used_on_two_devices_points_back_to_the_first() -> None:
    text = """\
        - name: bus
          driver: modbus
          transport: rtu
          port: /dev/ttyUSB0
          devices:
            - unit: 1
              points: [{name: level, kind: input, address: 0}]
            - unit: 2
              points: [{name: level, kind: input, address: 0}]
        """
    assert reported(text) == (
        "plant.yaml:11:19: sources[0].devices[1].points[0].name: tag 'level' is already defined at line 9"
    )


def test_a_point_longer_than_the_device_reads_at_once() -> None:
    text = """\
        - name: bus
          driver: modbus
          transport: rtu
          port: /dev/ttyUSB0
          max_registers_per_request: 60
          devices:
            - unit: 1
              points: [{name: recipe, kind: holding, address: 0, type: string, length: 200}]
        """
    assert reported(text) == (
        "plant.yaml:10:74: sources[0].devices[0].points[0].length: a string of 200 characters takes 100 "
        "registers, more than one read of this device may hold (max_registers_per_request: 60)"
    )


# Mistakes in a point.


@pytest.mark.parametrize(
    ("point", "key", "message"),
    [
        (
            "{name: speed, kind: coil, address: 0, type: float32}",
            "type",
            "coils hold single bits, so their type is bool (got 'float32')",
        ),
        (
            "{name: flag, kind: holding, address: 0, type: bool}",
            "type",
            "type bool is for coils and discrete inputs; for one bit of a "
            "register use type bit with bit: 0..15, or a number type for the whole holding register",
        ),
        (
            "{name: door, kind: discrete, address: 0, writable: true}",
            "writable",
            "discrete inputs are read-only; only holding registers and coils can be writable",
        ),
        (
            "{name: flag, kind: input, address: 0, type: bit}",
            "bit",
            "required key is missing; type bit needs the bit's number, 0 (least significant) to 15",
        ),
        (
            "{name: flag, kind: input, address: 0, type: bit, bit: 16}",
            "bit",
            "must be at most 15 (got 16)",
        ),
        (
            "{name: speed, kind: input, address: 0, bit: 3}",
            "bit",
            "bit is only for type bit (this point is uint16)",
        ),
        (
            "{name: batch, kind: input, address: 0, type: string}",
            "length",
            "required key is missing; type string needs its length in characters, 1..250",
        ),
        (
            "{name: batch, kind: input, address: 0, type: int16, length: 8}",
            "length",
            "length is only for type string (this point is int16)",
        ),
        (
            "{name: speed, kind: input, address: 0, type: int16, word_order: CDAB}",
            "word_order",
            "a int16 point takes one register, so word_order can only "
            "be ABCD, or BADC for swapped bytes (got 'CDAB')",
        ),
        (
            "{name: batch, kind: input, address: 0, type: string, length: 8, word_order: DCBA}",
            "word_order",
            "a string's characters are in order, so word_order can "
            "only be ABCD, or BADC for bytes swapped in each register (got 'DCBA')",
        ),
        (
            "{name: pump_on, kind: coil, address: 0, word_order: ABCD}",
            "word_order",
            "coils are single bits; word_order is for registers",
        ),
        (
            "{name: pump_on, kind: coil, address: 0, scale: 2}",
            "scale",
            "scale is only for number types (this point is bool)",
        ),
        (
            "{name: flag, kind: input, address: 0, type: bit, bit: 1, deadband: 1}",
            "deadband",
            "deadband is only for number types (this point is bit)",
        ),
        (
            "{name: batch, kind: input, address: 0, type: string, length: 8, range: [0, 1]}",
            "range",
            "range is only for number types (this point is string)",
        ),
        (
            "{name: speed, kind: input, address: 0, deadband: -1}",
            "deadband",
            "must be 0 or more (got -1)",
        ),
        (
            "{name: energy, kind: input, address: 65533, type: float64}",
            "address",
            "a float64 point takes 4 registers, so its address must be at most 65532 (got 65533)",
        ),
        (
            "{name: batch, kind: input, address: 65530, type: string, length: 20}",
            "address",
            "a string of 20 characters takes 10 registers, so its address must be at most 65526 (got 65530)",
        ),
        (
            "{name: speed, kind: register, address: 0}",
            "kind",
            "must be one of coil, discrete, input, holding (got 'register')",
        ),
        (
            "{name: speed, kind: input, address: 0, type: float}",
            "type",
            "must be one of bool, bit, int16, uint16, int32, uint32, "
            "int64, uint64, float32, float64, string (got 'float'); did you mean 'float64'?",
        ),
    ],
)
def test_a_point_mistake_is_placed_on_its_key(point: str, key: str, message: str) -> None:
    line = "      - " + point  # line 7 of the file
    # A key the point lacks is reported at the point itself.
    column = line.index(f" {key}:") + 2 if f" {key}:" in line else line.index("{") + 1
    assert reported(TCP + "  host: 10.0.0.1\n  points:\n    - " + point + "\n") == (
        f"plant.yaml:7:{column}: sources[0].points[0].{key}: {message}"
    )


# Points that share registers or bits.


def overlap_problem(first: str, second: str) -> str:
    return reported(TCP + "  host: 10.0.0.1\n  points:\n    - " + first + "\n    - " + second + "\n")


@pytest.mark.parametrize(
    ("first", "second", "problem"),
    [
        (
            "{name: a, kind: holding, address: 100, type: float32}",
            "{name: b, kind: holding, address: 101}",
            "register 101 overlaps point 'a' (holding 100..101)",
        ),
        (
            "{name: a, kind: input, address: 100, type: bit, bit: 3}",
            "{name: b, kind: input, address: 99, type: int32}",
            "registers 99..100 overlap point 'a' (input 100 bit 3)",
        ),
        (
            "{name: a, kind: input, address: 100}",
            "{name: b, kind: input, address: 100, type: bit, bit: 3}",
            "bit 3 of register 100 overlaps point 'a' (input 100)",
        ),
        (
            "{name: a, kind: holding, address: 7, type: bit, bit: 3}",
            "{name: b, kind: holding, address: 7, type: bit, bit: 3}",
            "bit 3 of register 7 overlaps point 'a' (holding 7 bit 3)",
        ),
        (
            "{name: a, kind: coil, address: 4}",
            "{name: b, kind: coil, address: 4}",
            "coil 4 overlaps point 'a' (coil 4)",
        ),
        (
            "{name: a, kind: discrete, address: 4}",
            "{name: b, kind: discrete, address: 4}",
            "discrete input 4 overlaps point 'a' (discrete 4)",
        ),
    ],
)
def test_points_that_share_a_register_or_bit_name_each_other(first: str, second: str, problem: str) -> None:
    assert overlap_problem(first, second).split(": ", 2)[1:] == ["sources[0].points[1].address", problem]
