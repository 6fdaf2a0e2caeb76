"""SQL for young adults, their enrolments and status history, the caseload and the timeline.

Every statement that reads a young adult, or anything hanging off one, filters with
:func:`service.kernel.visibility.visible` in the database; the scope is passed as two parameters (or, for the
caseload a compiled statement answers, as two SQL expressions over the scope it works out itself).
"""

from __future__ import annotations

import enum
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

import asyncpg

from service.kernel.session import TenantSession
from service.kernel.visibility import Scope, visible_to, visible_young_adult
from service.people.repository import ENROLMENT_COLUMNS, YOUNG_ADULT_COLUMNS

UPDATABLE = ("given_name", "family_name", "date_of_birth", "prison_number", "probation_crn", "la_reference",
             "care_status", "responsible_local_authority", "entitlement_end_age")


class CaseloadOrder(enum.Enum):
    """Sort keys, as SQL over a young adult ``{ya}`` and its current custody ``{c}``; the id breaks ties."""

    NAME = "{ya}.family_name, {ya}.given_name, {ya}.id"
    EARLIEST_RELEASE_DATE = ("coalesce({c}.earliest_release_date, 'infinity'::date), "
                             "{ya}.family_name, {ya}.given_name, {ya}.id")


@dataclass(frozen=True, slots=True)
class CaseloadFilter:
    site_id: uuid.UUID | None = None
    status: str | None = None
    release_from: date | None = None
    release_to: date | None = None
    name_words: tuple[str, ...] = ()
    on_my_team: bool = False


# The young adult's current custody episode: the latest reception.
CURRENT_CUSTODY = ("LEFT JOIN LATERAL (SELECT ce.earliest_release_date FROM custody_episode ce "
                   "WHERE ce.young_adult_id = {ya}.id ORDER BY ce.reception_date DESC, ce.created_at DESC LIMIT 1) "
                   "{c} ON true")


def _like(word: str) -> str:
    return "%" + word.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


def caseload_query(scope: Scope | tuple[str, str], where: CaseloadFilter, order: CaseloadOrder,
                   after: uuid.UUID | None, limit: int, columns: str = YOUNG_ADULT_COLUMNS) -> tuple[str, list[Any]]:
    """A page of the young adults the scope sees, filtered and in ``order`` (keyset pagination after a row id),
    as SQL and its parameters; ``ord`` is each row's position. Shared by the resolver and the compiled caseload.
    The scope is passed as the first two parameters, or given as two SQL expressions (site ids, the caller's
    practitioner id) that a statement holding this one works out itself.

    The statement holds only the conditions the filter sets (not ``$n IS NULL OR …`` for each one it might set),
    and reaches the current custody only when the order or a release date needs it: PostgreSQL then plans a
    smaller statement, and the plan it prepares once for it is as good as one made for each request's values
    (measured, bench/caseload.py). A handful of statements at most, each prepared once per connection."""
    params: list[Any] = []
    if isinstance(scope, Scope):
        params += scope.args
        sites, me = "$1::uuid[]", "$2::uuid"
    else:
        sites, me = scope

    def param(value: Any, cast: str) -> str:
        params.append(value)
        return f"${len(params)}::{cast}"

    custody = "{c}" in order.value or where.release_from is not None or where.release_to is not None
    key = order.value.format(ya="ya", c="c")
    conditions = [visible_to("ya", sites, me)]
    enrolled = ([f"e.site_id = {param(where.site_id, 'uuid')}"] if where.site_id is not None else []) + \
        ([f"e.status = {param(where.status, 'text')}"] if where.status is not None else [])
    if enrolled:
        conditions.append(f"EXISTS (SELECT 1 FROM enrolment e WHERE e.young_adult_id = ya.id AND "
                          f"{' AND '.join(enrolled)})")
    if where.release_from is not None:
        conditions.append(f"c.earliest_release_date >= {param(where.release_from, 'date')}")
    if where.release_to is not None:
        conditions.append(f"c.earliest_release_date <= {param(where.release_to, 'date')}")
    for word in where.name_words:
        pattern = param(_like(word), "text")
        conditions.append(f"(ya.given_name ILIKE {pattern} OR ya.family_name ILIKE {pattern})")
    if where.on_my_team:
        conditions.append("EXISTS (SELECT 1 FROM team_member t WHERE t.young_adult_id = ya.id "
                          f"AND t.practitioner_id = {me} AND t.ended_on IS NULL)")
    if after is not None:
        cursor_key = order.value.format(ya="cya", c="cc")
        cursor_custody = f" {CURRENT_CUSTODY.format(ya='cya', c='cc')}" if "{c}" in order.value else ""
        conditions.append(f"({key}) > (SELECT {cursor_key} FROM young_adult cya{cursor_custody} "
                          f"WHERE cya.id = {param(after, 'uuid')})")
    joined = f" {CURRENT_CUSTODY.format(ya='ya', c='c')}" if custody else ""
    sql = (f"SELECT {columns}, row_number() OVER (ORDER BY {key}) AS ord FROM young_adult ya{joined} "
           f"WHERE {' AND '.join(conditions)} ORDER BY {key} LIMIT {param(limit, 'int')}")
    return sql, params


async def caseload(session: TenantSession, scope: Scope, where: CaseloadFilter, order: CaseloadOrder,
                   after: uuid.UUID | None, limit: int) -> list[asyncpg.Record]:
    sql, params = caseload_query(scope, where, order, after, limit)
    return await session.fetch(sql, *params)


async def insert_young_adult(session: TenantSession, fields: dict[str, Any]) -> asyncpg.Record:
    row = await session.fetchrow(
        "INSERT INTO young_adult AS ya (given_name, family_name, date_of_birth, prison_number, probation_crn, "
        "la_reference, care_status, responsible_local_authority, entitlement_end_age) "
        f"VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING {YOUNG_ADULT_COLUMNS}",
        fields["given_name"], fields["family_name"], fields["date_of_birth"], fields.get("prison_number"),
        fields.get("probation_crn"), fields.get("la_reference"), fields["care_status"],
        fields.get("responsible_local_authority"), fields.get("entitlement_end_age", 25))
    assert row is not None
    return row


async def update_young_adult(session: TenantSession, young_adult_id: uuid.UUID, version: int,
                             changes: dict[str, Any]) -> asyncpg.Record | None:
    """Apply ``changes`` if the stored version is ``version``; None when it is not (or the row is gone)."""
    assert changes
    assert set(changes) <= {*UPDATABLE, "access_restricted"}
    names = sorted(changes)
    assignments = ", ".join(f"{name} = ${i}" for i, name in enumerate(names, start=3))
    return await session.fetchrow(
        f"UPDATE young_adult AS ya SET {assignments}, version = version + 1, updated_at = now() "
        f"WHERE id = $1 AND version = $2 RETURNING {YOUNG_ADULT_COLUMNS}",
        young_adult_id, version, *(changes[n] for n in names))


async def insert_enrolment(session: TenantSession, young_adult_id: uuid.UUID, site_id: uuid.UUID,
                           identified_on: date) -> asyncpg.Record:
    row = await session.fetchrow(
        f"INSERT INTO enrolment AS e (young_adult_id, site_id, identified_on) VALUES ($1, $2, $3) "
        f"RETURNING {ENROLMENT_COLUMNS}", young_adult_id, site_id, identified_on)
    assert row is not None
    return row


async def enrolments_by_id(session: TenantSession, ids: Sequence[uuid.UUID], scope: Scope) -> list[asyncpg.Record]:
    return await session.fetch(
        f"SELECT {ENROLMENT_COLUMNS} FROM enrolment e WHERE e.id = ANY($1::uuid[]) "
        f"AND {visible_young_adult('e.young_adult_id', 2)}", list(ids), *scope.args)


async def change_enrolment_status(session: TenantSession, enrolment_id: uuid.UUID, version: int, status: str,
                                  changed_on: date, changed_by: str, reason: str | None) -> asyncpg.Record | None:
    """Move an enrolment to ``status`` and record the change, if the stored version is ``version``."""
    return await session.fetchrow(
        "WITH e AS (UPDATE enrolment SET status = $3, version = version + 1, updated_at = now(), "
        "    referred_on = CASE WHEN $3 = 'REFERRED' THEN $4 ELSE referred_on END, "
        "    consented_on = CASE WHEN $3 = 'CONSENTED' THEN $4 ELSE consented_on END, "
        "    exited_on = CASE WHEN $3 = 'EXITED' THEN $4 ELSE exited_on END, "
        "    exit_reason = CASE WHEN $3 = 'EXITED' THEN $6 ELSE exit_reason END "
        "  WHERE id = $1 AND version = $2 "
        "  RETURNING id, young_adult_id, site_id, status, identified_on, referred_on, consented_on, exited_on, "
        "            exit_reason, version), "
        "h AS (INSERT INTO enrolment_status_change (enrolment_id, status, changed_on, changed_by, reason) "
        "      SELECT id, $3, $4, $5, $6 FROM e) "
        f"SELECT {ENROLMENT_COLUMNS} FROM e",
        enrolment_id, version, status, changed_on, changed_by, reason)


async def last_status_change(session: TenantSession, enrolment_id: uuid.UUID) -> date | None:
    changed_on: date | None = await session.fetchval(
        "SELECT max(changed_on) FROM enrolment_status_change WHERE enrolment_id = $1", enrolment_id)
    return changed_on


async def status_changes_for(session: TenantSession, enrolment_ids: Sequence[uuid.UUID], scope: Scope,
                             ) -> list[asyncpg.Record]:
    return await session.fetch(
        "SELECT h.id, h.enrolment_id, h.status, h.changed_on, h.reason FROM enrolment_status_change h "
        "JOIN enrolment e ON e.id = h.enrolment_id WHERE h.enrolment_id = ANY($1::uuid[]) "
        f"AND {visible_young_adult('e.young_adult_id', 2)} ORDER BY {STATUS_CHANGE_ORDER.format(t='h')}",
        list(enrolment_ids), *scope.args)


# Orders (over the alias {t}), shared with the declarations (model.py): total, so both executors list alike.
STATUS_CHANGE_ORDER = "{t}.changed_on, {t}.created_at, {t}.id"
TEAM_ORDER = "{t}.started_on, {t}.created_at, {t}.id"


# What happened to a record, one SELECT per source: (young adult, day, exact time for ordering, kind, subject type,
# subject id, detail). A feature that adds events to the record adds a source here.
TIMELINE_SOURCES = (
    "SELECT e.young_adult_id, e.identified_on, e.created_at, 'ENROLMENT_IDENTIFIED', 'Enrolment', e.id, s.code "
    "FROM enrolment e JOIN site s ON s.id = e.site_id",
    "SELECT e.young_adult_id, h.changed_on, h.created_at, 'ENROLMENT_STATUS_CHANGED', 'Enrolment', e.id, h.status "
    "FROM enrolment_status_change h JOIN enrolment e ON e.id = h.enrolment_id",
    "SELECT young_adult_id, started_on, created_at, 'TEAM_MEMBER_JOINED', 'TeamMember', id, team_role "
    "FROM team_member",
    "SELECT young_adult_id, ended_on, updated_at, 'TEAM_MEMBER_LEFT', 'TeamMember', id, team_role "
    "FROM team_member WHERE ended_on IS NOT NULL",
    "SELECT young_adult_id, reception_date, created_at, 'CUSTODY_RECEPTION', 'CustodyEpisode', id, sentence_type "
    "FROM custody_episode",
    "SELECT young_adult_id, actual_release_date, updated_at, 'RELEASED', 'CustodyEpisode', id, release_type "
    "FROM custody_episode WHERE actual_release_date IS NOT NULL",
    "SELECT c.young_adult_id, r.recalled_on, r.created_at, 'RECALLED', 'CustodyEpisode', c.id, NULL "
    "FROM recall_event r JOIN custody_episode c ON c.id = r.custody_episode_id",
    "SELECT young_adult_id, assessed_on, created_at, 'ASSESSMENT_RECORDED', 'Assessment', id, source "
    "FROM assessment",
    "SELECT p.young_adult_id, v.created_at::date, v.created_at, 'PLAN_VERSION_STARTED', 'PlanVersion', v.id, "
    "v.number::text FROM plan_version v JOIN integrated_plan p ON p.id = v.plan_id",
    "SELECT p.young_adult_id, s.signed_at::date, s.signed_at, 'PLAN_SIGNED_OFF', 'PlanVersion', v.id, s.service "
    "FROM plan_signoff s JOIN plan_version v ON v.id = s.plan_version_id JOIN integrated_plan p ON p.id = v.plan_id",
    "SELECT p.young_adult_id, v.agreed_at::date, v.agreed_at, 'PLAN_AGREED', 'PlanVersion', v.id, v.number::text "
    "FROM plan_version v JOIN integrated_plan p ON p.id = v.plan_id WHERE v.agreed_at IS NOT NULL",
    "SELECT young_adult_id, held_on, created_at, 'MEETING_HELD', 'Meeting', id, kind FROM meeting",
)


_TIMELINE_COLUMNS = "young_adult_id, occurred_on, recorded_at, kind, subject_type, subject_id, detail"
# Every source's entries as one relation (read by the resolvers below and, as TimelineEntry's rows, by compiled
# statements), with the columns above and ``source``, the source's position, which breaks ties so that a plan's last
# sign-off comes before its agreement (TIMELINE_ORDER; the subject and detail make it total).
TIMELINE = "(SELECT * FROM ({}) AS u ({}, source))".format(
    " UNION ALL ".join(f"SELECT {_TIMELINE_COLUMNS}, {i} FROM ({source}) AS s ({_TIMELINE_COLUMNS})"
                       for i, source in enumerate(TIMELINE_SOURCES)), _TIMELINE_COLUMNS)
TIMELINE_ORDER = "{t}.occurred_on, {t}.recorded_at, {t}.source, {t}.subject_id, {t}.detail"


async def timelines(session: TenantSession, young_adult_ids: Sequence[uuid.UUID], scope: Scope,
                    ) -> list[asyncpg.Record]:
    """The timelines of several young adults, each in the order things happened (by day, then by when recorded)."""
    return await session.fetch(
        "SELECT t.young_adult_id, t.occurred_on, t.kind, t.subject_type, t.subject_id, t.detail "
        f"FROM {TIMELINE} AS t "
        f"WHERE t.young_adult_id = ANY($1::uuid[]) AND {visible_young_adult('t.young_adult_id', 2)} "
        f"ORDER BY t.young_adult_id, {TIMELINE_ORDER.format(t='t')}",
        list(young_adult_ids), *scope.args)


TEAM_COLUMNS = "t.id, t.young_adult_id, t.practitioner_id, t.team_role, t.started_on, t.ended_on, t.version"


async def team_members_for(session: TenantSession, young_adult_ids: Sequence[uuid.UUID], scope: Scope,
                           current_only: bool) -> list[asyncpg.Record]:
    return await session.fetch(
        f"SELECT {TEAM_COLUMNS} FROM team_member t WHERE t.young_adult_id = ANY($1::uuid[]) "
        f"AND ($4::boolean IS FALSE OR t.ended_on IS NULL) AND {visible_young_adult('t.young_adult_id', 2)} "
        f"ORDER BY {TEAM_ORDER.format(t='t')}", list(young_adult_ids), *scope.args, current_only)


async def team_members_by_id(session: TenantSession, ids: Sequence[uuid.UUID], scope: Scope,
                             ) -> list[asyncpg.Record]:
    return await session.fetch(
        f"SELECT {TEAM_COLUMNS} FROM team_member t WHERE t.id = ANY($1::uuid[]) "
        f"AND {visible_young_adult('t.young_adult_id', 2)}", list(ids), *scope.args)


async def on_team(session: TenantSession, young_adult_id: uuid.UUID, practitioner_id: uuid.UUID | None) -> bool:
    return bool(await session.fetchval(
        "SELECT EXISTS (SELECT 1 FROM team_member WHERE young_adult_id = $1 AND practitioner_id = $2 "
        "AND ended_on IS NULL)", young_adult_id, practitioner_id))


async def insert_team_member(session: TenantSession, young_adult_id: uuid.UUID, practitioner_id: uuid.UUID,
                             team_role: str, started_on: date) -> asyncpg.Record:
    row = await session.fetchrow(
        "INSERT INTO team_member AS t (young_adult_id, practitioner_id, team_role, started_on) "
        f"VALUES ($1, $2, $3, $4) RETURNING {TEAM_COLUMNS}", young_adult_id, practitioner_id, team_role, started_on)
    assert row is not None
    return row


async def end_team_member(session: TenantSession, member_id: uuid.UUID, version: int, ended_on: date,
                          ) -> asyncpg.Record | None:
    return await session.fetchrow(
        "UPDATE team_member AS t SET ended_on = $3, version = version + 1, updated_at = now() "
        f"WHERE id = $1 AND version = $2 AND ended_on IS NULL RETURNING {TEAM_COLUMNS}", member_id, version, ended_on)
