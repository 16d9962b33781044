"""The `opcua:` section: where and how the agent serves OPC UA."""

from __future__ import annotations

import ipaddress
from pathlib import Path
from typing import Annotated, Literal
from urllib.parse import urlsplit

from pydantic import Field, ValidationInfo, field_validator, model_validator

from .sizes import ByteSize, size_between
from .vocabulary import ConfigModel, Duration, config_error, invalid, shown

SecurityPolicy = Literal["Basic256Sha256", "Aes128Sha256RsaOaep", "Aes256Sha256RsaPss"]
ALL_POLICIES: list[SecurityPolicy] = ["Basic256Sha256", "Aes128Sha256RsaOaep", "Aes256Sha256RsaPss"]
AddressSpace = Literal["full", "micro", "standard"]
_ENDPOINT_FORM = "opc.tcp://HOST:PORT"


def endpoint_host_port(endpoint: str) -> tuple[str, int]:
    """The host and port of an ``opc.tcp://HOST:PORT[/path]`` URL; ValueError with the reason if not one.

    The one reading of an endpoint: the config validates with it and the OPC UA server listens by it.
    """
    parts = urlsplit(endpoint)
    if parts.scheme != "opc.tcp" or not parts.hostname:
        raise ValueError(f"must look like {_ENDPOINT_FORM}")
    try:
        port = parts.port
    except ValueError:
        port = 0
    if port is None:
        raise ValueError(f"must name a port, like {_ENDPOINT_FORM}")
    if not 1 <= port <= 65535:
        raise ValueError("the port must be from 1 to 65535")
    return parts.hostname, port


def is_loopback(host: str) -> bool:
    """Whether ``host`` (an endpoint's) is reachable from this machine only."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _relative_to_config(path: Path, info: ValidationInfo) -> Path:
    config_dir = (info.context or {}).get("config_dir")
    if config_dir is None or path.is_absolute():
        return path
    return Path(config_dir) / path


class InsecureConfig(ConfigModel):
    """Relaxed security for a demo or a bench; allowed only on a loopback endpoint."""

    none_policy: bool = False
    """Also offer the None security policy (no signing, no encryption)."""
    anonymous_read: bool = False
    """Let anonymous clients browse and read (never write)."""

    @property
    def any(self) -> bool:
        return self.none_policy or self.anonymous_read


class OpcUaLimits(ConfigModel):
    """Bounds that protect a small device from greedy clients."""

    max_sessions: Annotated[int, Field(ge=1, le=1000)] = 10
    """Most client sessions open at once."""
    max_message_size: Annotated[ByteSize, size_between("64kB", "100MB")] = Field(
        default="2MB", validate_default=True
    )
    """Largest message the server accepts or sends."""


class OpcUaConfig(ConfigModel):
    """The OPC UA server."""

    endpoint: str = "opc.tcp://0.0.0.0:4840"
    """Where the server listens: opc.tcp://HOST:PORT[/path]; 0.0.0.0 means every interface."""
    application_uri: str | None = None
    """The server's application URI, as in its certificate; default urn:edge-agent:<asset id>."""
    security: Annotated[list[SecurityPolicy], Field(min_length=1)] = Field(
        default_factory=lambda: list(ALL_POLICIES)
    )
    """The security policies offered, each with Sign & Encrypt."""
    sign_only: bool = False
    """Also offer each policy with Sign only: messages are signed but not encrypted, so values and
    passwords can be read on the wire. For networks that must inspect the traffic; logged as a warning
    at every start."""
    insecure: InsecureConfig | None = None
    """Relaxations for demos, only on a loopback endpoint."""
    pki: Path = Path("/var/lib/edge-agent/pki")
    """The directory of the server's certificate, its key and the trusted clients."""
    users: Path | None = None
    """The user and role file written by `edge-provision user add`; none: no user logins."""
    limits: OpcUaLimits = Field(default_factory=OpcUaLimits)
    """Sessions and message sizes."""
    certificate_warning: Duration = Field(default="30d", validate_default=True)
    """Warn this long before the application certificate expires."""
    address_space: AddressSpace = "micro"
    """How much of the standard address space (namespace 0) is served: full, asyncua's whole namespace
    0; standard, all of the Server object and every instance declaration of the types kept; micro, what
    the Micro Embedded Device 2017 Server Profile needs (the Server object's Mandatory parts, Mandatory
    instance declarations). The agent's own nodes and the I4AAS types are served in each; micro and
    standard start faster on less memory."""

    @field_validator("endpoint")
    @classmethod
    def _endpoint_form(cls, endpoint: str) -> str:
        try:
            endpoint_host_port(endpoint)
        except ValueError as exc:
            raise invalid("endpoint", f"{exc} (got {shown(endpoint)})") from None
        return endpoint

    @field_validator("pki", "users")
    @classmethod
    def _resolve(cls, path: Path | None, info: ValidationInfo) -> Path | None:
        return None if path is None else _relative_to_config(path, info)

    @field_validator("security")
    @classmethod
    def _each_policy_once(cls, policies: list[SecurityPolicy]) -> list[SecurityPolicy]:
        for index, policy in enumerate(policies):
            if policy in policies[:index]:
                raise config_error(f"'{policy}' is listed twice", (index,))
        return policies

    @model_validator(mode="after")
    def _insecure_only_on_loopback(self) -> OpcUaConfig:
        if self.insecure is not None and self.insecure.any and not is_loopback(self.host):
            raise config_error(
                "insecure settings are only allowed on a loopback endpoint (opc.tcp://127.0.0.1:...)",
                ("insecure",),
            )
        return self

    @property
    def host(self) -> str:
        return endpoint_host_port(self.endpoint)[0]

    @property
    def port(self) -> int:
        return endpoint_host_port(self.endpoint)[1]
