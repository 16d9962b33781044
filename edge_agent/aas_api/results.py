"""What the API answers with: JSON bodies, and errors as the Result object of IDTA-01002-3-0."""

from __future__ import annotations

import json
import secrets
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

from aiohttp import web

JSON_CONTENT_TYPE = "application/json"


class ApiError(Exception):
    """A request the API refuses: the HTTP status and the text the client reads."""

    def __init__(self, status: int, text: str, *, allow: Iterable[str] | None = None) -> None:
        super().__init__(text)
        self.status = status
        self.text = text
        self.allow = tuple(allow) if allow is not None else None


def bad_request(text: str) -> ApiError:
    return ApiError(400, text)


def not_found(text: str) -> ApiError:
    return ApiError(404, text)


def correlation_id() -> str:
    # 16 hex digits: the Result's correlationId must stay under 32 characters.
    return secrets.token_hex(8)


def result_body(status: int, text: str, correlation: str) -> dict[str, Any]:
    """The Result object: one message, an Error for a refused request, an Exception for our own fault."""
    return {
        "messages": [
            {
                "code": str(status),
                "correlationId": correlation,
                "messageType": "Exception" if status >= 500 else "Error",
                "text": text,
                "timestamp": datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z"),
            }
        ]
    }


def error_response(
    status: int,
    text: str,
    *,
    correlation: str | None = None,
    headers: dict[str, str] | None = None,
) -> web.Response:
    body = result_body(status, text, correlation or correlation_id())
    return web.Response(status=status, text=json.dumps(body), content_type=JSON_CONTENT_TYPE, headers=headers)


def json_response(data: object, status: int = 200) -> web.Response:
    # ensure_ascii=False: nameplate texts carry umlauts and the body is UTF-8 anyway.
    return web.Response(
        status=status,
        text=json.dumps(data, ensure_ascii=False),
        content_type=JSON_CONTENT_TYPE,
    )
