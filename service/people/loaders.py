"""Per-request DataLoaders for people, bound to the request's tenant session and the caller's scope."""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Awaitable, Callable

import asyncpg
from strawberry.dataloader import DataLoader

from service.api.context import Context
from service.people import repository
from service.people.service import Scope, scope_for

Load = Callable[[list[uuid.UUID]], Awaitable[list[asyncpg.Record | None]]]


async def scope(ctx: Context) -> Scope:
    cached = ctx.extras.get("scope")
    if cached is None:
        cached = await scope_for(ctx.tenant(), ctx.principal)
        ctx.extras["scope"] = cached
    assert isinstance(cached, Scope)
    return cached


def _by_id(rows: list[asyncpg.Record], keys: list[uuid.UUID]) -> list[asyncpg.Record | None]:
    found = {r["id"]: r for r in rows}
    return [found.get(k) for k in keys]


def young_adults(ctx: Context) -> DataLoader[uuid.UUID, asyncpg.Record | None]:
    async def load(keys: list[uuid.UUID]) -> list[asyncpg.Record | None]:
        visible = (await scope(ctx)).site_ids
        return _by_id(await repository.young_adults_by_id(ctx.tenant(), keys, visible), keys)
    return ctx.loader("young_adults", lambda _session: load)


def sites(ctx: Context) -> DataLoader[uuid.UUID, asyncpg.Record | None]:
    async def load(keys: list[uuid.UUID]) -> list[asyncpg.Record | None]:
        return _by_id(await repository.sites_by_id(ctx.tenant(), keys), keys)
    return ctx.loader("sites", lambda _session: load)


def practitioners(ctx: Context) -> DataLoader[uuid.UUID, asyncpg.Record | None]:
    async def load(keys: list[uuid.UUID]) -> list[asyncpg.Record | None]:
        return _by_id(await repository.practitioners_by_id(ctx.tenant(), keys), keys)
    return ctx.loader("practitioners", lambda _session: load)


def enrolments_of(ctx: Context) -> DataLoader[uuid.UUID, list[asyncpg.Record]]:
    """Enrolments of (already visible) young adults, keyed by young adult id."""
    async def load(keys: list[uuid.UUID]) -> list[list[asyncpg.Record]]:
        grouped: dict[uuid.UUID, list[asyncpg.Record]] = defaultdict(list)
        for row in await repository.enrolments_for(ctx.tenant(), keys):
            grouped[row["young_adult_id"]].append(row)
        return [grouped[k] for k in keys]
    return ctx.loader("enrolments_of", lambda _session: load)


def practitioners_at(ctx: Context) -> DataLoader[uuid.UUID, list[asyncpg.Record]]:
    async def load(keys: list[uuid.UUID]) -> list[list[asyncpg.Record]]:
        grouped: dict[uuid.UUID, list[asyncpg.Record]] = defaultdict(list)
        for row in await repository.practitioners_at_sites(ctx.tenant(), keys):
            grouped[row["site_id"]].append(row)
        return [grouped[k] for k in keys]
    return ctx.loader("practitioners_at", lambda _session: load)


def enrolments(ctx: Context) -> DataLoader[uuid.UUID, asyncpg.Record | None]:
    async def load(keys: list[uuid.UUID]) -> list[asyncpg.Record | None]:
        return _by_id(await repository.enrolments_by_id(ctx.tenant(), keys), keys)
    return ctx.loader("enrolments", lambda _session: load)
