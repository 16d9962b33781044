"""The names a site CA may certify.

DNS names and IP addresses go into the CA certificate's NameConstraints extension (RFC 5280), so every
verifier enforces them. URIs cannot: RFC 5280 constrains only a URI's host, which the URNs OPC UA
application URIs usually are do not have (OpenSSL refuses them under any URI constraint), and
cryptography's verifier, which the agent's trust list uses, refuses every chain through a CA with a URI
constraint. Permitted URIs are therefore the CA's own signing policy, kept beside its certificate and
enforced when it signs, as prefixes: ``urn:acme:plant3`` permits ``urn:acme:plant3:pump-17``.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from cryptography import x509

from .errors import InputError
from .names import IPNetwork, dns_name, ip_network, uri


@dataclass(frozen=True, slots=True)
class PermittedNames:
    """Subtrees of names a CA may certify; an empty kind leaves that kind unconstrained."""

    dns: tuple[str, ...] = ()
    ips: tuple[IPNetwork, ...] = ()
    uris: tuple[str, ...] = ()

    @classmethod
    def parse(
        cls, dns: Iterable[str] = (), ips: Iterable[str] = (), uris: Iterable[str] = ()
    ) -> PermittedNames:
        """From the command line; InputError names the first value that is not a name of its kind."""
        domains = []
        for text in dns:
            if text.strip().startswith("."):
                raise InputError(
                    f"--permitted-dns {text!r}: give the domain without the leading dot; "
                    f"{text.strip().lstrip('.')!r} permits the domain and every name under it"
                )
            domains.append(dns_name(text))
        return cls(
            tuple(dict.fromkeys(domains)),
            tuple(dict.fromkeys(ip_network(text) for text in ips)),
            tuple(dict.fromkeys(uri(text) for text in uris)),
        )

    @classmethod
    def of_certificate(cls, certificate: x509.Certificate, uris: Iterable[str] = ()) -> PermittedNames:
        """The DNS and IP subtrees of ``certificate``'s NameConstraints, with the CA's URI policy."""
        try:
            constraints = certificate.extensions.get_extension_for_class(x509.NameConstraints).value
        except x509.ExtensionNotFound:
            return cls(uris=tuple(uris))
        permitted = constraints.permitted_subtrees or []
        return cls(
            tuple(name.value for name in permitted if isinstance(name, x509.DNSName)),
            # In NameConstraints an iPAddress is a network (RFC 5280 4.2.1.10), never a single address.
            tuple(
                name.value
                for name in permitted
                if isinstance(name, x509.IPAddress) and isinstance(name.value, IPNetwork)
            ),
            tuple(uris),
        )

    def extension(self) -> x509.NameConstraints | None:
        subtrees: list[x509.GeneralName] = [x509.DNSName(domain) for domain in self.dns]
        subtrees += [x509.IPAddress(network) for network in self.ips]
        return x509.NameConstraints(permitted_subtrees=subtrees, excluded_subtrees=None) if subtrees else None

    def violations(self, names: Iterable[x509.GeneralName]) -> list[str]:
        """Each name outside the permitted subtrees, described for the technician."""
        return [problem for name in names if (problem := self._violation(name)) is not None]

    def _violation(self, name: x509.GeneralName) -> str | None:
        # An empty kind is unconstrained (RFC 5280 4.2.1.10), so any() over no subtrees must not refuse.
        if isinstance(name, x509.DNSName):
            permitted = not self.dns or any(_in_domain(name.value, domain) for domain in self.dns)
            return None if permitted else f"DNS name {name.value!r} is outside {_listed(self.dns)}"
        if isinstance(name, x509.IPAddress):
            permitted = not self.ips or any(name.value in network for network in self.ips)
            return None if permitted else f"IP address {name.value} is outside {_listed(self.ips)}"
        if isinstance(name, x509.UniformResourceIdentifier):
            permitted = not self.uris or any(_under_prefix(name.value, prefix) for prefix in self.uris)
            return None if permitted else f"URI {name.value!r} is outside {_listed(self.uris)}"
        return None

    def describe(self) -> dict[str, list[str]]:
        return {"dns": list(self.dns), "ip": [str(n) for n in self.ips], "uri": list(self.uris)}


def _in_domain(name: str, domain: str) -> bool:
    # RFC 5280 4.2.1.10: a DNS constraint permits the domain and any name made by adding labels on the left.
    name, domain = name.lower().rstrip("."), domain.lower().rstrip(".")
    return name == domain or name.endswith("." + domain)


def _under_prefix(value: str, prefix: str) -> bool:
    # "urn:acme:plant3" must not permit "urn:acme:plant30": the prefix ends at a separator.
    if prefix.endswith((":", "/")):
        return value.startswith(prefix)
    return value == prefix or value.startswith((prefix + ":", prefix + "/"))


def _listed(values: Iterable[object]) -> str:
    return "the permitted " + ", ".join(repr(str(value)) for value in values)
