"""Whom the trust list trusts: the PKI directories as an administrator fills them."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from edge_agent.identity import PkiLayout
from edge_agent.opcua.trust import RejectedCertificates, TrustListValidator
from tests.support.ca import (
    client_application,
    issue_client,
    make_ca,
    new_key,
    revoke,
    verdict,
)
from tests.support.opcua import CLIENT_URI, make_client_identity


@pytest.fixture
def layout(tmp_path: Path) -> PkiLayout:
    pki = PkiLayout(tmp_path / "pki")
    pki.ensure()
    return pki


async def test_client_issued_by_a_trusted_ca_is_accepted(layout: PkiLayout) -> None:
    ca = make_ca("site CA")
    (layout.trusted_certs / "site-ca.der").write_bytes(ca.der)
    (layout.trusted_crl / "site-ca.crl").write_bytes(revoke(ca))

    assert (
        await verdict(TrustListValidator(layout), issue_client(ca).certificate, client_application())
        == "accepted"
    )


async def test_client_of_a_ca_without_its_crl_is_refused_as_revocation_unknown(layout: PkiLayout) -> None:
    ca = make_ca("site CA")
    (layout.trusted_certs / "site-ca.der").write_bytes(ca.der)

    verdict_given = await verdict(
        TrustListValidator(layout), issue_client(ca).certificate, client_application()
    )

    assert verdict_given == "BadCertificateRevocationUnknown"


async def test_chain_through_an_issuer_to_a_trusted_root_is_accepted(layout: PkiLayout) -> None:
    root = make_ca("root CA")
    intermediate = make_ca("line CA", issuer=root)
    (layout.trusted_certs / "root.der").write_bytes(root.der)
    (layout.issuer_certs / "line.der").write_bytes(intermediate.der)
    (layout.issuer_crl / "line.crl").write_bytes(revoke(intermediate))

    client = issue_client(intermediate)

    assert await verdict(TrustListValidator(layout), client.certificate, client_application()) == "accepted"


async def test_client_of_a_ca_that_is_only_an_issuer_is_refused(layout: PkiLayout) -> None:
    ca = make_ca("someone's CA")
    (layout.issuer_certs / "ca.der").write_bytes(ca.der)

    client = issue_client(ca)

    assert await verdict(TrustListValidator(layout), client.certificate, client_application()) == (
        "BadCertificateUntrusted"
    )


async def test_client_revoked_by_its_ca_is_refused(layout: PkiLayout) -> None:
    ca = make_ca("site CA")
    client = issue_client(ca)
    (layout.trusted_certs / "site-ca.der").write_bytes(ca.der)
    (layout.trusted_crl / "site-ca.crl").write_bytes(revoke(ca, client))

    assert await verdict(TrustListValidator(layout), client.certificate, client_application()) == (
        "BadCertificateRevoked"
    )


async def test_client_missing_from_its_cas_crl_is_accepted(layout: PkiLayout) -> None:
    ca = make_ca("site CA")
    client = issue_client(ca)
    (layout.trusted_certs / "site-ca.der").write_bytes(ca.der)
    (layout.trusted_crl / "site-ca.crl").write_bytes(revoke(ca, issue_client(ca)))

    assert await verdict(TrustListValidator(layout), client.certificate, client_application()) == "accepted"


async def test_client_of_a_ca_whose_crl_is_not_signed_by_the_ca_is_refused(
    layout: PkiLayout, caplog: pytest.LogCaptureFixture
) -> None:
    ca = make_ca("site CA")
    client = issue_client(ca)
    (layout.trusted_certs / "site-ca.der").write_bytes(ca.der)
    (layout.trusted_crl / "site-ca.crl").write_bytes(revoke(ca, signed_with=new_key()))

    with caplog.at_level(logging.WARNING, logger="edge_agent.opcua.trust"):
        refused = await verdict(TrustListValidator(layout), client.certificate, client_application())

    logged = any("site-ca.crl" in record.getMessage() for record in caplog.records)
    assert (refused, logged) == ("BadCertificateRevocationUnknown", True)


async def test_certificate_of_another_application_is_refused(layout: PkiLayout, tmp_path: Path) -> None:
    identity = make_client_identity(tmp_path / "client", application_uri="urn:test:other-client")
    (layout.trusted_certs / "client.der").write_bytes(identity.der)

    assert await verdict(
        TrustListValidator(layout), identity.certificate, client_application(CLIENT_URI)
    ) == ("BadCertificateUriInvalid")


async def test_certificate_removed_from_trusted_is_refused_again(layout: PkiLayout, tmp_path: Path) -> None:
    identity = make_client_identity(tmp_path / "client")
    trusted = layout.trusted_certs / "client.der"
    trusted.write_bytes(identity.der)
    validator = TrustListValidator(layout)
    before = await verdict(validator, identity.certificate, client_application())

    trusted.unlink()

    after = await verdict(validator, identity.certificate, client_application())
    assert (before, after) == ("accepted", "BadCertificateUntrusted")


async def test_certificate_refused_again_is_not_written_again(layout: PkiLayout, tmp_path: Path) -> None:
    identity = make_client_identity(tmp_path / "client")
    validator = TrustListValidator(layout)
    await verdict(validator, identity.certificate, client_application())
    (kept,) = layout.rejected.iterdir()
    first = kept.stat()

    await verdict(validator, identity.certificate, client_application())

    again = kept.stat()
    assert (again.st_ino, again.st_mtime_ns) == (first.st_ino, first.st_mtime_ns)


def test_rejected_directory_takes_at_most_ten_new_certificates_a_minute(tmp_path: Path) -> None:
    now = [0.0]
    rejected = RejectedCertificates(tmp_path, clock=lambda: now[0])
    identities = [make_client_identity(tmp_path / f"c{i}", name=f"client{i}") for i in range(12)]

    within_a_minute = [rejected.keep(identity.certificate) is not None for identity in identities[:11]]
    now[0] = 60.0
    a_minute_later = rejected.keep(identities[11].certificate) is not None

    assert (within_a_minute, a_minute_later) == ([True] * 10 + [False], True)


def test_rejected_directory_keeps_only_the_newest_certificates(tmp_path: Path) -> None:
    rejected = RejectedCertificates(tmp_path, limit=3)
    identities = [make_client_identity(tmp_path / f"c{i}", name=f"client{i}") for i in range(5)]

    kept = [rejected.keep(identity.certificate) for identity in identities]

    assert sorted(tmp_path.glob("*.der")) == sorted(kept[-3:])
