"""SQL for the integrated plan: plans, versions, goals, actions and sign-offs, each filtered by the caller's scope
through the plan's young adult."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import date
from typing import Any

import asyncpg

from service.kernel.session import TenantSession
from service.kernel.visibility import Scope, visible_young_adult

VISIBLE = visible_young_adult("p.young_adult_id", 2)
# Orders (over the alias {t}), shared with the declarations (model.py): total, so both executors list alike.
SIGNOFF_ORDER = "{t}.signed_at, {t}.service"
PLAN_COLUMNS = "p.id, p.young_adult_id, p.version"
VERSION_COLUMNS = "v.id, v.plan_id, v.number, v.status, v.agreed_at, v.created_at, v.version, p.young_adult_id"
GOAL_COLUMNS = ("g.id, g.plan_version_id, g.lineage_id, g.pathway, g.description, g.position, g.version, "
                "v.status AS version_status, v.plan_id, p.young_adult_id")
ACTION_COLUMNS = ("a.id, a.plan_goal_id, a.lineage_id, a.description, a.owner_service, a.owner_id, a.due_on, "
                  "a.status, a.position, a.version, g.plan_version_id, g.lineage_id AS goal_lineage_id, "
                  "v.status AS version_status, v.plan_id, p.young_adult_id")
FROM_VERSION = "FROM plan_version v JOIN integrated_plan p ON p.id = v.plan_id"
FROM_GOAL = ("FROM plan_goal g JOIN plan_version v ON v.id = g.plan_version_id "
             "JOIN integrated_plan p ON p.id = v.plan_id")
FROM_ACTION = ("FROM plan_action a JOIN plan_goal g ON g.id = a.plan_goal_id "
               "JOIN plan_version v ON v.id = g.plan_version_id JOIN integrated_plan p ON p.id = v.plan_id")


# --- reads (batched by DataLoaders) -------------------------------------------------------------------------------

async def plans_for(session: TenantSession, young_adult_ids: Sequence[uuid.UUID], scope: Scope,
                    ) -> list[asyncpg.Record]:
    return await session.fetch(
        f"SELECT {PLAN_COLUMNS} FROM integrated_plan p WHERE p.young_adult_id = ANY($1::uuid[]) AND {VISIBLE}",
        list(young_adult_ids), *scope.args)


async def plans_by_id(session: TenantSession, ids: Sequence[uuid.UUID], scope: Scope) -> list[asyncpg.Record]:
    return await session.fetch(
        f"SELECT {PLAN_COLUMNS} FROM integrated_plan p WHERE p.id = ANY($1::uuid[]) AND {VISIBLE}",
        list(ids), *scope.args)


async def versions_for(session: TenantSession, plan_ids: Sequence[uuid.UUID], scope: Scope) -> list[asyncpg.Record]:
    """Versions of several plans, newest first."""
    return await session.fetch(
        f"SELECT {VERSION_COLUMNS} {FROM_VERSION} WHERE v.plan_id = ANY($1::uuid[]) AND {VISIBLE} "
        "ORDER BY v.number DESC", list(plan_ids), *scope.args)


async def versions_by_id(session: TenantSession, ids: Sequence[uuid.UUID], scope: Scope) -> list[asyncpg.Record]:
    return await session.fetch(f"SELECT {VERSION_COLUMNS} {FROM_VERSION} WHERE v.id = ANY($1::uuid[]) AND {VISIBLE}",
                               list(ids), *scope.args)


async def goals_for(session: TenantSession, version_ids: Sequence[uuid.UUID], scope: Scope) -> list[asyncpg.Record]:
    return await session.fetch(
        f"SELECT {GOAL_COLUMNS} {FROM_GOAL} WHERE g.plan_version_id = ANY($1::uuid[]) AND {VISIBLE} "
        "ORDER BY g.position, g.created_at", list(version_ids), *scope.args)


async def goals_by_id(session: TenantSession, ids: Sequence[uuid.UUID], scope: Scope) -> list[asyncpg.Record]:
    return await session.fetch(f"SELECT {GOAL_COLUMNS} {FROM_GOAL} WHERE g.id = ANY($1::uuid[]) AND {VISIBLE}",
                               list(ids), *scope.args)


async def actions_for(session: TenantSession, goal_ids: Sequence[uuid.UUID], scope: Scope) -> list[asyncpg.Record]:
    return await session.fetch(
        f"SELECT {ACTION_COLUMNS} {FROM_ACTION} WHERE a.plan_goal_id = ANY($1::uuid[]) AND {VISIBLE} "
        "ORDER BY a.position, a.created_at", list(goal_ids), *scope.args)


async def actions_by_id(session: TenantSession, ids: Sequence[uuid.UUID], scope: Scope) -> list[asyncpg.Record]:
    return await session.fetch(f"SELECT {ACTION_COLUMNS} {FROM_ACTION} WHERE a.id = ANY($1::uuid[]) AND {VISIBLE}",
                               list(ids), *scope.args)


async def open_actions_owned(session: TenantSession, scope: Scope, practitioner_id: uuid.UUID | None,
                             service: str | None, due_by: date | None) -> list[asyncpg.Record]:
    """Open actions (not DONE or DECLINED) owned by the practitioner or their service, in each plan's version in
    force (the AGREED one, else the DRAFT), of young adults the scope sees; ``due_by`` keeps those due by that day."""
    return await session.fetch(
        f"SELECT {ACTION_COLUMNS} {FROM_ACTION} WHERE a.status NOT IN ('DONE', 'DECLINED') "
        "AND (a.owner_id = $4::uuid OR a.owner_service = $5::text) AND ($1::date IS NULL OR a.due_on <= $1) "
        "AND (v.status = 'AGREED' OR (v.status = 'DRAFT' AND NOT EXISTS (SELECT 1 FROM plan_version w "
        f"     WHERE w.plan_id = v.plan_id AND w.status = 'AGREED'))) AND {VISIBLE}",
        due_by, *scope.args, practitioner_id, service)


async def signoffs_for(session: TenantSession, version_ids: Sequence[uuid.UUID], scope: Scope,
                       ) -> list[asyncpg.Record]:
    return await session.fetch(
        "SELECT s.plan_version_id, s.service, s.practitioner_id, s.signed_at FROM plan_signoff s "
        f"JOIN plan_version v ON v.id = s.plan_version_id JOIN integrated_plan p ON p.id = v.plan_id "
        f"WHERE s.plan_version_id = ANY($1::uuid[]) AND {VISIBLE} ORDER BY {SIGNOFF_ORDER.format(t='s')}",
        list(version_ids), *scope.args)


# --- writes --------------------------------------------------------------------------------------------------------

async def insert_plan(session: TenantSession, young_adult_id: uuid.UUID, created_by: str) -> asyncpg.Record:
    """A plan with its first, draft, version."""
    row = await session.fetchrow(
        "WITH p AS (INSERT INTO integrated_plan (young_adult_id) VALUES ($1) RETURNING id, young_adult_id, version), "
        "v AS (INSERT INTO plan_version (plan_id, number, created_by) SELECT id, 1, $2 FROM p) "
        "SELECT id, young_adult_id, version FROM p", young_adult_id, created_by)
    assert row is not None
    return row


async def open_draft(session: TenantSession, plan_id: uuid.UUID) -> uuid.UUID | None:
    draft: uuid.UUID | None = await session.fetchval(
        "SELECT id FROM plan_version WHERE plan_id = $1 AND status = 'DRAFT'", plan_id)
    return draft


async def latest_agreed(session: TenantSession, plan_id: uuid.UUID) -> uuid.UUID | None:
    agreed: uuid.UUID | None = await session.fetchval(
        "SELECT id FROM plan_version WHERE plan_id = $1 AND status = 'AGREED'", plan_id)
    return agreed


async def copy_to_new_draft(session: TenantSession, source_version_id: uuid.UUID, created_by: str) -> uuid.UUID:
    """A new draft version holding copies of the source version's goals and actions (same lineage ids).
    Raises UniqueViolationError if the plan already has an open draft."""
    draft: uuid.UUID = await session.fetchval(
        "WITH src AS (SELECT plan_id FROM plan_version WHERE id = $1), "
        "v AS (INSERT INTO plan_version (plan_id, number, created_by) "
        "      SELECT src.plan_id, (SELECT max(number) + 1 FROM plan_version x WHERE x.plan_id = src.plan_id), $2 "
        "      FROM src RETURNING id), "
        "g AS (INSERT INTO plan_goal (plan_version_id, lineage_id, pathway, description, position) "
        "      SELECT v.id, og.lineage_id, og.pathway, og.description, og.position FROM plan_goal og, v "
        "      WHERE og.plan_version_id = $1 RETURNING id, lineage_id), "
        "a AS (INSERT INTO plan_action (plan_goal_id, lineage_id, description, owner_service, owner_id, due_on, "
        "                               status, position) "
        "      SELECT g.id, oa.lineage_id, oa.description, oa.owner_service, oa.owner_id, oa.due_on, oa.status, "
        "             oa.position FROM plan_action oa JOIN plan_goal og ON og.id = oa.plan_goal_id "
        "      JOIN g ON g.lineage_id = og.lineage_id WHERE og.plan_version_id = $1) "
        "SELECT id FROM v", source_version_id, created_by)
    return draft


async def goal_in_version(session: TenantSession, version_id: uuid.UUID, lineage_id: uuid.UUID) -> uuid.UUID | None:
    found: uuid.UUID | None = await session.fetchval(
        "SELECT id FROM plan_goal WHERE plan_version_id = $1 AND lineage_id = $2", version_id, lineage_id)
    return found


async def action_in_version(session: TenantSession, version_id: uuid.UUID, lineage_id: uuid.UUID,
                            ) -> uuid.UUID | None:
    found: uuid.UUID | None = await session.fetchval(
        "SELECT a.id FROM plan_action a JOIN plan_goal g ON g.id = a.plan_goal_id "
        "WHERE g.plan_version_id = $1 AND a.lineage_id = $2", version_id, lineage_id)
    return found


async def touch_draft(session: TenantSession, version_id: uuid.UUID) -> None:
    """The draft's content changed: a new content version, and sign-offs of the old content no longer count."""
    await session.fetchval(
        "WITH s AS (DELETE FROM plan_signoff WHERE plan_version_id = $1) "
        "UPDATE plan_version SET version = version + 1, updated_at = now() WHERE id = $1 AND status = 'DRAFT' "
        "RETURNING id", version_id)


async def insert_goal(session: TenantSession, version_id: uuid.UUID, pathway: str, description: str,
                      ) -> uuid.UUID:
    goal_id: uuid.UUID = await session.fetchval(
        "INSERT INTO plan_goal (plan_version_id, pathway, description, position) VALUES ($1, $2, $3, "
        "(SELECT coalesce(max(position) + 1, 0) FROM plan_goal WHERE plan_version_id = $1)) RETURNING id",
        version_id, pathway, description)
    return goal_id


async def update_row(session: TenantSession, table: str, row_id: uuid.UUID, version: int | None,
                     changes: dict[str, Any]) -> bool:
    """Apply ``changes`` to a goal or action, checking its version when one is given."""
    assert table in ("plan_goal", "plan_action")
    assert changes
    names = sorted(changes)
    assignments = ", ".join(f"{name} = ${i}" for i, name in enumerate(names, start=3))
    return await session.fetchval(
        f"UPDATE {table} SET {assignments}, version = version + 1, updated_at = now() "
        "WHERE id = $1 AND ($2::integer IS NULL OR version = $2) RETURNING true",
        row_id, version, *(changes[n] for n in names)) is not None


async def delete_goal(session: TenantSession, goal_id: uuid.UUID, version: int | None) -> bool:
    return await session.fetchval(
        "WITH g AS (SELECT id FROM plan_goal WHERE id = $1 AND ($2::integer IS NULL OR version = $2) FOR UPDATE), "
        "a AS (DELETE FROM plan_action WHERE plan_goal_id IN (SELECT id FROM g)) "
        "DELETE FROM plan_goal WHERE id IN (SELECT id FROM g) RETURNING true", goal_id, version) is not None


async def delete_action(session: TenantSession, action_id: uuid.UUID, version: int | None) -> bool:
    return await session.fetchval(
        "DELETE FROM plan_action WHERE id = $1 AND ($2::integer IS NULL OR version = $2) RETURNING true",
        action_id, version) is not None


async def insert_action(session: TenantSession, goal_id: uuid.UUID, values: dict[str, Any]) -> uuid.UUID:
    action_id: uuid.UUID = await session.fetchval(
        "INSERT INTO plan_action (plan_goal_id, description, owner_service, owner_id, due_on, status, position) "
        "VALUES ($1, $2, $3, $4, $5, $6, (SELECT coalesce(max(position) + 1, 0) FROM plan_action "
        "WHERE plan_goal_id = $1)) RETURNING id", goal_id, values["description"], values["owner_service"],
        values.get("owner_id"), values.get("due_on"), values.get("status") or "NOT_STARTED")
    return action_id


async def set_action_status(session: TenantSession, action_id: uuid.UUID, version: int, status: str) -> bool:
    """Progress on an action, on the action and on its copies in the plan's live (agreed and draft) versions."""
    return await session.fetchval(
        "WITH t AS (UPDATE plan_action SET status = $3, version = version + 1, updated_at = now() "
        "           WHERE id = $1 AND version = $2 RETURNING lineage_id, plan_goal_id), "
        "o AS (UPDATE plan_action a SET status = $3, version = a.version + 1, updated_at = now() "
        "      FROM t, plan_goal tg, plan_version tv, plan_goal g, plan_version v "
        "      WHERE tg.id = t.plan_goal_id AND tv.id = tg.plan_version_id AND g.id = a.plan_goal_id "
        "      AND v.id = g.plan_version_id AND v.plan_id = tv.plan_id AND v.status IN ('AGREED', 'DRAFT') "
        "      AND a.lineage_id = t.lineage_id AND a.id <> $1) "
        "SELECT true FROM t", action_id, version, status) is not None


async def lock_version(session: TenantSession, version_id: uuid.UUID) -> asyncpg.Record | None:
    return await session.fetchrow(
        "SELECT id, plan_id, status, version, (SELECT count(*) FROM plan_goal g WHERE g.plan_version_id = v.id) "
        "AS goals FROM plan_version v WHERE id = $1 FOR UPDATE", version_id)


async def insert_signoff(session: TenantSession, version_id: uuid.UUID, service: str,
                         practitioner_id: uuid.UUID | None, signed_by: str) -> list[str]:
    """Record the sign-off; returns every service that has now signed this version."""
    row = await session.fetchrow(
        "WITH s AS (INSERT INTO plan_signoff (plan_version_id, service, practitioner_id, signed_by) "
        "           VALUES ($1, $2, $3, $4) RETURNING service) "
        "SELECT array(SELECT service FROM plan_signoff WHERE plan_version_id = $1 UNION SELECT service FROM s) "
        "AS services", version_id, service, practitioner_id, signed_by)
    assert row is not None
    return list(row["services"])


async def agree(session: TenantSession, version_id: uuid.UUID, plan_id: uuid.UUID) -> None:
    """The version is agreed; the previously agreed one is superseded."""
    await session.fetchval(
        "WITH old AS (UPDATE plan_version SET status = 'SUPERSEDED', updated_at = now() "
        "             WHERE plan_id = $2 AND status = 'AGREED') "
        "UPDATE plan_version SET status = 'AGREED', agreed_at = now(), updated_at = now() WHERE id = $1 "
        "RETURNING id", version_id, plan_id)
