"""Relay conventions: opaque global ids ("Type:uuid", base64) and cursor connections capped at 100."""

from __future__ import annotations

import base64
import binascii
import uuid
from collections.abc import Callable, Sequence
from typing import Generic, TypeVar

import strawberry

from service.kernel.errors import InvalidInput

MAX_PAGE = 100
T = TypeVar("T")
R = TypeVar("R")


def to_global_id(type_name: str, raw: uuid.UUID) -> str:
    """The one global-id encoding: urlsafe base64 of "Type:uuid". :func:`global_id_sql` is the same encoding for
    statements that build a response in PostgreSQL (a test checks the two agree)."""
    return base64.urlsafe_b64encode(f"{type_name}:{raw}".encode()).decode()


def global_id_sql(type_name: str, column: str) -> str:
    """:func:`to_global_id` as an SQL expression over a uuid ``column``."""
    return global_id_sql_of(f"'{type_name}'", column)


def global_id_sql_of(type_sql: str, column: str) -> str:
    """:func:`to_global_id` as an SQL expression, the type name itself an SQL expression (a timeline entry's subject
    is of several types). encode() wraps base64 at 76 characters; translate() drops the newline and makes it urlsafe
    like Python's."""
    return f"translate(encode(convert_to({type_sql} || ':' || {column}, 'UTF8'), 'base64'), E'+/\\n', '-_')"


def from_global_id(global_id: str) -> tuple[str, uuid.UUID] | None:
    """Decode a global id; anything malformed is None, so it answers exactly like a missing record."""
    try:
        type_name, _, raw = base64.urlsafe_b64decode(global_id.encode()).decode().partition(":")
        return type_name, uuid.UUID(raw)
    except (ValueError, binascii.Error, UnicodeDecodeError):
        return None


def expect_id(global_id: strawberry.ID | str, type_name: str, field: str) -> uuid.UUID | None:
    """The uuid inside a global id of the expected type, or None (treated as not found by callers)."""
    decoded = from_global_id(str(global_id))
    if decoded is None or decoded[0] != type_name:
        return None
    return decoded[1]


def check_first(first: int) -> int:
    if not 1 <= first <= MAX_PAGE:
        raise InvalidInput(f"`first` must be between 1 and {MAX_PAGE}; got {first}.", field="first")
    return first


def cursor_id(after: str | None) -> uuid.UUID | None:
    if after is None:
        return None
    decoded = from_global_id(after)
    if decoded is None or decoded[0] != "cursor":
        raise InvalidInput("`after` is not a cursor this API issued.", field="after")
    return decoded[1]


@strawberry.type(description="Where a page sits in its connection.")
class PageInfo:
    has_next_page: bool
    end_cursor: str | None


@strawberry.type
class Edge(Generic[T]):
    node: T
    cursor: str


@strawberry.type(description="A page of results; pass `pageInfo.endCursor` as `after` for the next one.")
class Connection(Generic[T]):
    edges: list[Edge[T]]
    page_info: PageInfo


def connection(rows: Sequence[R], first: int, make: Callable[[R], T], key: Callable[[R], uuid.UUID],
               ) -> Connection[T]:
    """Build a connection from up to ``first + 1`` rows fetched in order (the extra row says there is more)."""
    edges = [Edge(node=make(r), cursor=to_global_id("cursor", key(r))) for r in rows[:first]]
    return Connection(edges=edges, page_info=PageInfo(has_next_page=len(rows) > first,
                                                      end_cursor=edges[-1].cursor if edges else None))
