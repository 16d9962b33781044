"""`renew`: a new key and certificate for a provisioned device before its certificate expires.

The new request asks for what the current certificate says (subject and subjectAltNames, as RFC 7030
4.2.2 requires of a re-enrollment), with a new key made on the device. Online, the EST server signs it
(/simplereenroll); offline, the request goes to the site CA and comes back through `enroll import`.
Until the new certificate is installed the agent keeps serving with the current one.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from cryptography import x509

from edge_agent.identity import PkiLayout, expires_within

from . import est
from .device import DEFAULT_KEY_SIZE, DeviceRequest, init_device, is_self_signed_by_agent
from .enroll import Enrolled
from .errors import InputError, ProvisioningError
from .files import load_certificates
from .names import IPAddress
from .opcua_profile import alt_names, application_uris
from .validity import utc_now

DEFAULT_BEFORE = "30d"
_SPAN = re.compile(r"([0-9]+)\s*([dhm])")
_UNITS = {"d": timedelta(days=1), "h": timedelta(hours=1), "m": timedelta(minutes=1)}


def parse_span(text: str) -> timedelta:
    """A time span as in the config language: 30d, 12h, 90m."""
    match = _SPAN.fullmatch(text.strip())
    if match is None:
        raise InputError(f"{text!r} is not a time span like 30d, 12h or 90m")
    return int(match.group(1)) * _UNITS[match.group(2)]


@dataclass(frozen=True, slots=True)
class Due:
    certificate: x509.Certificate
    due: bool
    """Whether the certificate expires within the window (or renewal was forced)."""


def current_certificate(layout: PkiLayout) -> x509.Certificate:
    """The provisioned certificate; ProvisioningError when there is none to renew."""
    if not layout.own_certificate.exists():
        raise ProvisioningError(
            f"{layout.own_certificate} does not exist: enroll this device first "
            "(`edge-provision enroll est` or `device init` and `enroll import`)"
        )
    if is_self_signed_by_agent(layout):
        raise ProvisioningError(
            f"{layout.own_certificate} is the agent's self-signed certificate, which it renews itself; "
            "to have the site CA certify this device, enroll it (`edge-provision enroll est`)"
        )
    return load_certificates(layout.own_certificate, "the device's certificate")[0]


def renewal_due(
    layout: PkiLayout, before: timedelta, *, force: bool = False, now: datetime | None = None
) -> Due:
    certificate = current_certificate(layout)
    return Due(certificate, force or expires_within(certificate, before, utc_now(now)))


def request_like(
    layout: PkiLayout, certificate: x509.Certificate, csr_file: Path, *, key_size: int = DEFAULT_KEY_SIZE
) -> DeviceRequest:
    """A new pending key, and a request for the same subject and names as ``certificate``."""
    names = alt_names(certificate.extensions)
    uris = application_uris(names)
    if len(uris) != 1:
        raise InputError(f"{layout.own_certificate} does not name one application URI to renew")
    # A subjectAltName's iPAddress is an address (only a NameConstraints' is a network).
    ips: list[IPAddress] = [
        name.value for name in names if isinstance(name, x509.IPAddress) and isinstance(name.value, IPAddress)
    ]
    layout.ensure()
    return init_device(
        layout,
        application_uri=uris[0],
        subject=certificate.subject,
        csr_file=csr_file,
        dns_names=[name.value for name in names if isinstance(name, x509.DNSName)],
        ip_addresses=ips,
        key_size=key_size,
        # Replacing the current identity (at import) is what a renewal is for.
        force=True,
    )


def renew_online(
    layout: PkiLayout,
    client: est.EstClient,
    certificate: x509.Certificate,
    *,
    key_size: int = DEFAULT_KEY_SIZE,
    now: datetime | None = None,
) -> Enrolled:
    """Re-enroll over EST; on any failure the current identity and a pending enrollment stay as they were."""
    return est.enroll(
        layout,
        client,
        # The request is kept as the pending one only; there is no file for anyone to carry.
        lambda: request_like(layout, certificate, layout.pending_request, key_size=key_size),
        reenroll=True,
        now=now,
    )
