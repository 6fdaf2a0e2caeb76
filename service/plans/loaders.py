"""Per-request DataLoaders for plans, versions, goals, actions and sign-offs, scoped to the caller."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable, Sequence

import asyncpg
from strawberry.dataloader import DataLoader

from service.kernel.session import TenantSession
from service.kernel.visibility import Scope
from service.kernel.work import UnitOfWork
from service.people.loaders import by_id, grouped, scope
from service.plans import repository

Fetch = Callable[[TenantSession, Sequence[uuid.UUID], Scope], Awaitable[list[asyncpg.Record]]]


def _one(ctx: UnitOfWork, name: str, fetch: Fetch, column: str = "id") -> DataLoader[uuid.UUID, asyncpg.Record | None]:
    async def load(keys: list[uuid.UUID]) -> list[asyncpg.Record | None]:
        return by_id(await fetch(ctx.tenant(), keys, await scope(ctx)), keys, column)
    return ctx.loader(name, load)


def _many(ctx: UnitOfWork, name: str, fetch: Fetch, column: str) -> DataLoader[uuid.UUID, list[asyncpg.Record]]:
    async def load(keys: list[uuid.UUID]) -> list[list[asyncpg.Record]]:
        return grouped(await fetch(ctx.tenant(), keys, await scope(ctx)), keys, column)
    return ctx.loader(name, load)


def plan_of(ctx: UnitOfWork) -> DataLoader[uuid.UUID, asyncpg.Record | None]:
    return _one(ctx, "plan_of", repository.plans_for, "young_adult_id")


def plans(ctx: UnitOfWork) -> DataLoader[uuid.UUID, asyncpg.Record | None]:
    return _one(ctx, "plans", repository.plans_by_id)


def versions_of(ctx: UnitOfWork) -> DataLoader[uuid.UUID, list[asyncpg.Record]]:
    return _many(ctx, "plan_versions_of", repository.versions_for, "plan_id")


def versions(ctx: UnitOfWork) -> DataLoader[uuid.UUID, asyncpg.Record | None]:
    return _one(ctx, "plan_versions", repository.versions_by_id)


def goals_of(ctx: UnitOfWork) -> DataLoader[uuid.UUID, list[asyncpg.Record]]:
    return _many(ctx, "plan_goals_of", repository.goals_for, "plan_version_id")


def goals(ctx: UnitOfWork) -> DataLoader[uuid.UUID, asyncpg.Record | None]:
    return _one(ctx, "plan_goals", repository.goals_by_id)


def actions_of(ctx: UnitOfWork) -> DataLoader[uuid.UUID, list[asyncpg.Record]]:
    return _many(ctx, "plan_actions_of", repository.actions_for, "plan_goal_id")


def actions(ctx: UnitOfWork) -> DataLoader[uuid.UUID, asyncpg.Record | None]:
    return _one(ctx, "plan_actions", repository.actions_by_id)


def signoffs_of(ctx: UnitOfWork) -> DataLoader[uuid.UUID, list[asyncpg.Record]]:
    return _many(ctx, "plan_signoffs_of", repository.signoffs_for, "plan_version_id")
