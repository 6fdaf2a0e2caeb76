"""Per-request DataLoaders for young adults and the parts of their record this package owns. Each batch is one
statement filtered by the caller's scope, so a page of fifty young adults costs one statement per field, not fifty."""

from __future__ import annotations

import uuid

import asyncpg
from strawberry.dataloader import DataLoader

from service.kernel.work import UnitOfWork
from service.people import repository as people_repository
from service.people.loaders import by_id, grouped, scope
from service.records import repository


def enrolments(ctx: UnitOfWork) -> DataLoader[uuid.UUID, asyncpg.Record | None]:
    async def load(keys: list[uuid.UUID]) -> list[asyncpg.Record | None]:
        return by_id(await repository.enrolments_by_id(ctx.tenant(), keys, await scope(ctx)), keys)
    return ctx.loader("enrolments", load)


def enrolments_of(ctx: UnitOfWork) -> DataLoader[uuid.UUID, list[asyncpg.Record]]:
    async def load(keys: list[uuid.UUID]) -> list[list[asyncpg.Record]]:
        rows = await people_repository.enrolments_for(ctx.tenant(), keys, await scope(ctx))
        return grouped(rows, keys, "young_adult_id")
    return ctx.loader("enrolments_of", load)


def status_history(ctx: UnitOfWork) -> DataLoader[uuid.UUID, list[asyncpg.Record]]:
    async def load(keys: list[uuid.UUID]) -> list[list[asyncpg.Record]]:
        rows = await repository.status_changes_for(ctx.tenant(), keys, await scope(ctx))
        return grouped(rows, keys, "enrolment_id")
    return ctx.loader("status_history", load)


def teams(ctx: UnitOfWork, current_only: bool) -> DataLoader[uuid.UUID, list[asyncpg.Record]]:
    async def load(keys: list[uuid.UUID]) -> list[list[asyncpg.Record]]:
        rows = await repository.team_members_for(ctx.tenant(), keys, await scope(ctx), current_only)
        return grouped(rows, keys, "young_adult_id")
    return ctx.loader(f"teams:{current_only}", load)


def team_members(ctx: UnitOfWork) -> DataLoader[uuid.UUID, asyncpg.Record | None]:
    async def load(keys: list[uuid.UUID]) -> list[asyncpg.Record | None]:
        return by_id(await repository.team_members_by_id(ctx.tenant(), keys, await scope(ctx)), keys)
    return ctx.loader("team_members", load)


def timelines(ctx: UnitOfWork) -> DataLoader[uuid.UUID, list[asyncpg.Record]]:
    async def load(keys: list[uuid.UUID]) -> list[list[asyncpg.Record]]:
        return grouped(await repository.timelines(ctx.tenant(), keys, await scope(ctx)), keys, "young_adult_id")
    return ctx.loader("timelines", load)
