"""Per-request DataLoaders for outcome check-ins, scoped to the caller."""

from __future__ import annotations

import uuid

import asyncpg
from strawberry.dataloader import DataLoader

from service.kernel.work import UnitOfWork
from service.outcomes import repository
from service.people.loaders import by_id, grouped, scope


def check_ins_of(ctx: UnitOfWork) -> DataLoader[uuid.UUID, list[asyncpg.Record]]:
    async def load(keys: list[uuid.UUID]) -> list[list[asyncpg.Record]]:
        rows = await repository.check_ins_for(ctx.tenant(), keys, await scope(ctx))
        return grouped(rows, keys, "young_adult_id")
    return ctx.loader("outcome_check_ins_of", load)


def check_ins(ctx: UnitOfWork) -> DataLoader[uuid.UUID, asyncpg.Record | None]:
    async def load(keys: list[uuid.UUID]) -> list[asyncpg.Record | None]:
        return by_id(await repository.check_ins_by_id(ctx.tenant(), keys, await scope(ctx)), keys)
    return ctx.loader("outcome_check_ins", load)
