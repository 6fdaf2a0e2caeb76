"""SQL for meetings and their attendees, filtered by the caller's scope."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

import asyncpg

from service.kernel.session import TenantSession
from service.kernel.visibility import Scope, visible_young_adult

COLUMNS = ("m.id, m.young_adult_id, m.kind, m.held_on, m.outcome, m.agreed_plan_version_id, m.young_adult_attended, "
           "m.version")
VISIBLE = visible_young_adult("m.young_adult_id", 2)
# Orders (over the alias {t}), shared with the declarations (model.py): total, so both executors list alike.
MEETING_ORDER = "{t}.held_on, {t}.created_at, {t}.id"


async def meetings_for(session: TenantSession, young_adult_ids: Sequence[uuid.UUID], scope: Scope,
                       ) -> list[asyncpg.Record]:
    """Meetings of several young adults, in date order."""
    return await session.fetch(
        f"SELECT {COLUMNS} FROM meeting m WHERE m.young_adult_id = ANY($1::uuid[]) AND {VISIBLE} "
        f"ORDER BY {MEETING_ORDER.format(t='m')}", list(young_adult_ids), *scope.args)


async def meetings_by_id(session: TenantSession, ids: Sequence[uuid.UUID], scope: Scope) -> list[asyncpg.Record]:
    return await session.fetch(f"SELECT {COLUMNS} FROM meeting m WHERE m.id = ANY($1::uuid[]) AND {VISIBLE}",
                               list(ids), *scope.args)


async def attendees_for(session: TenantSession, meeting_ids: Sequence[uuid.UUID], scope: Scope,
                        ) -> list[asyncpg.Record]:
    return await session.fetch(
        "SELECT x.id, x.meeting_id, x.practitioner_id, x.network_member_id FROM meeting_attendee x "
        f"JOIN meeting m ON m.id = x.meeting_id WHERE x.meeting_id = ANY($1::uuid[]) AND {VISIBLE} ORDER BY x.id",
        list(meeting_ids), *scope.args)


async def plan_version_of(session: TenantSession, version_id: uuid.UUID) -> asyncpg.Record | None:
    """The plan version with its young adult (the caller has already been checked against the young adult)."""
    return await session.fetchrow(
        "SELECT v.id, v.status, p.young_adult_id FROM plan_version v JOIN integrated_plan p ON p.id = v.plan_id "
        "WHERE v.id = $1", version_id)


async def insert_meeting(session: TenantSession, young_adult_id: uuid.UUID, values: dict[str, Any],
                         practitioner_ids: Sequence[uuid.UUID], member_ids: Sequence[uuid.UUID]) -> asyncpg.Record:
    """The meeting and its attendees (practitioners and network members), in one statement."""
    row = await session.fetchrow(
        "WITH m AS (INSERT INTO meeting (young_adult_id, kind, held_on, outcome, agreed_plan_version_id, "
        "           young_adult_attended) VALUES ($1, $2, $3, $4, $5, $6) "
        "           RETURNING id, young_adult_id, kind, held_on, outcome, agreed_plan_version_id, "
        "           young_adult_attended, version), "
        "p AS (INSERT INTO meeting_attendee (meeting_id, practitioner_id) "
        "      SELECT m.id, p FROM m, unnest($7::uuid[]) p), "
        "n AS (INSERT INTO meeting_attendee (meeting_id, network_member_id) "
        "      SELECT m.id, n FROM m, unnest($8::uuid[]) n) "
        f"SELECT {COLUMNS} FROM m", young_adult_id, values["kind"], values["held_on"], values.get("outcome"),
        values.get("agreed_plan_version_id"), bool(values.get("young_adult_attended")), list(practitioner_ids),
        list(member_ids))
    assert row is not None
    return row


async def update_meeting(session: TenantSession, meeting_id: uuid.UUID, version: int, changes: dict[str, Any],
                         ) -> asyncpg.Record | None:
    assert changes
    assert set(changes) <= {"held_on", "outcome", "agreed_plan_version_id", "young_adult_attended"}
    names = sorted(changes)
    assignments = ", ".join(f"{name} = ${i}" for i, name in enumerate(names, start=3))
    return await session.fetchrow(
        f"UPDATE meeting AS m SET {assignments}, version = version + 1, updated_at = now() "
        f"WHERE id = $1 AND version = $2 RETURNING {COLUMNS}", meeting_id, version, *(changes[n] for n in names))
