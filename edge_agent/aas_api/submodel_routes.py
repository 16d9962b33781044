"""The submodel service (IDTA-01002-3-0): one submodel, its elements by idShort path, their forms, and the
write of a live property's value."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Protocol

from aas_core3 import types as aas
from aiohttp import web

from ..aas.live import live_tag_name
from ..quality import Quality
from .answer_cache import AnswerCache
from .auth import PRINCIPAL
from .ids import PathPart, resolve
from .model import Principal, ShellModel
from .paging import paged
from .results import ApiError, json_response, not_found
from .values import new_value
from .views import (
    Shape,
    element_metadata,
    element_paths,
    element_value,
    metadata,
    paths,
    reference,
    shape_of,
    submodel_value,
    whole,
)

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
LocateSubmodel = Callable[[web.Request], aas.Submodel]

READ_METHODS = ("GET", "HEAD")

WRITE_REFUSALS: dict[Quality, tuple[int, tuple[str, ...] | None]] = {
    Quality.BadUserAccessDenied: (403, None),
    # 405, not 403: the refusal is the resource's, whoever asks (a read-only tag takes no writes), and
    # 403 is left to mean that this principal may not. The Allow header says what the value does take.
    Quality.BadNotWritable: (405, READ_METHODS),
    Quality.BadTypeMismatch: (400, None),
    Quality.BadOutOfRange: (400, None),
    # The device did not answer: the gateway's upstream is unavailable for now.
    Quality.BadCommunicationError: (503, None),
    Quality.BadTimeout: (503, None),
    Quality.BadNoCommunication: (503, None),
    Quality.BadNotConnected: (503, None),
    Quality.BadOutOfService: (503, None),
    Quality.BadWaitingForInitialData: (503, None),
}
"""The HTTP answer to a write the device or the model refused; any other Bad is 502, the device's fault."""


class Served(Protocol):
    """What the submodel service needs of the API: the model, and the page size."""

    model: ShellModel
    max_page: int


class SubmodelHandlers:
    """The submodel service over the submodel ``locate`` finds for a request."""

    def __init__(self, api: Served, locate: LocateSubmodel) -> None:
        self.api = api
        self.locate = locate
        self._answers = AnswerCache()

    def _submodel(self, request: web.Request, *, refresh: bool = True) -> tuple[aas.Submodel, Shape]:
        shape = shape_of(request.query)
        submodel = self.locate(request)
        if refresh:
            self.api.model.refresh(submodel)
        return submodel, shape

    async def submodel(self, request: web.Request) -> web.Response:
        submodel, shape = self._submodel(request)
        return self._answers.answer(request, self.api.model.version, lambda: whole(submodel, shape))

    def submodel_modifiers(self) -> dict[str, Handler]:
        forms: dict[str, Callable[[aas.Submodel, Shape], object]] = {
            "$metadata": lambda submodel, _: metadata(submodel),
            "$value": submodel_value,
            "$reference": lambda submodel, _: reference(submodel),
            "$path": lambda submodel, shape: paths(submodel, [], shape),
        }
        return {name: self._submodel_form(render) for name, render in forms.items()}

    def _submodel_form(self, render: Callable[[aas.Submodel, Shape], object]) -> Handler:
        async def handle(request: web.Request) -> web.Response:
            submodel, shape = self._submodel(request)
            return self._answers.answer(request, self.api.model.version, lambda: render(submodel, shape))

        return handle

    async def elements(self, request: web.Request) -> web.Response:
        submodel, shape = self._submodel(request)
        items = submodel.submodel_elements or []
        return self._answers.answer(
            request,
            self.api.model.version,
            lambda: paged(items, request.query, self.api.max_page, lambda item: whole(item, shape)),
        )

    def elements_modifiers(self) -> dict[str, Handler]:
        async def values(request: web.Request) -> web.Response:
            submodel, shape = self._submodel(request)
            # One {idShort: value} object per element; those without a value-only form are left out.
            items = [{key: value} for key, value in submodel_value(submodel, shape).items()]
            return json_response(paged(items, request.query, self.api.max_page))

        async def metadatas(request: web.Request) -> web.Response:
            submodel, _ = self._submodel(request)
            return json_response(
                paged(submodel.submodel_elements or [], request.query, self.api.max_page, metadata)
            )

        async def references(request: web.Request) -> web.Response:
            submodel, _ = self._submodel(request)
            items = list(enumerate(submodel.submodel_elements or []))

            def render(item: tuple[int, aas.SubmodelElement]) -> object:
                index, element = item
                return reference(submodel, [(element.id_short or index, element)])

            return json_response(paged(items, request.query, self.api.max_page, render))

        async def all_paths(request: web.Request) -> web.Response:
            submodel, shape = self._submodel(request)
            return json_response(paged(paths(submodel, [], shape), request.query, self.api.max_page))

        return {"$value": values, "$metadata": metadatas, "$reference": references, "$path": all_paths}

    def _element(
        self, request: web.Request
    ) -> tuple[aas.Submodel, list[tuple[PathPart, aas.SubmodelElement]], Shape]:
        # Only the element asked for is refreshed: a whole submodel's live values cost as much again as
        # the rest of the request.
        submodel, shape = self._submodel(request, refresh=False)
        steps = resolve(submodel, request.match_info["path"])
        self.api.model.refresh(steps[-1][1])
        return submodel, steps, shape

    async def element(self, request: web.Request) -> web.Response:
        _, steps, shape = self._element(request)
        return json_response(whole(steps[-1][1], shape))

    def element_modifiers(self) -> dict[str, Handler]:
        async def value(request: web.Request) -> web.Response:
            _, steps, shape = self._element(request)
            return json_response(element_value(steps[-1][1], shape))

        async def element_meta(request: web.Request) -> web.Response:
            _, steps, _ = self._element(request)
            return json_response(element_metadata(steps[-1][1]))

        async def element_ref(request: web.Request) -> web.Response:
            submodel, steps, _ = self._element(request)
            return json_response(reference(submodel, steps))

        async def element_path(request: web.Request) -> web.Response:
            _, steps, shape = self._element(request)
            return json_response(element_paths(steps[-1][1], [part for part, _ in steps], shape))

        async def attachment(request: web.Request) -> web.Response:
            _, steps, _ = self._element(request)
            element = steps[-1][1]
            if isinstance(element, aas.Blob) and element.value is not None:
                return web.Response(body=element.value, content_type=element.content_type)
            if isinstance(element, aas.File | aas.Blob):
                # The agent keeps no files beside the model: a File names content held elsewhere.
                raise not_found(f"{request.match_info['path']} has no content on this server")
            raise ApiError(400, f"{request.match_info['path']} is no File or Blob")

        return {
            "$value": value,
            "$metadata": element_meta,
            "$reference": element_ref,
            "$path": element_path,
            "attachment": attachment,
        }

    async def write_value(self, request: web.Request) -> web.Response:
        submodel = self.locate(request)
        path = request.match_info["path"]
        element = resolve(submodel, path)[-1][1]
        tag = live_tag_name(element)
        if tag is None or not isinstance(element, aas.Property):
            raise ApiError(
                405, f"{path} is not a live value: only the tags' values change", allow=READ_METHODS
            )
        try:
            body = await request.json()
        except ValueError:
            raise ApiError(400, "the body is not JSON") from None
        principal = request.get(PRINCIPAL)
        if not isinstance(principal, Principal):
            raise ApiError(403, "the request has no principal to write as")
        quality = await self.api.model.write(tag, new_value(body, element), principal)
        if not quality.is_bad:
            return web.Response(status=204)
        status, allow = WRITE_REFUSALS.get(quality, (502, None))
        raise ApiError(status, f"writing {tag} failed: {quality.name}", allow=allow)
