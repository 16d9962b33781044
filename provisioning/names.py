"""Host names, addresses and URIs as a technician types them, checked before they go into a certificate."""

from __future__ import annotations

import ipaddress
import re

from .errors import InputError

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

_LABEL = re.compile(r"[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?")
_DNS_MAX = 253


def dns_name(text: str) -> str:
    """A host or domain name in lower case; InputError unless it is one (no wildcards: one host each)."""
    name = text.strip().lower().removesuffix(".")
    if not name or len(name) > _DNS_MAX or not all(_LABEL.fullmatch(label) for label in name.split(".")):
        raise InputError(
            f"{text!r} is not a DNS name (letters, digits and hyphens in dot-separated labels; "
            "international names in their xn-- form)"
        )
    return name


def ip_address(text: str) -> IPAddress:
    try:
        return ipaddress.ip_address(text.strip())
    except ValueError:
        raise InputError(f"{text!r} is not an IPv4 or IPv6 address") from None


def ip_network(text: str) -> IPNetwork:
    try:
        return ipaddress.ip_network(text.strip(), strict=True)
    except ValueError as exc:
        raise InputError(f"{text!r} is not a network like 10.20.0.0/16: {exc}") from None


def uri(text: str) -> str:
    """An absolute URI (scheme:rest), as OPC UA application URIs are."""
    value = text.strip()
    if not re.fullmatch(r"[A-Za-z][A-Za-z0-9+.-]*:\S+", value):
        raise InputError(f"{text!r} is not an absolute URI like urn:acme:plant3:pump-17")
    return value
