"""Paged answers: a limit and an opaque cursor in, ``{"paging_metadata", "result"}`` out."""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable, Mapping, Sequence
from typing import Any, TypeVar

from .results import bad_request

DEFAULT_MAX_PAGE = 100
"""The most items one answer carries when the client asks for more, or names no limit."""

_CURSOR_PREFIX = "offset:"

T = TypeVar("T")


def _same(item: T) -> object:
    return item


def _cursor(offset: int) -> str:
    # Opaque to clients, so that the paging scheme may change without breaking their contract.
    return base64.urlsafe_b64encode(f"{_CURSOR_PREFIX}{offset}".encode()).decode().rstrip("=")


def _offset(cursor: str) -> int:
    try:
        text = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
    except (binascii.Error, ValueError):
        raise bad_request(f"not a cursor this server gave: {cursor!r}") from None
    number = text.removeprefix(_CURSOR_PREFIX)
    if not text.startswith(_CURSOR_PREFIX) or not number.isdigit():
        raise bad_request(f"not a cursor this server gave: {cursor!r}")
    return int(number)


def limit_of(query: Mapping[str, str], max_page: int) -> int:
    """The page size asked for: a positive integer, at most ``max_page``; 400 for anything else."""
    text = query.get("limit")
    if text is None:
        return max_page
    if not text.isdigit() or int(text) < 1:
        raise bad_request(f"limit must be a positive integer, not {text!r}")
    return min(int(text), max_page)


def paged(
    items: Sequence[T], query: Mapping[str, str], max_page: int, render: Callable[[T], object] = _same
) -> dict[str, Any]:
    """One page of ``items`` as the query asks for it, each rendered; a cursor to the next page when
    there is one. Only the page's items are rendered, so a refresh of live values stays per page."""
    limit = limit_of(query, max_page)
    cursor = query.get("cursor")
    start = _offset(cursor) if cursor is not None else 0
    end = start + limit
    metadata = {"cursor": _cursor(end)} if end < len(items) else {}
    return {"paging_metadata": metadata, "result": [render(item) for item in items[start:end]]}
