"""Per-request DataLoaders for custody episodes and what hangs off them, scoped to the caller."""

from __future__ import annotations

import uuid

import asyncpg
from strawberry.dataloader import DataLoader

from service.custody import repository
from service.kernel.work import UnitOfWork
from service.people.loaders import by_id, grouped, scope


def episodes_of(ctx: UnitOfWork) -> DataLoader[uuid.UUID, list[asyncpg.Record]]:
    async def load(keys: list[uuid.UUID]) -> list[list[asyncpg.Record]]:
        rows = await repository.episodes_for(ctx.tenant(), keys, await scope(ctx))
        return grouped(rows, keys, "young_adult_id")
    return ctx.loader("custody_episodes_of", load)


def episodes(ctx: UnitOfWork) -> DataLoader[uuid.UUID, asyncpg.Record | None]:
    async def load(keys: list[uuid.UUID]) -> list[asyncpg.Record | None]:
        return by_id(await repository.episodes_by_id(ctx.tenant(), keys, await scope(ctx)), keys)
    return ctx.loader("custody_episodes", load)


def recalls_of(ctx: UnitOfWork) -> DataLoader[uuid.UUID, list[asyncpg.Record]]:
    async def load(keys: list[uuid.UUID]) -> list[list[asyncpg.Record]]:
        rows = await repository.recalls_for(ctx.tenant(), keys, await scope(ctx))
        return grouped(rows, keys, "custody_episode_id")
    return ctx.loader("recalls_of", load)


def conditions_of(ctx: UnitOfWork) -> DataLoader[uuid.UUID, list[asyncpg.Record]]:
    async def load(keys: list[uuid.UUID]) -> list[list[asyncpg.Record]]:
        rows = await repository.conditions_for(ctx.tenant(), keys, await scope(ctx))
        return grouped(rows, keys, "custody_episode_id")
    return ctx.loader("licence_conditions_of", load)
