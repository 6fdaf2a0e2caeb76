"""Per-request DataLoaders for consent records."""

from __future__ import annotations

import uuid
from collections import defaultdict

import asyncpg
from strawberry.dataloader import DataLoader

from service.consent import repository
from service.kernel.work import UnitOfWork
from service.people.loaders import scope


def consents(ctx: UnitOfWork) -> DataLoader[uuid.UUID, asyncpg.Record | None]:
    async def load(keys: list[uuid.UUID]) -> list[asyncpg.Record | None]:
        rows = await repository.consents_by_id(ctx.tenant(), keys, await scope(ctx))
        found = {r["id"]: r for r in rows}
        return [found.get(k) for k in keys]
    return ctx.loader("consents", load)


def consents_of(ctx: UnitOfWork) -> DataLoader[uuid.UUID, list[asyncpg.Record]]:
    """Consent records of young adults (those the caller sees), keyed by young adult id."""
    async def load(keys: list[uuid.UUID]) -> list[list[asyncpg.Record]]:
        grouped: dict[uuid.UUID, list[asyncpg.Record]] = defaultdict(list)
        for row in await repository.consents_of(ctx.tenant(), keys, await scope(ctx)):
            grouped[row["young_adult_id"]].append(row)
        return [grouped[k] for k in keys]
    return ctx.loader("consents_of", load)


def contact_consents(ctx: UnitOfWork) -> DataLoader[uuid.UUID, list[asyncpg.Record]]:
    """A network member's CONTACT consent records (those the caller sees), keyed by member id."""
    async def load(keys: list[uuid.UUID]) -> list[list[asyncpg.Record]]:
        grouped: dict[uuid.UUID, list[asyncpg.Record]] = defaultdict(list)
        for row in await repository.member_consents(ctx.tenant(), keys, "CONTACT", await scope(ctx)):
            grouped[row["network_member_id"]].append(row)
        return [grouped[k] for k in keys]
    return ctx.loader("contact_consents", load)
