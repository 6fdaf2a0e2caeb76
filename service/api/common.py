"""Types every feature shares: the Node interface, expected errors as data, the mutation helper."""

from __future__ import annotations

import enum
import uuid
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import asyncpg
import strawberry
from strawberry.dataloader import DataLoader

from service.api.context import Info
from service.kernel.errors import PREREQUISITES, DomainError, Refusals
from service.kernel.work import UnitOfWork

T = TypeVar("T")


@strawberry.interface(description="An object with a stable, opaque global id, fetchable with `node(id:)`.")
class Node:
    id: strawberry.ID


NodeResolver = Callable[[Info, uuid.UUID], Awaitable[Node | None]]
"""Resolves one type's global ids for `node(id:)`: None when missing or not the caller's to see. Each feature
exports a ``NODES`` dict of type name to resolver; the schema merges them into :data:`NODE_RESOLVERS`."""

NODE_RESOLVERS: dict[str, NodeResolver] = {}
"""Type name -> resolver, filled once by the composition root (service.app.schema) from every feature's ``NODES``."""


async def node_of(info: Info, type_name: str, raw: uuid.UUID) -> Node | None:
    """An object of another feature's type by id, exactly as ``node(id:)`` gives it (None when not the caller's to
    see; the field returning it records the view, by the type's declared audit policy). GraphQL types point at each
    other — a network member's young adult, a consent's network member — while the feature packages that define
    them import one way only (README "Architecture")."""
    return await NODE_RESOLVERS[type_name](info, raw)


def loaded_node(loader: Callable[[UnitOfWork], DataLoader[uuid.UUID, asyncpg.Record | None]],
                make: Callable[[asyncpg.Record], Node]) -> NodeResolver:
    """A node resolver loading through a scoped DataLoader, so what the caller may not see is None. (The view is
    recorded by the type's declared audit policy, as wherever else the type is shown.)"""
    async def resolve(info: Info, raw: uuid.UUID) -> Node | None:
        row = await loader(info.context).load(raw)
        return None if row is None else make(row)
    return resolve


@strawberry.enum(description="Why a mutation was refused. A refusal for a missing prerequisite names it: " + "; ".join(
    f"{code}: {meaning}" for code, meaning in PREREQUISITES.items()) + ".")
class ErrorCode(enum.Enum):
    NOT_FOUND = "NOT_FOUND"
    STALE_VERSION = "STALE_VERSION"
    INVALID = "INVALID"
    CONFLICT = "CONFLICT"
    PREREQUISITE_MISSING = "PREREQUISITE_MISSING"
    # The prerequisites (service.errors.PREREQUISITES says what each means).
    ORDER_REQUIRED = "ORDER_REQUIRED"
    CONSENT_REQUIRED = "CONSENT_REQUIRED"
    CONSENT_WITHDRAWN = "CONSENT_WITHDRAWN"
    VETTING_REQUIRED = "VETTING_REQUIRED"
    VETTING_NOT_CLEARED = "VETTING_NOT_CLEARED"
    AGREEMENT_REQUIRED = "AGREEMENT_REQUIRED"
    COMMITMENT_REQUIRED = "COMMITMENT_REQUIRED"
    MEETING_REQUIRED = "MEETING_REQUIRED"
    GOALS_REQUIRED = "GOALS_REQUIRED"
    OPEN_CASE_REQUIRED = "OPEN_CASE_REQUIRED"
    PLAN_AGREEMENT_REQUIRED = "PLAN_AGREEMENT_REQUIRED"
    RELEASE_REQUIRED = "RELEASE_REQUIRED"


assert {c.value for c in ErrorCode} >= set(PREREQUISITES), "every prerequisite code is in the API's ErrorCode"


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


def user_errors(exc: DomainError) -> list[UserError]:
    """One UserError per refusal: several when the request was refused for several reasons at once."""
    return [user_error(e) for e in (exc.errors if isinstance(exc, Refusals) else (exc,))]


# The SQLSTATE of the trigger that keeps a record read-only once the young adult moved to another tenant
# (alembic/tenant/t0006_moves.py): whichever mutation touches such a record is refused as data, not as a fault.
RECORD_CLOSED = "AH017"
CLOSED = "This record is closed: the young adult moved to another tenant, and the record is kept read-only."


async def attempt(ctx: UnitOfWork, action: Callable[[], Awaitable[T]]) -> tuple[T | None, list[UserError]]:
    """Run a tenant mutation in a savepoint: an expected refusal undoes everything it wrote and becomes data."""
    session = ctx.tenant()
    try:
        async with session.savepoint():
            return await action(), []
    except DomainError as exc:
        return None, user_errors(exc)
    except asyncpg.PostgresError as exc:
        if exc.sqlstate != RECORD_CLOSED:
            raise
        return None, [UserError(code=ErrorCode.CONFLICT, message=CLOSED)]


def given_fields(input_: Any, names: tuple[str, ...]) -> dict[str, Any]:
    """The fields of a partial-update input the caller actually gave (UNSET ones left out), enums as their values."""
    out = {}
    for name in names:
        value = getattr(input_, name)
        if value is not strawberry.UNSET:
            out[name] = value.value if isinstance(value, enum.Enum) else value
    return out
