"""Per-request DataLoaders for the support network, bound to the request's tenant session and the caller's scope.

Every loader of cases, members, commitments and meetings applies visibility itself, from the type's declaration
(service/network/model.py), whatever it is keyed by: a record's id, its young adult, its member or a plan lineage.
Loaders of what has no young adult of its own (stages, objectives, status changes, sign-offs, attendees) serve
fields of records that were found visible.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable

import asyncpg
from strawberry.dataloader import DataLoader

from service.kernel.session import TenantSession
from service.kernel.visibility import Scope
from service.kernel.work import MemoKey, UnitOfWork
from service.network import repository
from service.network.service import caller_practitioner
from service.people.loaders import by_id, grouped, scope

ById = Callable[[TenantSession, list[uuid.UUID], Scope], Awaitable[list[asyncpg.Record]]]
ByKey = Callable[[TenantSession, list[uuid.UUID]], Awaitable[list[asyncpg.Record]]]
ByKeyVisible = Callable[[TenantSession, list[uuid.UUID], Scope], Awaitable[list[asyncpg.Record]]]


CALLER_PRACTITIONER = MemoKey[uuid.UUID | None]("network.caller_practitioner")


def _by_id(ctx: UnitOfWork, name: str, fetch: ById) -> DataLoader[uuid.UUID, asyncpg.Record | None]:
    async def load(keys: list[uuid.UUID]) -> list[asyncpg.Record | None]:
        return by_id(await fetch(ctx.tenant(), keys, await scope(ctx)), keys)
    return ctx.loader(name, load)


def _grouped(ctx: UnitOfWork, name: str, fetch: ByKey, key: str) -> DataLoader[uuid.UUID, list[asyncpg.Record]]:
    async def load(keys: list[uuid.UUID]) -> list[list[asyncpg.Record]]:
        return grouped(await fetch(ctx.tenant(), keys), keys, key)
    return ctx.loader(name, load)


def _grouped_visible(ctx: UnitOfWork, name: str, fetch: ByKeyVisible, key: str,
                     ) -> DataLoader[uuid.UUID, list[asyncpg.Record]]:
    async def load(keys: list[uuid.UUID]) -> list[list[asyncpg.Record]]:
        return grouped(await fetch(ctx.tenant(), keys, await scope(ctx)), keys, key)
    return ctx.loader(name, load)


def cases(ctx: UnitOfWork) -> DataLoader[uuid.UUID, asyncpg.Record | None]:
    return _by_id(ctx, "ll_cases", repository.cases_by_id)


def members(ctx: UnitOfWork) -> DataLoader[uuid.UUID, asyncpg.Record | None]:
    return _by_id(ctx, "network_members", repository.members_by_id)


def commitments(ctx: UnitOfWork) -> DataLoader[uuid.UUID, asyncpg.Record | None]:
    return _by_id(ctx, "network_commitments", repository.commitments_by_id)


def meetings(ctx: UnitOfWork) -> DataLoader[uuid.UUID, asyncpg.Record | None]:
    return _by_id(ctx, "network_meetings", repository.meetings_by_id)


def objective(ctx: UnitOfWork) -> DataLoader[uuid.UUID, asyncpg.Record | None]:
    """Objectives by id, not yet checked: the caller checks the objective's case with :func:`cases`."""
    async def load(keys: list[uuid.UUID]) -> list[asyncpg.Record | None]:
        found = {r["id"]: r for r in await repository.objectives_by_id(ctx.tenant(), keys)}
        return [found.get(k) for k in keys]
    return ctx.loader("ll_objective", load)


def current_case(ctx: UnitOfWork) -> DataLoader[uuid.UUID, list[asyncpg.Record]]:
    return _grouped_visible(ctx, "ll_current_case", repository.current_cases, "young_adult_id")


def stage_changes(ctx: UnitOfWork) -> DataLoader[uuid.UUID, list[asyncpg.Record]]:
    return _grouped(ctx, "ll_stage_changes", repository.stage_changes, "case_id")


def objectives(ctx: UnitOfWork) -> DataLoader[uuid.UUID, list[asyncpg.Record]]:
    return _grouped(ctx, "ll_objectives", repository.objectives_of, "case_id")


def members_of(ctx: UnitOfWork) -> DataLoader[uuid.UUID, list[asyncpg.Record]]:
    return _grouped_visible(ctx, "network_members_of", repository.members_of, "young_adult_id")


def status_changes(ctx: UnitOfWork) -> DataLoader[uuid.UUID, list[asyncpg.Record]]:
    return _grouped(ctx, "network_status_changes", repository.status_changes, "member_id")


def vetting_signoffs(ctx: UnitOfWork) -> DataLoader[uuid.UUID, list[asyncpg.Record]]:
    return _grouped(ctx, "network_vetting", repository.vetting_signoffs, "member_id")


def commitments_of_member(ctx: UnitOfWork) -> DataLoader[uuid.UUID, list[asyncpg.Record]]:
    return _grouped_visible(ctx, "network_commitments_of_member", repository.commitments_of_members, "member_id")


def commitments_of_young_adult(ctx: UnitOfWork) -> DataLoader[uuid.UUID, list[asyncpg.Record]]:
    return _grouped_visible(ctx, "network_commitments_of_young_adult", repository.commitments_of_young_adults,
                    "young_adult_id")


def commitments_by_goal_lineage(ctx: UnitOfWork) -> DataLoader[uuid.UUID, list[asyncpg.Record]]:
    """Commitments against plan goals, keyed by goal lineage id: for ``PlanGoal.commitments``."""
    async def fetch(session: TenantSession, keys: list[uuid.UUID], scope: Scope) -> list[asyncpg.Record]:
        return await repository.commitments_by_lineage(session, "goal_lineage_id", keys, scope)
    return _grouped_visible(ctx, "network_commitments_by_goal", fetch, "goal_lineage_id")


def commitments_by_action_lineage(ctx: UnitOfWork) -> DataLoader[uuid.UUID, list[asyncpg.Record]]:
    """Commitments against plan actions, keyed by action lineage id: for ``PlanAction.commitments``."""
    async def fetch(session: TenantSession, keys: list[uuid.UUID], scope: Scope) -> list[asyncpg.Record]:
        return await repository.commitments_by_lineage(session, "action_lineage_id", keys, scope)
    return _grouped_visible(ctx, "network_commitments_by_action", fetch, "action_lineage_id")


def meetings_of(ctx: UnitOfWork) -> DataLoader[uuid.UUID, list[asyncpg.Record]]:
    return _grouped_visible(ctx, "network_meetings_of", repository.meetings_of, "young_adult_id")


def attendees(ctx: UnitOfWork) -> DataLoader[uuid.UUID, list[asyncpg.Record]]:
    return _grouped(ctx, "network_meeting_attendees", repository.attendees_of, "meeting_id")


def measures(ctx: UnitOfWork) -> DataLoader[uuid.UUID, list[asyncpg.Record]]:
    return _grouped(ctx, "network_measures", repository.measures, "young_adult_id")


async def practitioner_id(ctx: UnitOfWork) -> uuid.UUID | None:
    """The caller's practitioner record, looked up once per request."""
    return await ctx.remember(CALLER_PRACTITIONER, lambda: caller_practitioner(ctx.tenant(), ctx.principal))


def contacts(ctx: UnitOfWork) -> DataLoader[uuid.UUID, asyncpg.Record | None]:
    """Members' contact details as the caller may see them (nulls without need-to-know), keyed by member id."""
    async def load(keys: list[uuid.UUID]) -> list[asyncpg.Record | None]:
        rows = await repository.member_contacts(ctx.tenant(), keys, await practitioner_id(ctx))
        found = {r["id"]: r for r in rows}
        return [found.get(k) for k in keys]
    return ctx.loader("network_contacts", load)
