"""Types every feature shares: the Node interface, expected errors as data, the mutation helper."""

from __future__ import annotations

import enum
from collections.abc import Awaitable, Callable
from typing import TypeVar

import strawberry

from service.api.context import Context
from service.errors import DomainError

T = TypeVar("T")


@strawberry.interface(description="An object with a stable, opaque global id, fetchable with `node(id:)`.")
class Node:
    id: strawberry.ID


@strawberry.enum(description="Why a mutation was refused.")
class ErrorCode(enum.Enum):
    NOT_FOUND = "NOT_FOUND"
    STALE_VERSION = "STALE_VERSION"
    INVALID = "INVALID"
    CONFLICT = "CONFLICT"


@strawberry.type(description="An expected refusal, returned as data: what went wrong and which input field.")
class UserError:
    code: ErrorCode
    message: str
    field: str | None = None


def _camel(name: str | None) -> str | None:
    if name is None:
        return None
    head, *rest = name.split("_")
    return head + "".join(part.title() for part in rest)


def user_error(exc: DomainError) -> UserError:
    return UserError(code=ErrorCode(exc.code), message=exc.message, field=_camel(exc.field))


async def attempt(ctx: Context, action: Callable[[], Awaitable[T]]) -> tuple[T | None, list[UserError]]:
    """Run a tenant mutation in a savepoint: an expected refusal undoes everything it wrote and becomes data."""
    session = ctx.tenant()
    try:
        async with session.savepoint():
            return await action(), []
    except DomainError as exc:
        return None, [user_error(exc)]
