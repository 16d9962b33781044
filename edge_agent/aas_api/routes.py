"""The AAS Part 2 HTTP API (IDTA-01002-3-0, API 3.0) over the agent's one AAS environment.

Served, all GET unless said otherwise (ids in paths are base64url, with or without padding):

- AAS repository: ``/shells`` (filters idShort, assetIds; paged), ``/shells/$reference``,
  ``/shells/{aasId}`` and its ``/$reference``, ``/asset-information``, ``/asset-information/thumbnail``,
  ``/submodel-refs`` (paged), and ``/shells/{aasId}/submodels/{smId}/...``, the submodel service of each
  of its submodels.
- Submodel repository: ``/submodels`` (filters idShort, semanticId; paged) and its ``$metadata``,
  ``$value``, ``$reference``, ``$path`` forms, ``/submodels/{smId}/...``.
- The submodel service below each of those, and ``PATCH .../submodel-elements/{idShortPath}/$value`` of a
  live property, the one write there is: it goes to the device through the tag store.
- AAS service ``/aas/...``: the device's shell (the environment holds that one). ``GET /`` answers it too,
  as the AAS service profile's descriptor check asks of a server's root.
- Submodel service ``/submodel/...``: the shell's first submodel, the Digital Nameplate: the submodel
  that describes the device itself, which a client of a single-submodel endpoint most likely wants.
- ``/description`` (the profiles served) and ``/serialization`` (the environment as JSON, or AASX when the
  Accept header asks for the package type). ``/aas/shells``, ``/aas/serialization`` and their
  ``/submodel/`` twins are the root's, as the conformance tests look for them under the service's path.

Every other POST, PUT, PATCH or DELETE is 405 with an Allow header: the shell is the device's, made from
its config, and only its tags' values change. Errors are the spec's Result object.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Sequence

from aas_core3 import jsonization
from aas_core3 import types as aas
from aiohttp import web
from aiohttp.typedefs import Handler, Middleware

from .auth import wants_html
from .ids import decode_id
from .model import ShellModel
from .paging import DEFAULT_MAX_PAGE, paged
from .results import ApiError, correlation_id, error_response, json_response, not_found
from .serialization import PROFILES, serialization
from .submodel_routes import LocateSubmodel, SubmodelHandlers
from .views import (
    Shape,
    metadata,
    paths,
    reference,
    shape_of,
    shell_reference,
    submodel_value,
    whole,
)

log = logging.getLogger(__name__)

LocateShell = Callable[[web.Request], aas.AssetAdministrationShell]


def build_app(
    model: ShellModel,
    *,
    middlewares: Sequence[Middleware] = (),
    max_page: int = DEFAULT_MAX_PAGE,
    client_max_size: int = 1024**2,
    root_page: Handler | None = None,
) -> web.Application:
    """The API's application; ``middlewares`` run inside the one that answers errors as Results, and one
    of them puts the request's Principal at ``request[auth.PRINCIPAL]``. ``root_page`` answers a browser
    at ``/`` (a request that asks for HTML first); everyone else gets the shell there, as the AAS Service
    profile has it."""
    stack: list[Middleware] = [_errors, *middlewares]
    app = web.Application(middlewares=stack, client_max_size=client_max_size)
    Api(model, max_page, root_page).register(app.router)
    return app


@web.middleware
async def _errors(request: web.Request, handler: Handler) -> web.StreamResponse:
    try:
        return await handler(request)
    except ApiError as error:
        headers = {"Allow": ", ".join(error.allow)} if error.allow else None
        return error_response(error.status, error.text, headers=headers)
    except web.HTTPException as error:
        if error.status < 400:
            raise
        allow = error.headers.get("Allow")
        text = f"{request.method} {request.path}: {error.reason}"
        return error_response(error.status, text, headers={"Allow": allow} if allow else None)
    except Exception:
        correlation = correlation_id()
        log.exception("AAS API: %s %s failed (correlationId %s)", request.method, request.path, correlation)
        return error_response(500, "internal error: the agent's log has the details", correlation=correlation)


class Api:
    """The handlers, over one model; a page carries at most ``max_page`` items."""

    def __init__(self, model: ShellModel, max_page: int, root_page: Handler | None = None) -> None:
        self.model = model
        self.max_page = max_page
        self.root_page = root_page

    def register(self, router: web.UrlDispatcher) -> None:
        for prefix in ("", "/aas", "/submodel"):
            router.add_get(f"{prefix}/shells", self.shells)
            router.add_get(f"{prefix}/serialization", self.serialization)
        router.add_get("/", self.root)
        router.add_get("/description", self.description)
        router.add_get("/shells/$reference", self.shell_references)
        self._shell_routes(router, "/shells/{aas_id}", self.shell_by_id)
        self._shell_routes(router, "/aas", self.the_shell)
        router.add_get("/aas/", self.root_shell)
        self._submodel_list_routes(router)
        self._submodel_routes(router, "/submodels/{sm_id}", self.submodel_by_id)
        self._submodel_routes(
            router, "/shells/{aas_id}/submodels/{sm_id}", self.shell_submodel(self.shell_by_id)
        )
        self._submodel_routes(router, "/aas/submodels/{sm_id}", self.shell_submodel(self.the_shell))
        self._submodel_routes(router, "/submodel", self.the_submodel)
        router.add_get("/submodel/", SubmodelHandlers(self, self.the_submodel).submodel)

    # Finding things

    def environment(self) -> aas.Environment:
        return self.model.environment()

    def the_shell(self, request: web.Request) -> aas.AssetAdministrationShell:
        shells = self.environment().asset_administration_shells or []
        if not shells:
            raise not_found("this server holds no shell")
        return shells[0]

    def shell_by_id(self, request: web.Request) -> aas.AssetAdministrationShell:
        shell_id = decode_id(request.match_info["aas_id"])
        for shell in self.environment().asset_administration_shells or ():
            if shell.id == shell_id:
                return shell
        raise not_found(f"no shell {shell_id!r}")

    def submodel(self, submodel_id: str) -> aas.Submodel:
        for submodel in self.environment().submodels or ():
            if submodel.id == submodel_id:
                return submodel
        raise not_found(f"no submodel {submodel_id!r}")

    def submodel_by_id(self, request: web.Request) -> aas.Submodel:
        return self.submodel(decode_id(request.match_info["sm_id"]))

    def shell_submodel(self, locate: LocateShell) -> LocateSubmodel:
        def locate_submodel(request: web.Request) -> aas.Submodel:
            shell = locate(request)
            submodel_id = decode_id(request.match_info["sm_id"])
            if submodel_id not in _submodel_ids(shell):
                raise not_found(f"shell {shell.id!r} has no submodel {submodel_id!r}")
            return self.submodel(submodel_id)

        return locate_submodel

    def the_submodel(self, request: web.Request) -> aas.Submodel:
        ids = _submodel_ids(self.the_shell(request))
        if not ids:
            raise not_found("the shell has no submodel")
        return self.submodel(ids[0])

    # The environment and its shells

    async def description(self, request: web.Request) -> web.Response:
        return json_response({"profiles": list(PROFILES)})

    async def serialization(self, request: web.Request) -> web.Response:
        environment = self.environment()
        self.model.refresh(environment)
        return serialization(environment, request)

    async def root(self, request: web.Request) -> web.StreamResponse:
        if self.root_page is not None and wants_html(request):
            return await self.root_page(request)
        return await self.root_shell(request)

    async def root_shell(self, request: web.Request) -> web.Response:
        return json_response(jsonization.to_jsonable(self.the_shell(request)))

    def _matching_shells(self, request: web.Request) -> list[aas.AssetAdministrationShell]:
        shells = list(self.environment().asset_administration_shells or ())
        id_short = request.query.get("idShort")
        if id_short is not None:
            shells = [shell for shell in shells if shell.id_short == id_short]
        for asset_id in request.query.getall("assetIds", []):
            name, value = _asset_id(asset_id)
            shells = [shell for shell in shells if _has_asset_id(shell.asset_information, name, value)]
        return shells

    async def shells(self, request: web.Request) -> web.Response:
        shells = self._matching_shells(request)
        return json_response(paged(shells, request.query, self.max_page, jsonization.to_jsonable))

    async def shell_references(self, request: web.Request) -> web.Response:
        shells = self._matching_shells(request)
        return json_response(paged(shells, request.query, self.max_page, shell_reference))

    def _shell_routes(self, router: web.UrlDispatcher, base: str, locate: LocateShell) -> None:
        async def shell(request: web.Request) -> web.Response:
            return json_response(jsonization.to_jsonable(locate(request)))

        async def shell_ref(request: web.Request) -> web.Response:
            return json_response(shell_reference(locate(request)))

        async def asset_information(request: web.Request) -> web.Response:
            return json_response(jsonization.to_jsonable(locate(request).asset_information))

        async def thumbnail(request: web.Request) -> web.Response:
            # The agent holds no files beside the model: a thumbnail named there could not be served.
            locate(request)
            raise not_found("the shell has no thumbnail")

        async def submodel_refs(request: web.Request) -> web.Response:
            refs = locate(request).submodels or []
            return json_response(paged(refs, request.query, self.max_page, jsonization.to_jsonable))

        router.add_get(base, shell)
        router.add_get(f"{base}/$reference", shell_ref)
        router.add_get(f"{base}/asset-information", asset_information)
        router.add_get(f"{base}/asset-information/thumbnail", thumbnail)
        router.add_get(f"{base}/submodel-refs", submodel_refs)

    # Submodels

    def _matching_submodels(self, request: web.Request) -> list[aas.Submodel]:
        submodels = list(self.environment().submodels or ())
        id_short = request.query.get("idShort")
        if id_short is not None:
            submodels = [each for each in submodels if each.id_short == id_short]
        semantic = request.query.get("semanticId")
        if semantic is not None:
            wanted = decode_id(semantic)
            submodels = [each for each in submodels if _has_semantic_id(each, wanted)]
        return submodels

    def _submodel_list_routes(self, router: web.UrlDispatcher) -> None:
        def listing(render: Callable[[aas.Submodel, Shape], object]) -> Handler:
            async def handle(request: web.Request) -> web.Response:
                shape = shape_of(request.query)

                def one(submodel: aas.Submodel) -> object:
                    self.model.refresh(submodel)
                    return render(submodel, shape)

                return json_response(
                    paged(self._matching_submodels(request), request.query, self.max_page, one)
                )

            return handle

        async def all_paths(request: web.Request) -> web.Response:
            shape = shape_of(request.query)
            found = [path for each in self._matching_submodels(request) for path in paths(each, [], shape)]
            return json_response(paged(found, request.query, self.max_page))

        router.add_get("/submodels", listing(whole))
        router.add_get("/submodels/$metadata", listing(lambda submodel, _: metadata(submodel)))
        router.add_get("/submodels/$value", listing(submodel_value))
        router.add_get("/submodels/$reference", listing(lambda submodel, _: reference(submodel)))
        router.add_get("/submodels/$path", all_paths)

    def _submodel_routes(self, router: web.UrlDispatcher, base: str, locate: LocateSubmodel) -> None:
        handlers = SubmodelHandlers(self, locate)
        elements = f"{base}/submodel-elements"
        router.add_get(base, handlers.submodel)
        for modifier, handler in handlers.submodel_modifiers().items():
            router.add_get(f"{base}/{modifier}", handler)
        router.add_get(elements, handlers.elements)
        for modifier, handler in handlers.elements_modifiers().items():
            router.add_get(f"{elements}/{modifier}", handler)
        router.add_get(elements + "/{path}", handlers.element)
        for modifier, handler in handlers.element_modifiers().items():
            router.add_get(elements + "/{path}/" + modifier, handler)
        router.add_patch(elements + "/{path}/$value", handlers.write_value)


def _submodel_ids(shell: aas.AssetAdministrationShell) -> list[str]:
    return [ref.keys[-1].value for ref in shell.submodels or () if ref.keys[-1].type == aas.KeyTypes.SUBMODEL]


def _asset_id(encoded: str) -> tuple[str, str]:
    """A SpecificAssetId of the assetIds filter: base64url-encoded JSON ``{"name", "value"}``."""
    try:
        found = json.loads(decode_id(encoded))
    except ValueError:
        found = None
    if (
        not isinstance(found, dict)
        or not isinstance(found.get("name"), str)
        or not isinstance(found.get("value"), str)
    ):
        raise ApiError(400, 'an assetIds value is base64url-encoded JSON {"name": ..., "value": ...}')
    return found["name"], found["value"]


def _has_asset_id(info: aas.AssetInformation, name: str, value: str) -> bool:
    if name == "globalAssetId":
        return info.global_asset_id == value
    return any(each.name == name and each.value == value for each in info.specific_asset_ids or ())


def _has_semantic_id(submodel: aas.Submodel, wanted: str) -> bool:
    return submodel.semantic_id is not None and any(key.value == wanted for key in submodel.semantic_id.keys)
