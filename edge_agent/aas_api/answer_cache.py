"""Answers kept by request while the shell's values stay as they were.

Serializing a submodel (aas-core3.0's jsonization, then json.dumps) costs about twenty times what aiohttp
spends on the request around it; the tags a submodel shows change a few times a second at most, while a
dashboard may ask for it much more often. An answer is kept under its request's path and query and the
shell's ``version`` (which every changed live value and every new environment moves on), so a kept answer
is never older than the values a fresh one would show.
"""

from __future__ import annotations

import json
from collections import OrderedDict
from collections.abc import Callable

from aiohttp import web

from .results import JSON_CONTENT_TYPE

MAX_BYTES = 1_000_000
"""The most the kept answers take together; the least recently used go first."""


class AnswerCache:
    def __init__(self, max_bytes: int = MAX_BYTES) -> None:
        self._max_bytes = max_bytes
        self._bytes = 0
        self._answers: OrderedDict[str, tuple[int, bytes]] = OrderedDict()

    def answer(self, request: web.Request, version: int, render: Callable[[], object]) -> web.Response:
        """The JSON of ``render()``, or the one kept for this request at this ``version``."""
        key = request.path_qs
        kept = self._answers.get(key)
        if kept is not None and kept[0] == version:
            self._answers.move_to_end(key)
            body = kept[1]
        else:
            # ensure_ascii=False: nameplate texts carry umlauts and the body is UTF-8 anyway.
            body = json.dumps(render(), ensure_ascii=False).encode()
            self._keep(key, version, body)
        return web.Response(body=body, content_type=JSON_CONTENT_TYPE, charset="utf-8")

    def _keep(self, key: str, version: int, body: bytes) -> None:
        if len(body) > self._max_bytes:
            return
        old = self._answers.pop(key, None)
        if old is not None:
            self._bytes -= len(old[1])
        self._answers[key] = (version, body)
        self._bytes += len(body)
        while self._bytes > self._max_bytes:
            _, (_, dropped) = self._answers.popitem(last=False)
            self._bytes -= len(dropped)
