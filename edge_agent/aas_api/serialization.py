"""The environment as one document (GenerateSerializationByIds), and the profiles the server serves."""

from __future__ import annotations

import io
from typing import TypeVar

from aas_core3 import jsonization
from aas_core3 import types as aas
from aiohttp import web

from ..aas.export import to_xml, write_aasx
from .ids import decode_id
from .results import bad_request, json_response, not_found

AASX_TYPE = "application/asset-administration-shell-package+xml"
XML_TYPE = "application/xml"

T = TypeVar("T", aas.AssetAdministrationShell, aas.Submodel)

PROFILES = tuple(
    f"https://admin-shell.io/aas/API/3/0/{profile}/SSP-002"
    for profile in (
        "AssetAdministrationShellRepositoryServiceSpecification",
        "SubmodelRepositoryServiceSpecification",
        "AssetAdministrationShellServiceSpecification",
        "SubmodelServiceSpecification",
    )
)
"""The read profiles (SSP-002) of the four service specifications this server implements."""


def serialization(environment: aas.Environment, request: web.Request) -> web.Response:
    """The shells of ``aasIds`` and submodels of ``submodelIds`` (all of either when not named), with
    the concept descriptions unless ``includeConceptDescriptions`` is false; as JSON, or as an AASX
    package or XML when the Accept header asks for that rather than JSON."""
    shell_ids = _ids(request, "aasIds")
    submodel_ids = _ids(request, "submodelIds")
    include = _boolean(request.query.get("includeConceptDescriptions", "true"))
    selected = aas.Environment(
        asset_administration_shells=_select(environment.asset_administration_shells, shell_ids) or None,
        submodels=_select(environment.submodels, submodel_ids) or None,
        concept_descriptions=(environment.concept_descriptions or None) if include else None,
    )
    accept = request.headers.get("Accept", "")
    if AASX_TYPE in accept:
        package = io.BytesIO()
        write_aasx(selected, package)
        return web.Response(body=package.getvalue(), content_type=AASX_TYPE)
    if XML_TYPE in accept and "json" not in accept:
        return web.Response(body=to_xml(selected), content_type=XML_TYPE)
    return json_response(jsonization.to_jsonable(selected))


def _ids(request: web.Request, name: str) -> list[str]:
    # Clients send a list as repeated parameters or comma-separated; a comma is no base64url character.
    return [decode_id(part) for value in request.query.getall(name, []) for part in value.split(",") if part]


def _boolean(text: str) -> bool:
    lowered = text.lower()
    if lowered not in ("true", "false"):
        raise bad_request(f"includeConceptDescriptions is true or false, not {text!r}")
    return lowered == "true"


def _select(found: list[T] | None, ids: list[str]) -> list[T]:
    items = list(found or ())
    if not ids:
        return items
    known = {item.id: item for item in items}
    missing = [each for each in ids if each not in known]
    if missing:
        raise not_found(f"not in this environment: {', '.join(missing)}")
    return [known[each] for each in ids]
