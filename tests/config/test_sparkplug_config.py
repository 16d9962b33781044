"""The `sparkplug:` section: brokers in failover order, Sparkplug IDs, TLS files from the agent's PKI
store, plaintext only on loopback, and every mistake reported at its file, line and key."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from textwrap import dedent, indent

import pytest

from edge_agent.agent_config import json_schema, load_config, load_config_text
from edge_agent.config import BrokerAddress, TlsFiles

from .reporting import the_one_problem

ASSET = "asset: {id: urn:example:aas:p1, global_asset_id: urn:example:asset:p1}\n"
SECTION = """\
brokers: [mqtts://broker-a.plant:8883, mqtts://broker-b.plant]
group_id: plant3
edge_node_id: pump-skid-7
"""


def with_section(section: str) -> str:
    return ASSET + "sparkplug:\n" + indent(dedent(section), "  ")


def reported(section: str) -> str:
    """The one line the user sees for a `sparkplug:` section with exactly one mistake."""
    return the_one_problem(with_section(section))


def test_a_full_section_loads_with_units_and_paths_beside_the_config(tmp_path: Path) -> None:
    text = with_section(
        """\
        brokers: [mqtts://broker-a.plant:8883, "mqtts://[fd00::7]", mqtts://10.0.0.5:9883]
        group_id: plant3
        edge_node_id: pump-skid-7
        primary_host_id: scada-1
        keepalive: 1m
        commands: true
        store_and_forward: {database: state/outbox.sqlite, max_size: 1GiB}
        tls: {ca: site-ca.pem}
        """
    )
    config = load_config_text(text, base_dir=tmp_path).sparkplug

    assert config is not None
    assert config.broker_addresses == [
        BrokerAddress("mqtts://broker-a.plant:8883", "broker-a.plant", 8883, tls=True),
        BrokerAddress("mqtts://[fd00::7]", "fd00::7", 8883, tls=True),
        BrokerAddress("mqtts://10.0.0.5:9883", "10.0.0.5", 9883, tls=True),
    ]
    assert (config.group_id, config.edge_node_id, config.primary_host_id) == (
        "plant3",
        "pump-skid-7",
        "scada-1",
    )
    assert (config.keepalive, config.commands, config.plaintext) == (60.0, True, False)
    assert config.store_and_forward is not None
    assert config.store_and_forward.database == tmp_path / "state" / "outbox.sqlite"
    assert config.store_and_forward.max_size == 2**30
    assert config.tls.ca == tmp_path / "site-ca.pem"


def test_the_defaults_are_secure_and_conservative() -> None:
    config = load_config_text(with_section(SECTION)).sparkplug

    assert config is not None
    assert config.keepalive == 30.0
    assert config.commands is False
    assert config.primary_host_id is None
    assert config.store_and_forward is None
    assert config.insecure is None
    assert config.mqtt_client_id == "plant3/pump-skid-7"
    assert config.broker_addresses[1] == BrokerAddress("mqtts://broker-b.plant", "broker-b.plant", 8883, True)


def test_tls_files_default_to_the_agents_pki_store(tmp_path: Path) -> None:
    config = load_config_text(
        ASSET + "opcua: {pki: state/pki}\n" + "sparkplug:\n" + indent(SECTION, "  "), base_dir=tmp_path
    )
    assert config.sparkplug is not None

    pki = tmp_path / "state" / "pki"
    assert config.sparkplug.tls_files(config.opcua.pki) == TlsFiles(
        trusted=(pki / "trusted" / "certs",),
        certificate=pki / "own" / "cert.der",
        private_key=pki / "private" / "key.pem",
        issuers=(pki / "issuers" / "certs",),
    )


def test_a_certificate_and_key_of_its_own_replace_the_pki_stores(tmp_path: Path) -> None:
    text = with_section(SECTION + "tls: {certificate: mqtt/client.pem, private_key: mqtt/client.key}\n")
    config = load_config_text(text, base_dir=tmp_path).sparkplug
    assert config is not None

    files = config.tls_files(Path("/var/lib/edge-agent/pki"))
    assert files.certificate == tmp_path / "mqtt" / "client.pem"
    assert files.private_key == tmp_path / "mqtt" / "client.key"
    assert files.issuers == ()
    assert files.trusted == (Path("/var/lib/edge-agent/pki/trusted/certs"),)


def test_without_the_section_there_is_no_sparkplug() -> None:
    assert load_config_text(ASSET).sparkplug is None


@pytest.mark.parametrize("url", ["mqtt://127.0.0.1", "mqtt://localhost:1884", "mqtt://[::1]:1883"])
def test_plaintext_is_allowed_on_loopback_with_the_opt_in(url: str) -> None:
    text = with_section(f"brokers: ['{url}']\ngroup_id: g\nedge_node_id: e\ninsecure: {{plaintext: true}}\n")
    config = load_config_text(text).sparkplug

    assert config is not None
    assert config.plaintext
    assert not config.broker_addresses[0].tls
    assert config.broker_addresses[0].port == (1883 if url != "mqtt://localhost:1884" else 1884)


def test_plaintext_off_loopback_is_refused_even_with_the_opt_in() -> None:
    section = """\
        brokers:
          - mqtts://broker-a.plant
          - mqtt://broker-b.plant
        group_id: plant3
        edge_node_id: pump-skid-7
        insecure: {plaintext: true}
        """
    assert reported(section) == (
        "plant.yaml:5:7: sparkplug.brokers[1]: mqtt:// (no TLS) is only allowed for a broker on this "
        "machine (mqtt://127.0.0.1); use mqtts://broker-b.plant:8883"
    )


def test_plaintext_on_loopback_needs_the_opt_in() -> None:
    assert reported("brokers: [mqtt://127.0.0.1:1883]\ngroup_id: g\nedge_node_id: e\n") == (
        "plant.yaml:3:13: sparkplug.brokers[0]: mqtt:// sends everything unencrypted; use mqtts://, or for "
        "a broker on this machine set insecure: {plaintext: true}"
    )


@pytest.mark.parametrize(
    ("url", "column", "message"),
    [
        ("http://broker.plant", 13, "must look like mqtts://HOST[:PORT] (got 'http://broker.plant')"),
        ("broker.plant:8883", 13, "must look like mqtts://HOST[:PORT] (got 'broker.plant:8883')"),
        ("mqtts://broker.plant:0", 13, "the port must be from 1 to 65535 (got 'mqtts://broker.plant:0')"),
        ("mqtts://broker.plant:x", 13, "the port must be from 1 to 65535 (got 'mqtts://broker.plant:x')"),
        (
            "mqtts://agent:secret@broker.plant",
            13,
            "must not hold a user name or password: the agent logs in with its certificate",
        ),
        (
            "mqtts://broker.plant/spBv1.0",
            13,
            "must be just mqtts://HOST[:PORT], without a path, query or fragment (got 'mqtts://broker.plant/spBv1.0')",
        ),
        (
            "mqtts://bro ker",
            13,
            "must name a host name or IP address, like mqtts://HOST[:PORT] (got 'mqtts://bro ker')",
        ),
    ],
)
def test_a_broker_url_that_is_not_one_is_placed_on_its_entry(url: str, column: int, message: str) -> None:
    section = f"brokers: ['{url}']\ngroup_id: g\nedge_node_id: e\n"
    assert reported(section) == f"plant.yaml:3:{column}: sparkplug.brokers[0]: {message}"


def test_a_broker_listed_twice_is_placed_on_the_second() -> None:
    section = """\
        brokers:
          - mqtts://broker-a.plant
          - mqtts://BROKER-A.plant:8883
        group_id: g
        edge_node_id: e
        """
    assert (
        reported(section)
        == "plant.yaml:5:7: sparkplug.brokers[1]: broker broker-a.plant:8883 is listed twice"
    )


@pytest.mark.parametrize(
    ("key", "value", "message"),
    [
        (
            "group_id",
            "plant/3",
            "must not hold '/': '+', '/' and '#' are reserved in MQTT topics (got 'plant/3')",
        ),
        (
            "edge_node_id",
            "pump+#",
            "must not hold '#', '+': '+', '/' and '#' are reserved in MQTT topics (got 'pump+#')",
        ),
        ("edge_node_id", "''", "must not be empty"),
        ("primary_host_id", '"scada\\t1"', "must not hold control characters (got 'scada\\t1')"),
    ],
)
def test_a_sparkplug_id_with_a_reserved_character_is_refused_at_its_key(
    key: str, value: str, message: str
) -> None:
    ids = {"group_id": "plant3", "edge_node_id": "pump-skid-7", key: value}
    section = "brokers: [mqtts://broker.plant]\n" + "".join(f"{name}: {text}\n" for name, text in ids.items())
    line = 4 + list(ids).index(key)
    assert reported(section) == f"plant.yaml:{line}:3: sparkplug.{key}: {message}"


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("keepalive: 30", "sparkplug.keepalive: add a unit, e.g. 500ms, 2s, 1m (got 30)"),
        ("keepalive: 2.5s", "sparkplug.keepalive: must be whole seconds (got 2500ms)"),
        ("keepalive: 500ms", "sparkplug.keepalive: must be at least 1s (got 500ms)"),
        ("keepalive: 1d", "sparkplug.keepalive: must be at most 65535s (got 1d)"),
        ("commands: maybe", "sparkplug.commands: must be true or false (got 'maybe')"),
        ("client_id: ''", "sparkplug.client_id: must not be empty"),
    ],
)
def test_a_value_out_of_bounds_is_refused_at_its_key(line: str, message: str) -> None:
    assert reported(SECTION + line + "\n") == f"plant.yaml:6:3: {message}"


def test_the_store_size_has_bounds_and_a_unit() -> None:
    assert reported(SECTION + "store_and_forward:\n  max_size: 900kB\n") == (
        "plant.yaml:7:5: sparkplug.store_and_forward.max_size: must be at least 1MB (got 900kB)"
    )


def test_a_certificate_without_its_key_is_refused() -> None:
    assert reported(SECTION + "tls:\n  certificate: client.pem\n") == (
        "plant.yaml:7:5: sparkplug.tls.certificate: give private_key as well: a certificate from elsewhere "
        "cannot pair with the PKI store's"
    )


def test_there_is_no_qos_key_because_sparkplug_fixes_it() -> None:
    assert reported(SECTION + "qos: 1\n") == (
        "plant.yaml:6:3: sparkplug.qos: unknown key 'qos'; known keys here: brokers, group_id, edge_node_id, "
        "primary_host_id, client_id, keepalive, commands, store_and_forward, tls, insecure"
    )


def test_an_empty_broker_list_and_a_missing_id() -> None:
    assert reported("brokers: []\ngroup_id: plant3\nedge_node_id: e\n") == (
        "plant.yaml:3:3: sparkplug.brokers: must not be empty; give at least one entry"
    )
    assert reported("brokers: [mqtts://broker.plant]\ngroup_id: plant3\n") == (
        "plant.yaml:2:1: sparkplug.edge_node_id: required key is missing"
    )


def test_the_schema_describes_the_section() -> None:
    schema = json_schema()
    section = schema["$defs"]["SparkplugConfig"]

    assert schema["properties"]["sparkplug"]["anyOf"][0] == {"$ref": "#/$defs/SparkplugConfig"}
    assert set(section["required"]) == {"brokers", "group_id", "edge_node_id"}
    assert section["properties"]["keepalive"]["type"] == "string"


def test_a_config_with_the_section_loads_from_its_file(tmp_path: Path) -> None:
    path = tmp_path / "agent.yaml"
    path.write_text(with_section(SECTION + "store_and_forward: {database: outbox.sqlite}\n"))

    config = load_config(path).sparkplug

    assert config is not None
    assert config.store_and_forward is not None
    assert config.store_and_forward.database == tmp_path / "outbox.sqlite"


def edge_agent(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "edge_agent", *args], capture_output=True, text=True, timeout=60, check=False
    )


def test_check_accepts_a_config_with_the_section(tmp_path: Path) -> None:
    path = tmp_path / "agent.yaml"
    path.write_text(with_section(SECTION + "primary_host_id: scada-1\n"))

    result = edge_agent("check", str(path))

    assert result.returncode == 0, result.stderr
    assert "OK" in result.stdout


def test_check_refuses_plaintext_off_loopback_with_its_place_and_exit_2(tmp_path: Path) -> None:
    path = tmp_path / "agent.yaml"
    path.write_text(with_section("brokers: [mqtt://broker.plant]\ngroup_id: g\nedge_node_id: e\n"))

    result = edge_agent("check", str(path))

    assert result.returncode == 2
    assert result.stderr.strip() == (
        f"{path}:3:13: sparkplug.brokers[0]: mqtt:// (no TLS) is only allowed for a broker on this machine "
        "(mqtt://127.0.0.1); use mqtts://broker.plant:8883"
    )
