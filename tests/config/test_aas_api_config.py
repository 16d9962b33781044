"""The `aas_api:` section: HTTPS by default, plain HTTP and anonymous reads only on loopback by opt-in,
bounded requests and pages, and every mistake reported at its file, line and key."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from textwrap import dedent, indent

import pytest

from edge_agent.agent_config import json_schema, load_config_text

from .reporting import the_one_problem

ASSET = "asset: {id: urn:example:aas:p1, global_asset_id: urn:example:asset:p1}\n"


def with_section(section: str) -> str:
    return ASSET + "aas_api:\n" + indent(dedent(section), "  ")


def test_without_the_section_nothing_listens_for_http() -> None:
    assert load_config_text(ASSET).aas_api is None


def test_an_empty_section_serves_https_on_every_interface_with_bounded_requests() -> None:
    config = load_config_text(ASSET + "aas_api: {}\n").aas_api
    assert config is not None
    assert (config.scheme, config.host, config.port) == ("https", "0.0.0.0", 8443)
    assert not config.anonymous_read
    limits = config.limits
    assert (limits.max_connections, int(limits.max_request_size), limits.page_size) == (64, 1_000_000, 500)
    assert limits.request_timeout == 10.0


def test_a_full_section_loads_with_units() -> None:
    text = with_section(
        """\
        listen: https://192.168.10.5:443
        limits: {max_connections: 8, max_request_size: 64kB, request_timeout: 5s, page_size: 100}
        """
    )
    config = load_config_text(text).aas_api
    assert config is not None
    assert (config.host, config.port) == ("192.168.10.5", 443)
    assert (config.limits.max_connections, int(config.limits.max_request_size)) == (8, 64_000)


def test_the_loopback_demo_may_serve_plain_http_to_anonymous_readers() -> None:
    text = with_section("listen: http://127.0.0.1:8080\ninsecure: {plaintext: true, anonymous_read: true}\n")
    config = load_config_text(text).aas_api
    assert config is not None and config.anonymous_read and config.scheme == "http"


@pytest.mark.parametrize(
    ("section", "expected"),
    [
        (
            "listen: http://0.0.0.0:8080\n",
            "plant.yaml:3:3: aas_api.listen: http:// serves the shell without TLS: use https://, or on a "
            "loopback address opt in with insecure: {plaintext: true}",
        ),
        (
            "listen: https://0.0.0.0:8443\ninsecure: {anonymous_read: true}\n",
            "plant.yaml:4:3: aas_api.insecure: insecure settings are only allowed when listening on a "
            "loopback address (https://127.0.0.1:...)",
        ),
        ("listen: https://h:99999\n", "plant.yaml:3:3: aas_api.listen: the port must be from 1 to 65535"),
        ("listen: ftp://h:21\n", "plant.yaml:3:3: aas_api.listen: must look like https://HOST:PORT"),
        ("listen: https://h:8443/api\n", "plant.yaml:3:3: aas_api.listen: must be just https://HOST:PORT"),
        ("limits: {page_size: 0}\n", "plant.yaml:3:12: aas_api.limits.page_size: must be at least 1"),
        (
            "limits: {max_request_size: 1GB}\n",
            "plant.yaml:3:12: aas_api.limits.max_request_size: must be at most 100MB",
        ),
        ("listn: https://h:1\n", "plant.yaml:3:3: aas_api.listn:"),
        (
            "registry: {url: https://registry.example:8443/api/v3.0}\n",
            "plant.yaml:3:3: aas_api.registry: give public_url, the base URL others reach the API at: listen "
            "(https://0.0.0.0:8443) names no address the registry could hand out",
        ),
        (
            "listen: https://10.0.0.5:8443\nregistry: {url: http://registry.example/api}\n",
            "plant.yaml:4:14: aas_api.registry.url: http:// would send the descriptor in the clear: use "
            "https://, or http:// only to a registry on a loopback address",
        ),
        (
            "listen: https://10.0.0.5:8443\nregistry: {url: opc.tcp://registry:4840}\n",
            "plant.yaml:4:14: aas_api.registry.url: must look like https://HOST[:PORT][/PATH]",
        ),
        (
            "listen: https://10.0.0.5:8443\nregistry:\n  url: https://r.example\n  public_url: https://a?x=1\n",
            "plant.yaml:6:5: aas_api.registry.public_url: must be just https://HOST[:PORT][/PATH]: no query",
        ),
        (
            "listen: https://10.0.0.5:8443\nregistry: {url: https://r.example, timeout: 10ms}\n",
            "plant.yaml:4:38: aas_api.registry.timeout: must be at least 100ms",
        ),
        (
            "listen: https://10.0.0.5:8443\nregistry: {url: https://r.example, ur1: x}\n",
            "plant.yaml:4:38: aas_api.registry.ur1:",
        ),
    ],
)
def test_each_mistake_is_reported_at_its_place(section: str, expected: str) -> None:
    problem = the_one_problem(with_section(section))
    assert problem.startswith(expected), problem


def test_a_registry_takes_the_listen_address_as_public_url_and_the_ca_beside_the_config(
    tmp_path: Path,
) -> None:
    text = with_section(
        "listen: https://192.168.10.5:8443\nregistry: {url: https://registry.example/api/v3.0/, ca: ca.pem}\n"
    )
    config = load_config_text(text, base_dir=tmp_path).aas_api
    assert config is not None and config.registry is not None
    assert config.registry.url == "https://registry.example/api/v3.0"
    assert config.public_url == "https://192.168.10.5:8443"
    assert config.registry.ca == tmp_path / "ca.pem" and config.registry.timeout == 10.0


def test_a_registry_may_be_told_the_public_url_and_may_be_plain_http_on_loopback() -> None:
    text = with_section(
        "registry: {url: 'http://127.0.0.1:8080', public_url: 'https://pump-17.plant.example/aas/', "
        "timeout: 3s}\n"
    )
    config = load_config_text(text).aas_api
    assert config is not None and config.registry is not None
    assert config.public_url == "https://pump-17.plant.example/aas" and config.registry.timeout == 3.0


def test_the_json_schema_documents_the_section() -> None:
    schema = json_schema()
    assert "aas_api" in schema["properties"]


def test_check_refuses_plain_http_off_loopback_with_exit_2(tmp_path: Path) -> None:
    path = tmp_path / "agent.yaml"
    path.write_text(with_section("listen: http://10.0.0.5:8080\ninsecure: {plaintext: true}\n"))
    result = subprocess.run(
        [sys.executable, "-m", "edge_agent", "check", str(path)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 2
    assert f"{path}:4:3: aas_api.insecure: insecure settings are only allowed" in result.stderr
