"""Keyset pagination: opaque cursors naming the last key of the previous page.

Keyset (not offset) pages stay fast and stable however deep a client pages, and no list
is ever silently capped.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, Any, Generic, TypeVar
from uuid import UUID

from fastapi import Query
from pydantic import BaseModel

from services.access.api.errors import NotFoundError, invalid_param

DEFAULT_LIMIT = 100
MAX_LIMIT = 1000

Limit = Annotated[int, Query(ge=1, le=MAX_LIMIT, description=f"Page size (max {MAX_LIMIT}).")]
Cursor = Annotated[
    str | None,
    Query(max_length=200, description="`next_cursor` of the previous page."),
]

T = TypeVar("T")


def encode_cursor(key: str | int) -> str:
    raw = json.dumps([key], separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _decode(cursor: str) -> object:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        value = json.loads(raw)
    except (binascii.Error, ValueError) as exc:
        raise invalid_param("cursor", "is not a cursor this API issued") from exc
    if not isinstance(value, list) or len(value) != 1:
        raise invalid_param("cursor", "is not a cursor this API issued")
    return value[0]


def uuid_after(cursor: str | None) -> UUID | None:
    """The UUID key a cursor names (None for the first page)."""
    if cursor is None:
        return None
    key = _decode(cursor)
    try:
        return UUID(str(key))
    except ValueError as exc:
        raise invalid_param("cursor", "is not a cursor this API issued") from exc


def int_after(cursor: str | None) -> int:
    """The integer key a cursor names (0 for the first page)."""
    if cursor is None:
        return 0
    key = _decode(cursor)
    if not isinstance(key, int) or isinstance(key, bool):
        raise invalid_param("cursor", "is not a cursor this API issued")
    return key


@dataclass(frozen=True)
class Page(Generic[T]):
    items: list[T]
    next_cursor: str | None


def page_of(rows: list[T], limit: int, key: Callable[[T], str | int]) -> Page[T]:
    """Rows were fetched with `limit + 1`: the extra one only says there is more."""
    if len(rows) <= limit:
        return Page(rows, None)
    items = rows[:limit]
    return Page(items, encode_cursor(key(items[-1])))


M = TypeVar("M", bound=BaseModel)


def list_answer(model: type[M], key: str, page: Page[Any] | None, position: int,
                missing: str) -> M:
    """A list endpoint's answer (`key`, `next_cursor`, `position`), or 404 when the thing
    the list belongs to is unknown."""
    if page is None:
        raise NotFoundError(missing, position=position)
    return model.model_validate(
        {key: page.items, "next_cursor": page.next_cursor, "position": position})
