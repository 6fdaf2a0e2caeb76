"""Per-request DataLoaders for assessments and their needs, scoped to the caller."""

from __future__ import annotations

import uuid

import asyncpg
from strawberry.dataloader import DataLoader

from service.assessments import repository
from service.kernel.work import UnitOfWork
from service.people.loaders import by_id, grouped, scope


def assessments_of(ctx: UnitOfWork) -> DataLoader[uuid.UUID, list[asyncpg.Record]]:
    async def load(keys: list[uuid.UUID]) -> list[list[asyncpg.Record]]:
        rows = await repository.assessments_for(ctx.tenant(), keys, await scope(ctx))
        return grouped(rows, keys, "young_adult_id")
    return ctx.loader("assessments_of", load)


def assessments(ctx: UnitOfWork) -> DataLoader[uuid.UUID, asyncpg.Record | None]:
    async def load(keys: list[uuid.UUID]) -> list[asyncpg.Record | None]:
        return by_id(await repository.assessments_by_id(ctx.tenant(), keys, await scope(ctx)), keys)
    return ctx.loader("assessments", load)


def needs_of(ctx: UnitOfWork) -> DataLoader[uuid.UUID, list[asyncpg.Record]]:
    async def load(keys: list[uuid.UUID]) -> list[list[asyncpg.Record]]:
        return grouped(await repository.needs_for(ctx.tenant(), keys, await scope(ctx)), keys, "assessment_id")
    return ctx.loader("assessment_needs_of", load)
