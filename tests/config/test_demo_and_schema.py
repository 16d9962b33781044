"""The bundled demo config is valid, and the JSON Schema editors use agrees with the loader about it."""

from __future__ import annotations

import json
import re
from typing import Any

from ruamel.yaml import YAML

from edge_agent.agent_config import json_schema, load_config
from edge_agent.demo import DEMO_CONFIG


def demo_data() -> Any:
    return YAML(typ="safe", pure=True).load(DEMO_CONFIG.read_text(encoding="utf-8"))


def test_the_demo_config_loads() -> None:
    config = load_config(DEMO_CONFIG)
    assert [tag.name for tag in config.tag_infos()] == [
        "motor_temperature",
        "vibration_rms",
        "discharge_pressure",
        "flow_rate",
        "motor_speed",
        "running",
        "speed_setpoint",
        "bearing_fault",
        "cavitation",
        "door_open",
        "flow_pulses",
        "flow_pulses_rate",
        "alarm_lamp",
        "anomaly_score",
        "anomaly",
        "pump_health_invocations",
        "pump_health_latency_mean_ms",
        "pump_health_latency_p99_ms",
        "pump_health_overruns",
        "pump_state",
        "pump_state_probability",
        "pump_condition_invocations",
        "pump_condition_latency_mean_ms",
        "pump_condition_latency_p99_ms",
        "pump_condition_overruns",
    ]


def test_the_schema_is_draft_2020_12_json() -> None:
    schema = json.loads(json.dumps(json_schema()))
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"


def test_the_schema_describes_every_section() -> None:
    assert set(json_schema()["properties"]) == {
        "asset",
        "opcua",
        "sources",
        "models",
        "history",
        "sparkplug",
        "aas_api",
    }


def test_the_schema_offers_one_variant_per_driver() -> None:
    schema = json_schema()
    variants = schema["properties"]["sources"]["items"]["oneOf"]
    drivers = {resolve(schema, variant)["properties"]["driver"]["const"] for variant in variants}
    assert drivers == {"modbus", "gpio"}


def test_durations_are_strings_with_a_unit_in_the_schema() -> None:
    schema = json_schema()
    poll = schema["$defs"]["ModbusSourceConfig"]["properties"]["poll"]
    matches = [bool(re.search(poll["pattern"], written)) for written in ("250ms", "1.5s", "250")]
    assert (poll["type"], matches) == ("string", [True, True, False])


def test_the_demo_config_satisfies_the_schema() -> None:
    schema = json_schema()
    assert schema_errors(schema, schema, demo_data(), "") == []


def test_the_schema_refuses_what_the_loader_refuses() -> None:
    data = demo_data()
    data["sources"][0]["points"][0]["kind"] = "register"
    data["opcua"]["bind"] = "127.0.0.1"
    schema = json_schema()
    assert schema_errors(schema, schema, data, "") == [
        ".opcua: unknown key bind",
        ".sources[0].points[0].kind: 'register' not in ['coil', 'discrete', 'input', 'holding']",
    ]


def resolve(schema: dict[str, Any], node: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in node:
        node = schema["$defs"][node["$ref"].rsplit("/", 1)[1]]
    return node


def schema_errors(schema: dict[str, Any], node: dict[str, Any], data: Any, where: str) -> list[str]:
    """The parts of JSON Schema that are cheap to check: types, required and unknown keys, enums, patterns.

    Enough to show the schema and the loader agree on the demo config; not a general validator.
    """
    node = resolve(schema, node)
    for combinator in ("oneOf", "anyOf"):
        if combinator in node:
            branches = [schema_errors(schema, branch, data, where) for branch in node[combinator]]
            return [] if any(not errors for errors in branches) else min(branches, key=len)
    errors: list[str] = []
    kind = node.get("type")
    checks = {"object": dict, "array": list, "string": str, "boolean": bool, "null": type(None)}
    if kind in checks and not isinstance(data, checks[kind]):
        return [f"{where}: not a {kind}"]
    if kind in ("integer", "number") and (isinstance(data, bool) or not isinstance(data, int | float)):
        return [f"{where}: not a {kind}"]
    if "const" in node and data != node["const"]:
        errors.append(f"{where}: {data!r} is not {node['const']!r}")
    if "enum" in node and data not in node["enum"]:
        errors.append(f"{where}: {data!r} not in {node['enum']}")
    if "pattern" in node and isinstance(data, str) and not re.search(node["pattern"], data):
        errors.append(f"{where}: {data!r} does not match {node['pattern']}")
    if isinstance(data, dict):
        properties = node.get("properties", {})
        errors += [f"{where}: missing {key}" for key in node.get("required", []) if key not in data]
        if node.get("additionalProperties") is False:
            errors += [f"{where}: unknown key {key}" for key in data if key not in properties]
        for key, value in data.items():
            if key in properties:
                errors += schema_errors(schema, properties[key], value, f"{where}.{key}")
    if isinstance(data, list) and "items" in node:
        for index, item in enumerate(data):
            errors += schema_errors(schema, node["items"], item, f"{where}[{index}]")
    return errors
