"""Modbus sources in the config: connections, the devices on them, and mistakes in either, placed."""

from __future__ import annotations

import pytest

from drivers.modbus.config import ModbusDevice

from .modbus_sources import POINTS, TCP, modbus_source, reported, serial_bus

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


# Mistakes in the connection.


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


@pytest.mark.parametrize(
    ("keys", "problem"),
    [
        pytest.param(
            "  points: [{name: a, kind: input, address: 0}]\n"
            "  devices: [{unit: 2, points: [{name: b, kind: input, address: 0}]}]\n",
            "plant.yaml:8:5: sources[0].devices: give points either here or under devices, not both",
            id="points_and_devices_together_are_refused_at_the_second",
        ),
        pytest.param(
            "  devices:\n"
            "    - unit: 7\n"
            "      points: [{name: a, kind: input, address: 0}]\n"
            "    - unit: 7\n"
            "      points: [{name: b, kind: input, address: 0}]\n",
            "plant.yaml:10:9: sources[0].devices[1].unit: unit 7 is already used by another device at line 8",
            id="a_unit_used_by_two_devices_points_back_to_the_first",
        ),
        pytest.param(
            "  unit: 3\n  devices: [{unit: 7, points: [{name: a, kind: input, address: 0}]}]\n",
            "plant.yaml:7:5: sources[0].unit: with devices, each device gives its own unit; remove this one",
            id="a_unit_on_the_source_beside_devices_is_refused",
        ),
        pytest.param(
            "  devices:\n    - points: [{name: a, kind: input, address: 0}]\n",
            "plant.yaml:8:9: sources[0].devices[0].unit: required key is missing",
            id="a_device_must_say_its_unit",
        ),
        pytest.param(
            "  devices:\n"
            "    - unit: 1\n"
            "      points: [{name: level, kind: input, address: 0}]\n"
            "    - unit: 2\n"
            "      points: [{name: level, kind: input, address: 0}]\n",
            "plant.yaml:11:19: sources[0].devices[1].points[0].name: "
            "tag 'level' is already defined at line 9",
            id="a_point_name_used_on_two_devices_points_back_to_the_first",
        ),
        pytest.param(
            "  max_registers_per_request: 60\n"
            "  devices:\n"
            "    - unit: 1\n"
            "      points: [{name: recipe, kind: holding, address: 0, type: string, length: 200}]\n",
            "plant.yaml:10:74: sources[0].devices[0].points[0].length: a string of 200 characters takes 100 "
            "registers, more than one read of this device may hold (max_registers_per_request: 60)",
            id="a_point_longer_than_the_device_reads_at_once",
        ),
    ],
)
def test_a_device_mistake_is_placed_on_its_key(keys: str, problem: str) -> None:
    assert reported(serial_bus(keys)) == problem


def test_a_source_without_points_or_devices() -> None:
    assert reported(TCP + "  host: 10.0.0.1\n") == (
        "plant.yaml:3:5: sources[0].points: "
        "required key is missing; give points, or devices for several unit ids on this connection"
    )
