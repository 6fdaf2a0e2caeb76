"""Per-request DataLoaders for meetings and attendees, scoped to the caller."""

from __future__ import annotations

import uuid

import asyncpg
from strawberry.dataloader import DataLoader

from service.kernel.work import UnitOfWork
from service.meetings import repository
from service.people.loaders import by_id, grouped, scope


def meetings_of(ctx: UnitOfWork) -> DataLoader[uuid.UUID, list[asyncpg.Record]]:
    async def load(keys: list[uuid.UUID]) -> list[list[asyncpg.Record]]:
        rows = await repository.meetings_for(ctx.tenant(), keys, await scope(ctx))
        return grouped(rows, keys, "young_adult_id")
    return ctx.loader("meetings_of", load)


def meetings(ctx: UnitOfWork) -> DataLoader[uuid.UUID, asyncpg.Record | None]:
    async def load(keys: list[uuid.UUID]) -> list[asyncpg.Record | None]:
        return by_id(await repository.meetings_by_id(ctx.tenant(), keys, await scope(ctx)), keys)
    return ctx.loader("meetings", load)


def attendees_of(ctx: UnitOfWork) -> DataLoader[uuid.UUID, list[asyncpg.Record]]:
    async def load(keys: list[uuid.UUID]) -> list[list[asyncpg.Record]]:
        rows = await repository.attendees_for(ctx.tenant(), keys, await scope(ctx))
        return grouped(rows, keys, "meeting_id")
    return ctx.loader("meeting_attendees_of", load)
