"""The `aas_api:` section: the shell over HTTP, the AAS Part 2 API (IDTA-01002-3-0)."""

from __future__ import annotations

from typing import Annotated
from urllib.parse import urlsplit

from pydantic import Field, field_validator, model_validator

from .opcua import is_loopback
from .sizes import ByteSize, size_between
from .vocabulary import ConfigModel, Duration, config_error, invalid, shown

_LISTEN_FORM = "https://HOST:PORT"


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
