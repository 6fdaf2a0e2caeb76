"""Per-request DataLoaders for young adults and the parts of their record this package owns. Each batch is one
statement filtered by the caller's scope, so a page of fifty young adults costs one statement per field, not fifty."""

from __future__ import annotations

import uuid

import asyncpg
from strawberry.dataloader import DataLoader

from service.api.context import Context
from service.people.loaders import by_id, grouped, scope
from service.records import repository


def young_adults(ctx: Context) -> DataLoader[uuid.UUID, asyncpg.Record | None]:
    async def load(keys: list[uuid.UUID]) -> list[asyncpg.Record | None]:
        return by_id(await repository.young_adults_by_id(ctx.tenant(), keys, await scope(ctx)), keys)
    return ctx.loader("young_adults", lambda _session: load)


def enrolments(ctx: Context) -> DataLoader[uuid.UUID, asyncpg.Record | None]:
    async def load(keys: list[uuid.UUID]) -> list[asyncpg.Record | None]:
        return by_id(await repository.enrolments_by_id(ctx.tenant(), keys, await scope(ctx)), keys)
    return ctx.loader("enrolments", lambda _session: load)


def enrolments_of(ctx: Context) -> DataLoader[uuid.UUID, list[asyncpg.Record]]:
    async def load(keys: list[uuid.UUID]) -> list[list[asyncpg.Record]]:
        rows = await repository.enrolments_for(ctx.tenant(), keys, await scope(ctx))
        return grouped(rows, keys, "young_adult_id")
    return ctx.loader("enrolments_of", lambda _session: load)


def status_history(ctx: Context) -> DataLoader[uuid.UUID, list[asyncpg.Record]]:
    async def load(keys: list[uuid.UUID]) -> list[list[asyncpg.Record]]:
        rows = await repository.status_changes_for(ctx.tenant(), keys, await scope(ctx))
        return grouped(rows, keys, "enrolment_id")
    return ctx.loader("status_history", lambda _session: load)


def teams(ctx: Context, current_only: bool) -> DataLoader[uuid.UUID, list[asyncpg.Record]]:
    async def load(keys: list[uuid.UUID]) -> list[list[asyncpg.Record]]:
        rows = await repository.team_members_for(ctx.tenant(), keys, await scope(ctx), current_only)
        return grouped(rows, keys, "young_adult_id")
    return ctx.loader(f"teams:{current_only}", lambda _session: load)


def team_members(ctx: Context) -> DataLoader[uuid.UUID, asyncpg.Record | None]:
    async def load(keys: list[uuid.UUID]) -> list[asyncpg.Record | None]:
        return by_id(await repository.team_members_by_id(ctx.tenant(), keys, await scope(ctx)), keys)
    return ctx.loader("team_members", lambda _session: load)


def timelines(ctx: Context) -> DataLoader[uuid.UUID, list[asyncpg.Record]]:
    async def load(keys: list[uuid.UUID]) -> list[list[asyncpg.Record]]:
        return grouped(await repository.timelines(ctx.tenant(), keys, await scope(ctx)), keys, "young_adult_id")
    return ctx.loader("timelines", lambda _session: load)
