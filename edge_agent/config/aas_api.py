"""The `aas_api:` section: the shell over HTTP, the AAS Part 2 API (IDTA-01002-3-0)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated
from urllib.parse import urlsplit

from pydantic import Field, ValidationInfo, field_validator, model_validator

from .opcua import _relative_to_config, is_loopback
from .sizes import ByteSize, size_between
from .vocabulary import ConfigModel, Duration, at_least, config_error, invalid, shown

_LISTEN_FORM = "https://HOST:PORT"
_BASE_FORM = "https://HOST[:PORT][/PATH]"
WILDCARD_HOSTS = ("0.0.0.0", "::")
"""Listen addresses that mean every interface: no address another machine can be sent to."""


def listen_address(url: str) -> tuple[str, str, int]:
    """Scheme, host and port of an ``https://HOST:PORT`` (or ``http://``) URL; ValueError with the reason."""
    parts = urlsplit(url)
    if parts.scheme not in ("https", "http") or not parts.hostname:
        raise ValueError(f"must look like {_LISTEN_FORM}")
    if parts.path not in ("", "/") or parts.query or parts.fragment or parts.username or parts.password:
        raise ValueError(f"must be just {_LISTEN_FORM}: no path, query or user")
    try:
        port = parts.port
    except ValueError:
        port = 0
    if port is None:
        raise ValueError(f"must name a port, like {_LISTEN_FORM}")
    if not 1 <= port <= 65535:
        raise ValueError("the port must be from 1 to 65535")
    return parts.scheme, parts.hostname, port


def base_url(url: str) -> tuple[str, str]:
    """Scheme and host of an ``https://HOST[:PORT][/PATH]`` (or ``http://``) URL; ValueError if not one."""
    parts = urlsplit(url)
    if parts.scheme not in ("https", "http") or not parts.hostname:
        raise ValueError(f"must look like {_BASE_FORM}")
    if parts.query or parts.fragment or parts.username or parts.password:
        raise ValueError(f"must be just {_BASE_FORM}: no query, fragment or user")
    try:
        _ = parts.port  # reading it checks the range
    except ValueError:
        raise ValueError("the port must be from 1 to 65535") from None
    return parts.scheme, parts.hostname


class AasApiRegistry(ConfigModel):
    """An AAS Registry (Part 2 Registry Service, SSP-001) the agent registers its shell descriptor with."""

    url: str
    """The registry's base URL, the one /shell-descriptors is below: https://, or http:// to a registry on
    this machine (a loopback address)."""
    public_url: str | None = None
    """The base URL other machines reach this agent's API at (its /shells is below); default the listen
    address, which must then name a host others can reach (not 0.0.0.0)."""
    ca: Path | None = None
    """The CA certificates the registry's certificate must chain to: a PEM or DER file, or a directory of
    them; default the agent's trust list (opcua.pki trusted/certs)."""
    timeout: Annotated[Duration, at_least("100ms")] = Field(default="10s", validate_default=True)
    """Longest one request to the registry may take."""

    @field_validator("url")
    @classmethod
    def _url_form(cls, url: str) -> str:
        try:
            scheme, host = base_url(url)
        except ValueError as exc:
            raise invalid("url", f"{exc} (got {shown(url)})") from None
        if scheme == "http" and not is_loopback(host):
            raise invalid(
                "url",
                "http:// would send the descriptor in the clear: use https://, or http:// only to a "
                f"registry on a loopback address (got {shown(url)})",
            )
        return url.rstrip("/")

    @field_validator("public_url")
    @classmethod
    def _public_url_form(cls, url: str | None) -> str | None:
        if url is None:
            return None
        try:
            base_url(url)
        except ValueError as exc:
            raise invalid("public_url", f"{exc} (got {shown(url)})") from None
        return url.rstrip("/")

    @field_validator("ca")
    @classmethod
    def _resolve(cls, path: Path | None, info: ValidationInfo) -> Path | None:
        return None if path is None else _relative_to_config(path, info)


class AasApiInsecure(ConfigModel):
    """Relaxations for a demo or a bench; allowed only when listening on a loopback address."""

    plaintext: bool = False
    """Serve http:// (no TLS): requests, passwords and values in the clear."""
    anonymous_read: bool = False
    """Let requests without credentials read (never write)."""


class AasApiLimits(ConfigModel):
    """Bounds that protect a small device from greedy or broken clients."""

    max_connections: Annotated[int, Field(ge=1, le=10_000)] = 64
    """Most HTTP connections open at once; more wait in the listen queue."""
    max_request_size: Annotated[ByteSize, size_between("1kB", "100MB")] = Field(
        default="1MB", validate_default=True
    )
    """Largest request body taken; a larger one is refused with 413 before it is read."""
    request_timeout: Duration = Field(default="10s", validate_default=True)
    """Longest a client may take to send a request's headers and body (slow senders are cut off)."""
    page_size: Annotated[int, Field(ge=1, le=10_000)] = 500
    """Most items of a list in one answer, whatever `limit` a client asks for."""


class AasApiConfig(ConfigModel):
    """The shell over HTTP: AAS Part 2 API, served from the same model as the OPC UA shell."""

    listen: str = "https://0.0.0.0:8443"
    """Where the API listens: https://HOST:PORT, 0.0.0.0 for every interface. The TLS certificate is the
    agent's application certificate (opcua.pki); http:// only on loopback with insecure.plaintext."""
    insecure: AasApiInsecure | None = None
    """Relaxations for demos, only on a loopback address."""
    limits: AasApiLimits = Field(default_factory=AasApiLimits)
    """Connections, request sizes and times, page sizes."""
    registry: AasApiRegistry | None = None
    """An AAS Registry to register the shell's descriptor with; none: no registration."""

    @field_validator("listen")
    @classmethod
    def _listen_form(cls, listen: str) -> str:
        try:
            listen_address(listen)
        except ValueError as exc:
            raise invalid("listen", f"{exc} (got {shown(listen)})") from None
        return listen

    @model_validator(mode="after")
    def _insecure_only_on_loopback(self) -> AasApiConfig:
        insecure = self.insecure
        relaxed = insecure is not None and (insecure.plaintext or insecure.anonymous_read)
        if relaxed and not is_loopback(self.host):
            raise config_error(
                "insecure settings are only allowed when listening on a loopback address "
                "(https://127.0.0.1:...)",
                ("insecure",),
            )
        if self.scheme == "http" and not (insecure is not None and insecure.plaintext):
            raise config_error(
                "http:// serves the shell without TLS: use https://, or on a loopback address opt in "
                "with insecure: {plaintext: true}",
                ("listen",),
            )
        return self

    @model_validator(mode="after")
    def _reachable_for_the_registry(self) -> AasApiConfig:
        registry = self.registry
        if registry is not None and registry.public_url is None and self.host in WILDCARD_HOSTS:
            raise config_error(
                f"give public_url, the base URL others reach the API at: listen ({self.listen}) names no "
                "address the registry could hand out",
                ("registry",),
            )
        return self

    @property
    def public_url(self) -> str:
        """The base URL the API is reached at from elsewhere: the registry's public_url, else listen."""
        if self.registry is not None and self.registry.public_url is not None:
            return self.registry.public_url
        return self.listen.rstrip("/")

    @property
    def scheme(self) -> str:
        return listen_address(self.listen)[0]

    @property
    def host(self) -> str:
        return listen_address(self.listen)[1]

    @property
    def port(self) -> int:
        return listen_address(self.listen)[2]

    @property
    def anonymous_read(self) -> bool:
        return self.insecure is not None and self.insecure.anonymous_read
