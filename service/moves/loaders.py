"""Per-request DataLoaders for the moves of young adults the caller may see (one statement per list field)."""

from __future__ import annotations

import uuid

import asyncpg
from strawberry.dataloader import DataLoader

from service.kernel.work import UnitOfWork
from service.moves import repository
from service.people.loaders import by_id, grouped, scope


def site_transfers(ctx: UnitOfWork) -> DataLoader[uuid.UUID, list[asyncpg.Record]]:
    async def load(keys: list[uuid.UUID]) -> list[list[asyncpg.Record]]:
        rows = await repository.site_transfers_for(ctx.tenant(), keys, await scope(ctx))
        return grouped(rows, keys, "young_adult_id")
    return ctx.loader("moves.site_transfers", load)


def handovers(ctx: UnitOfWork) -> DataLoader[uuid.UUID, list[asyncpg.Record]]:
    async def load(keys: list[uuid.UUID]) -> list[list[asyncpg.Record]]:
        rows = await repository.handovers_for(ctx.tenant(), keys, await scope(ctx))
        return grouped(rows, keys, "young_adult_id")
    return ctx.loader("moves.handovers", load)


def moves(ctx: UnitOfWork) -> DataLoader[uuid.UUID, asyncpg.Record | None]:
    async def load(keys: list[uuid.UUID]) -> list[asyncpg.Record | None]:
        return by_id(await repository.moves_of(ctx.tenant(), keys, await scope(ctx)), keys)
    return ctx.loader("moves.tenant_moves", load)


def provenance(ctx: UnitOfWork) -> DataLoader[uuid.UUID, list[asyncpg.Record]]:
    async def load(keys: list[uuid.UUID]) -> list[list[asyncpg.Record]]:
        rows = await repository.provenance_for(ctx.tenant(), keys, await scope(ctx))
        return grouped(rows, keys, "young_adult_id")
    return ctx.loader("moves.provenance", load)
