"""Per-request DataLoaders for sites and practitioners, and the caller's scope (memoised per request)."""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Sequence

import asyncpg
from strawberry.dataloader import DataLoader

from service.kernel.visibility import Actor, Scope
from service.kernel.work import UnitOfWork
from service.people import repository
from service.people.service import scope_for


async def scope(ctx: UnitOfWork) -> Scope:
    """The caller's scope, computed once per request."""
    if ctx.scope is None:
        ctx.scope = await scope_for(ctx.tenant(), ctx.principal)
    return ctx.scope


async def actor(ctx: UnitOfWork) -> Actor:
    """The caller as service functions see them (raises AccessDenied for roles without case data)."""
    return Actor(ctx.tenant(), ctx.principal, ctx.request_id, await scope(ctx))


def by_id(rows: Sequence[asyncpg.Record], keys: Sequence[uuid.UUID], column: str = "id",
          ) -> list[asyncpg.Record | None]:
    found = {r[column]: r for r in rows}
    return [found.get(k) for k in keys]


def grouped(rows: Sequence[asyncpg.Record], keys: Sequence[uuid.UUID], column: str) -> list[list[asyncpg.Record]]:
    groups: dict[uuid.UUID, list[asyncpg.Record]] = defaultdict(list)
    for row in rows:
        groups[row[column]].append(row)
    return [groups[k] for k in keys]


def sites(ctx: UnitOfWork) -> DataLoader[uuid.UUID, asyncpg.Record | None]:
    async def load(keys: list[uuid.UUID]) -> list[asyncpg.Record | None]:
        return by_id(await repository.sites_by_id(ctx.tenant(), keys), keys)
    return ctx.loader("sites", load)


def practitioners(ctx: UnitOfWork) -> DataLoader[uuid.UUID, asyncpg.Record | None]:
    async def load(keys: list[uuid.UUID]) -> list[asyncpg.Record | None]:
        return by_id(await repository.practitioners_by_id(ctx.tenant(), keys), keys)
    return ctx.loader("practitioners", load)


def practitioners_at(ctx: UnitOfWork) -> DataLoader[uuid.UUID, list[asyncpg.Record]]:
    async def load(keys: list[uuid.UUID]) -> list[list[asyncpg.Record]]:
        return grouped(await repository.practitioners_at_sites(ctx.tenant(), keys), keys, "site_id")
    return ctx.loader("practitioners_at", load)


def young_adults(ctx: UnitOfWork) -> DataLoader[uuid.UUID, asyncpg.Record | None]:
    async def load(keys: list[uuid.UUID]) -> list[asyncpg.Record | None]:
        return by_id(await repository.young_adults_by_id(ctx.tenant(), keys, await scope(ctx)), keys)
    return ctx.loader("young_adults", load)
