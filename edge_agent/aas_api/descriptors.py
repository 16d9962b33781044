"""The shell as an AAS Registry knows it: an AssetAdministrationShellDescriptor (Part 2, API 3.0).

A descriptor says where a shell and its submodels are served, not what they hold: ids, names, the
asset, and one endpoint per way in (this API; the OPC UA server).
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit, urlunsplit

from aas_core3 import jsonization
from aas_core3 import types as aas

from ..config.aas_api import WILDCARD_HOSTS
from .ids import encode_id

Descriptor = dict[str, Any]

AAS_INTERFACE = "AAS-3.0"
"""Part 2's name of the Asset Administration Shell interface, version 3.0."""
SUBMODEL_INTERFACE = "SUBMODEL-3.0"
"""Part 2's name of the Submodel interface, version 3.0."""


def shell_descriptor(
    environment: aas.Environment, *, api_base: str, opcua_endpoint: str | None = None
) -> Descriptor | None:
    """The descriptor of the environment's (first) shell as served at ``api_base``; None without a shell.

    ``opcua_endpoint`` adds the OPC UA server as a second endpoint of the shell; a wildcard host in it
    (0.0.0.0) is replaced by the host of ``api_base``, the address others are known to reach.
    """
    shells = environment.asset_administration_shells or []
    if not shells:
        return None
    shell = shells[0]
    endpoints = [_http_endpoint(AAS_INTERFACE, f"{api_base}/shells/{encode_id(shell.id)}")]
    if opcua_endpoint is not None:
        endpoints.append(_opcua_endpoint(opcua_endpoint, api_base))
    descriptor: Descriptor = {"id": shell.id}
    _put(descriptor, "idShort", shell.id_short)
    if shell.description:
        descriptor["description"] = [jsonization.to_jsonable(text) for text in shell.description]
    information = shell.asset_information
    descriptor["assetKind"] = information.asset_kind.value
    _put(descriptor, "globalAssetId", information.global_asset_id)
    descriptor["endpoints"] = endpoints
    submodels = [_submodel_descriptor(submodel, api_base) for submodel in _submodels_of(shell, environment)]
    if submodels:
        descriptor["submodelDescriptors"] = submodels
    return descriptor


def _submodels_of(shell: aas.AssetAdministrationShell, environment: aas.Environment) -> list[aas.Submodel]:
    """The environment's submodels the shell refers to, in the shell's order."""
    by_id = {submodel.id: submodel for submodel in environment.submodels or []}
    found = []
    for reference in shell.submodels or []:
        submodel = by_id.get(reference.keys[-1].value) if reference.keys else None
        if submodel is not None:
            found.append(submodel)
    return found


def _submodel_descriptor(submodel: aas.Submodel, api_base: str) -> Descriptor:
    descriptor: Descriptor = {"id": submodel.id}
    _put(descriptor, "idShort", submodel.id_short)
    if submodel.semantic_id is not None:
        descriptor["semanticId"] = jsonization.to_jsonable(submodel.semantic_id)
    descriptor["endpoints"] = [
        _http_endpoint(SUBMODEL_INTERFACE, f"{api_base}/submodels/{encode_id(submodel.id)}")
    ]
    return descriptor


def _http_endpoint(interface: str, href: str) -> Descriptor:
    return {
        "interface": interface,
        "protocolInformation": {
            "href": href,
            "endpointProtocol": urlsplit(href).scheme.upper(),
            "endpointProtocolVersion": ["1.1"],
        },
    }


def _opcua_endpoint(endpoint: str, api_base: str) -> Descriptor:
    parts = urlsplit(endpoint)
    if parts.hostname in WILDCARD_HOSTS:
        host = urlsplit(api_base).hostname or ""
        netloc = f"[{host}]" if ":" in host else host
        if parts.port is not None:
            netloc += f":{parts.port}"
        endpoint = urlunsplit(parts._replace(netloc=netloc))
    # Part 2 names the AAS interface whatever carries it; its own example lists an opc.tcp:// endpoint
    # of the shell beside the HTTP one, told apart by the protocol.
    return {
        "interface": AAS_INTERFACE,
        "protocolInformation": {"href": endpoint, "endpointProtocol": "OPC UA"},
    }


def _put(descriptor: Descriptor, key: str, value: str | None) -> None:
    if value is not None:
        descriptor[key] = value
