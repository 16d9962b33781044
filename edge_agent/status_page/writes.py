"""Switching a writable output from the page: the same write path, rights and audit as OPC UA and the API.

Only a person signed in with the form (a session with its CSRF token) can write from the page; the
value comes as form text and is read as the tag's type before it goes to the device.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from aiohttp import web

from ..aas_api.auth import PRINCIPAL, SESSION, wants_html
from ..aas_api.model import Principal, TagValue
from ..opcua.rights import Right
from ..quality import Quality
from ..tags import TagInfo
from .csrf import check_csrf
from .render import TAGS

Writer = Callable[[str, TagValue, Principal, str], Awaitable[Quality]]
"""Writes a value of a tag for a principal, audited as coming through the given face."""


def parse_value(info: TagInfo, text: str) -> TagValue:
    """``text`` from a form as a value of ``info``'s type; ValueError if it is not one."""
    text = text.strip()
    if info.data_type == "bool":
        if text.lower() in ("true", "1", "on"):
            return True
        if text.lower() in ("false", "0", "off"):
            return False
        raise ValueError(f"{text!r} is not true or false")
    if info.data_type == "int":
        return int(text)
    if info.data_type == "float":
        return float(text)
    return text


class WriteRoutes:
    def __init__(self, tags: Callable[[], list[TagInfo]], write: Writer) -> None:
        self._tags = tags
        self._write = write

    async def write(self, request: web.Request) -> web.StreamResponse:
        session = request.get(SESSION)
        if session is None:
            raise web.HTTPForbidden(reason="sign in with the page's form to switch outputs")
        fields = await request.post()
        check_csrf(request, session, fields.get("csrf"))
        principal: Principal = request[PRINCIPAL]
        if Right.WRITE not in principal.rights:
            raise web.HTTPForbidden(reason="switching outputs needs the Write right (Operator and above)")
        name = request.match_info["tag"]
        info = next((info for info in self._tags() if info.name == name), None)
        if info is None:
            raise web.HTTPNotFound(reason=f"no tag {name}")
        try:
            value = parse_value(info, str(fields.get("value", "")))
        except ValueError as error:
            quality = Quality.BadTypeMismatch
            message = str(error)
        else:
            quality = await self._write(name, value, principal, "status-page")
            message = ""
        if wants_html(request):
            raise web.HTTPSeeOther("/")
        status = 200 if quality.is_good else (403 if quality == Quality.BadUserAccessDenied else 409)
        return web.json_response({"tag": name, "quality": quality.name, "message": message}, status=status)

    def register(self, router: web.UrlDispatcher) -> None:
        router.add_post(TAGS + "/{tag}", self.write)
