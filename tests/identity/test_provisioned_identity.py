"""A certificate provisioned by a site CA: the agent serves with it, warns before it expires, and refuses
to start with one that cannot work, rather than replacing it with a self-signed one."""

from __future__ import annotations

import logging
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import rsa

from edge_agent.config.opcua import OpcUaConfig
from edge_agent.identity import (
    CertificateMismatchError,
    CertificateValidityError,
    PkiLayout,
    days_to_expiry,
    ensure_application_certificate,
    expiry_warning,
)
from edge_agent.opcua import AgentOpcUaServer
from edge_agent.tagstore import TagStore
from provisioning.ca import init_ca
from provisioning.device import init_device
from provisioning.enroll import import_certificate
from provisioning.files import private_key_pem, write_private
from provisioning.issue import sign_request
from tests.support.ports import free_port

APP_URI = "urn:acme:plant3:pump-17"
DEVICE = x509.Name([x509.NameAttribute(x509.NameOID.COMMON_NAME, "pump 17")])


def provisioned(root: Path, *, issued: datetime, valid_days: int) -> PkiLayout:
    """A device enrolled offline with a site CA at ``issued``, as `edge-provision` leaves it."""
    layout = PkiLayout(root / "pki")
    site_ca = init_ca(root / "ca", name="Plant 3 CA", key_type="rsa2048", now=issued)
    made = init_device(layout, application_uri=APP_URI, subject=DEVICE, csr_file=root / "device.csr")
    certificate = sign_request(site_ca, made.request, valid_days=valid_days, now=issued).certificate
    import_certificate(layout, [certificate, site_ca.certificate], now=issued + timedelta(hours=1))
    return layout


def start_agent_identity(layout: PkiLayout) -> x509.Certificate:
    return ensure_application_certificate(layout, application_uri=APP_URI, hostname="pump17").certificate


def test_a_provisioned_certificate_is_served_as_it_is(tmp_path: Path) -> None:
    layout = provisioned(tmp_path, issued=datetime.now(UTC), valid_days=365)
    installed = layout.own_certificate.read_bytes()

    certificate = start_agent_identity(layout)

    assert certificate == x509.load_der_x509_certificate(installed)


def test_a_provisioned_certificate_whose_key_is_another_refuses_start(tmp_path: Path) -> None:
    layout = provisioned(tmp_path, issued=datetime.now(UTC), valid_days=365)
    installed = layout.own_certificate.read_bytes()
    write_private(layout.private_key, private_key_pem(rsa.generate_private_key(65537, 2048)))

    with pytest.raises(CertificateMismatchError) as refused:
        start_agent_identity(layout)

    message = str(refused.value)
    assert f"its private key {layout.private_key} belongs to another certificate" in message
    assert f"edge-provision renew --pki {layout.root}" in message
    assert layout.own_certificate.read_bytes() == installed


def test_an_expired_provisioned_certificate_refuses_start(tmp_path: Path) -> None:
    layout = provisioned(tmp_path, issued=datetime.now(UTC) - timedelta(days=400), valid_days=30)
    installed = layout.own_certificate.read_bytes()

    with pytest.raises(CertificateValidityError) as refused:
        start_agent_identity(layout)

    message = str(refused.value)
    assert f"{layout.own_certificate} expired on" in message
    assert f"edge-provision renew --pki {layout.root}" in message
    assert layout.own_certificate.read_bytes() == installed


def test_a_provisioned_certificate_not_valid_yet_refuses_start_and_names_the_clock(tmp_path: Path) -> None:
    layout = provisioned(tmp_path, issued=datetime.now(UTC) + timedelta(days=10), valid_days=365)

    with pytest.raises(CertificateValidityError, match=r"is not valid before .* set the clock"):
        start_agent_identity(layout)


def agent_server(layout: PkiLayout, certificate_warning: str = "30d") -> AgentOpcUaServer:
    config = OpcUaConfig.model_validate(
        {
            "endpoint": f"opc.tcp://127.0.0.1:{free_port()}",
            "application_uri": APP_URI,
            "pki": str(layout.root),
            "certificate_warning": certificate_warning,
        }
    )
    return AgentOpcUaServer(config, TagStore(), server_name="edge-agent test", application_uri=APP_URI)


async def test_the_server_does_not_start_with_an_expired_provisioned_certificate(tmp_path: Path) -> None:
    layout = provisioned(tmp_path, issued=datetime.now(UTC) - timedelta(days=400), valid_days=30)
    server = agent_server(layout)

    with pytest.raises(CertificateValidityError, match="expired on"):
        await server.start()


def expiry_warnings(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [
        record.getMessage()
        for record in caplog.records
        if record.levelno == logging.WARNING and "expires on" in record.getMessage()
    ]


async def test_the_server_warns_at_start_when_the_certificate_expires_within_the_window(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    layout = provisioned(tmp_path, issued=datetime.now(UTC), valid_days=10)
    server = agent_server(layout, certificate_warning="30d")

    with caplog.at_level(logging.WARNING):
        await server.start()
    await server.stop()

    [warning] = expiry_warnings(caplog)
    assert f"{layout.own_certificate} expires on" in warning
    assert f"edge-provision renew --pki {layout.root}" in warning


def test_there_is_nothing_to_warn_of_before_the_window(tmp_path: Path) -> None:
    layout = provisioned(tmp_path, issued=datetime.now(UTC), valid_days=10)
    certificate = x509.load_der_x509_certificate(layout.own_certificate.read_bytes())

    warning = expiry_warning(
        certificate,
        path=layout.own_certificate,
        pki=layout.root,
        window=timedelta(days=7),
        made_here=False,
    )

    assert warning is None


def test_days_to_expiry_count_whole_days_left(tmp_path: Path) -> None:
    issued = datetime.now(UTC)
    layout = provisioned(tmp_path, issued=issued, valid_days=10)
    certificate = x509.load_der_x509_certificate(layout.own_certificate.read_bytes())

    assert days_to_expiry(certificate, issued.replace(microsecond=0) + timedelta(days=3, hours=1)) == 6


def test_the_agent_command_ends_with_one_clear_line_and_exit_1_on_an_expired_certificate(
    tmp_path: Path,
) -> None:
    layout = provisioned(tmp_path, issued=datetime.now(UTC) - timedelta(days=400), valid_days=30)
    config = tmp_path / "config.yaml"
    config.write_text(
        "asset: {id: urn:acme:plant3:aas:pump-17, global_asset_id: urn:acme:plant3:pump-17}\n"
        f"opcua: {{endpoint: 'opc.tcp://127.0.0.1:{free_port()}', application_uri: '{APP_URI}', "
        f"pki: '{layout.root}'}}\n",
        encoding="utf-8",
    )
    command = [sys.executable, "-m", "edge_agent", "run", str(config)]
    result = subprocess.run(command, check=False, capture_output=True, text=True, timeout=60)
    assert result.returncode == 1
    assert "cannot start:" in result.stderr and "expired on" in result.stderr
    assert "Traceback" not in result.stderr
