"""Which names a constrained CA may certify."""

from __future__ import annotations

import ipaddress

import pytest
from cryptography import x509

from provisioning.errors import InputError
from provisioning.name_constraints import PermittedNames

PERMITTED = PermittedNames.parse(["plant3.acme.example"], ["10.20.0.0/16"], ["urn:acme:plant3"])


@pytest.mark.parametrize(
    "name",
    [
        x509.DNSName("plant3.acme.example"),
        x509.DNSName("pump17.PLANT3.acme.example"),
        x509.IPAddress(ipaddress.ip_address("10.20.255.1")),
        x509.UniformResourceIdentifier("urn:acme:plant3"),
        x509.UniformResourceIdentifier("urn:acme:plant3:pump-17"),
        x509.UniformResourceIdentifier("urn:acme:plant3/pump-17"),
    ],
    ids=str,
)
def test_names_in_a_permitted_subtree_are_permitted(name: x509.GeneralName) -> None:
    assert PERMITTED.violations([name]) == []


@pytest.mark.parametrize(
    "name",
    [
        x509.DNSName("evilplant3.acme.example"),
        x509.DNSName("acme.example"),
        x509.IPAddress(ipaddress.ip_address("10.21.0.1")),
        x509.IPAddress(ipaddress.ip_address("fd00::1")),
        x509.UniformResourceIdentifier("urn:acme:plant30:pump-17"),
        x509.UniformResourceIdentifier("urn:acme:plant"),
    ],
    ids=str,
)
def test_names_outside_every_permitted_subtree_are_not(name: x509.GeneralName) -> None:
    assert len(PERMITTED.violations([name])) == 1


def test_a_kind_without_subtrees_is_not_constrained() -> None:
    dns_only = PermittedNames.parse(dns=["plant3.acme.example"])

    names = [x509.IPAddress(ipaddress.ip_address("192.0.2.1")), x509.UniformResourceIdentifier("urn:any")]

    assert dns_only.violations(names) == []


def test_a_network_with_host_bits_set_is_a_usage_error() -> None:
    with pytest.raises(InputError, match="is not a network"):
        PermittedNames.parse(ips=["10.20.0.1/16"])
