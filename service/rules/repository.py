"""SQL for practice rules (control plane) and for the case facts due items are computed from (tenant schema).

Control-plane statements run through the request's control-plane session (the app login role may read the rule
tables and insert new versions, never change or delete one); onboarding writes a template's batch on the admin
connection, or on the connection provisioning the tenant — SQLAlchemy's, whose driver has a jsonb codec of its own,
so the two statements onboarding runs pass jsonb as text both ways. Case facts run in the request's tenant session,
one statement for any number of young adults.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterable, Sequence
from datetime import date
from typing import Any

import asyncpg

from service.kernel.session import Statements, TenantSession
from service.kernel.visibility import Scope, visible_young_adult

CHANGE_COLUMNS = "id, batch_id, site_code, rule, value, effective_from, author_subject, reason, created_at"


def decode(value: str | None) -> Any:
    """asyncpg hands jsonb over as text."""
    return None if value is None else json.loads(value)


# For each (level, rule) of the tenant ``{tenant}``, the latest change effective on or before ``{on}`` (SQL
# expressions): read on its own (changes_in_force) or inside the request's grant lookup (service.app.auth).
CHANGES_IN_FORCE = (f"SELECT DISTINCT ON (site_code, rule) {CHANGE_COLUMNS} FROM control.rule_change "
                    "WHERE tenant_id = {tenant} AND effective_from <= {on} "
                    "ORDER BY site_code, rule, effective_from DESC, created_at DESC, id DESC")


async def changes_in_force(conn: Statements, tenant_id: uuid.UUID, on: date) -> list[asyncpg.Record]:
    """For each (level, rule) of the tenant, the latest change effective on or before ``on``."""
    return await conn.fetch(CHANGES_IN_FORCE.format(tenant="$1", on="$2"), tenant_id, on)


def changes_of_tuples(rows: Iterable[Sequence[Any]]) -> list[dict[str, Any]]:
    """:data:`CHANGES_IN_FORCE`'s rows read as an array of anonymous records (tuples, in CHANGE_COLUMNS' order), as
    the rows :func:`changes_in_force` answers."""
    names = CHANGE_COLUMNS.split(", ")
    return [dict(zip(names, row, strict=True)) for row in rows]


async def history(conn: Statements, tenant_id: uuid.UUID, rule: str | None, site_code: str | None,
                  after: uuid.UUID | None, limit: int) -> list[asyncpg.Record]:
    """Changes newest first (keyset on created_at, id); ``site_code`` filters to one site's overrides."""
    return await conn.fetch(
        f"SELECT {CHANGE_COLUMNS} FROM control.rule_change c WHERE tenant_id = $1 "
        "AND ($2::text IS NULL OR rule = $2) AND ($3::text IS NULL OR site_code = $3) "
        "AND ($4::uuid IS NULL OR (created_at, id) < "
        "    (SELECT p.created_at, p.id FROM control.rule_change p WHERE p.id = $4 AND p.tenant_id = $1)) "
        "ORDER BY created_at DESC, id DESC LIMIT $5", tenant_id, rule, site_code, after, limit)


async def batch(conn: Statements, tenant_id: uuid.UUID, batch_id: uuid.UUID) -> list[asyncpg.Record]:
    return await conn.fetch(f"SELECT {CHANGE_COLUMNS} FROM control.rule_change WHERE tenant_id = $1 AND batch_id = $2 "
                            "ORDER BY site_code NULLS FIRST, rule", tenant_id, batch_id)


async def insert_batch(q: Statements, tenant_id: uuid.UUID, batch_id: uuid.UUID, effective_from: date, author: str,
                       reason: str, changes: Sequence[tuple[str | None, str, Any]]) -> None:
    """Write a batch of (site_code, rule, value) changes; the caller's transaction makes it all or nothing."""
    await q.executemany(
        "INSERT INTO control.rule_change (batch_id, tenant_id, site_code, rule, value, effective_from, "
        "author_subject, reason) VALUES ($1, $2, $3, $4, $5::text::jsonb, $6, $7, $8)",
        [(batch_id, tenant_id, site, rule, None if value is None else json.dumps(value), effective_from, author,
          reason) for site, rule, value in changes])


async def template_values(q: Statements, name: str) -> dict[str, Any] | None:
    value = await q.fetchval("SELECT rule_values::text FROM control.rule_template WHERE name = $1", name)
    return None if value is None else dict(decode(value))


def governing(day: str, where: str) -> str:
    """SQL (a CTE body) giving each young adult's governing site on the day in parameter ``day`` — the one rule,
    used by due items and by every feature that enforces a practice rule:

    among the enrolments current on that day (identified on or before it, not exited by it), the one that the
    latest site transfer effective on or before the day brought in; with no such transfer, the earliest-identified
    (the site that brought them in); ties by when the enrolment was recorded, then its id. Never by site code.
    ``where`` adds conditions on the enrolment ``e``."""
    return f"""
    SELECT DISTINCT ON (e.young_adult_id) e.young_adult_id, e.site_id, s.code AS site_code, e.identified_on,
           e.consented_on
    FROM enrolment e JOIN site s ON s.id = e.site_id
    LEFT JOIN site_transfer st ON st.to_enrolment_id = e.id AND st.effective_on <= {day}
    WHERE e.identified_on <= {day} AND (e.status <> 'EXITED' OR e.exited_on > {day}) AND {where}
    ORDER BY e.young_adult_id, st.effective_on DESC NULLS LAST, st.created_at DESC NULLS LAST, e.identified_on,
             e.created_at, e.id"""


def governing_site_code(young_adult: str, day: str) -> str:
    """SQL: the code of the governing site (see :func:`governing`) of the young adult named by the SQL
    ``young_adult`` on the SQL date ``day``, or null."""
    return f"(SELECT g.site_code FROM ({governing(day, f'e.young_adult_id = {young_adult}')}) AS g)"


async def governing_site_codes(session: TenantSession, young_adult_ids: Sequence[uuid.UUID], on: date,
                               ) -> dict[uuid.UUID, str]:
    """Each young adult's governing site on ``on`` (see :func:`governing`)."""
    rows = await session.fetch(
        f"WITH g AS ({governing('$2::date', 'e.young_adult_id = ANY($1::uuid[])')}) SELECT young_adult_id, site_code "
        "FROM g", list(young_adult_ids), on)
    return {r["young_adult_id"]: r["site_code"] for r in rows}


async def site_codes(session: TenantSession) -> set[str]:
    return {r["code"] for r in await session.fetch("SELECT code FROM site")}


# One row per young adult with a current enrolment on the day ($6), the facts every due item needs, at their
# governing site (see governing()).
_PICKED = ("($1::uuid[] IS NULL OR e.young_adult_id = ANY($1::uuid[])) "
           "AND ($2::uuid IS NULL OR e.young_adult_id IN "
           "     (SELECT a.young_adult_id FROM enrolment a WHERE a.site_id = $2)) "
           f"AND {visible_young_adult('e.young_adult_id', 4)}")
FACTS = f"""
WITH governing AS ({governing("$6::date", _PICKED)}
)
SELECT g.young_adult_id, ya.family_name, ya.given_name, g.site_id, g.site_code, g.identified_on, g.consented_on,
       ce.id AS episode_id, ce.reception_date, ce.earliest_release_date, ce.handover_date, ce.actual_release_date,
       ce.led,
       (SELECT min(m.held_on) FROM meeting m WHERE m.young_adult_id = g.young_adult_id
          AND m.kind = 'INTEGRATED_PLANNING' AND m.held_on >= g.consented_on) AS first_planning_on,
       greatest((SELECT max(m.held_on) FROM meeting m WHERE m.young_adult_id = g.young_adult_id
                   AND m.kind IN ('INTEGRATED_PLANNING', 'THREE_WAY', 'REVIEW')),
                (SELECT max(pv.agreed_at)::date FROM plan_version pv JOIN integrated_plan ip ON ip.id = pv.plan_id
                   WHERE ip.young_adult_id = g.young_adult_id)) AS last_review_on,
       EXISTS (SELECT 1 FROM meeting m WHERE m.young_adult_id = g.young_adult_id AND m.kind = 'PRE_RELEASE'
                 AND m.held_on >= ce.reception_date) AS pre_release_held,
       (SELECT max(m.held_on) FROM meeting m JOIN meeting_attendee ma ON ma.meeting_id = m.id
          JOIN practitioner p ON p.id = ma.practitioner_id
          WHERE m.young_adult_id = g.young_adult_id AND p.role = 'PERSONAL_ADVISER') AS last_pa_visit_on,
       (SELECT h.checklist FROM handover h WHERE h.young_adult_id = g.young_adult_id
          AND (ce.id IS NULL OR h.custody_episode_id IS NULL OR h.custody_episode_id = ce.id)
          ORDER BY h.handed_over_on DESC, h.created_at DESC LIMIT 1) AS handover_checklist,
       (SELECT min(l.referred_on) FROM lifelong_links_case l WHERE l.young_adult_id = g.young_adult_id)
          AS lifelong_links_referred_on,
       (SELECT max(c.granted_on) FROM consent c WHERE c.young_adult_id = g.young_adult_id
          AND c.network_member_id IS NULL AND c.purpose = 'PARTICIPATION' AND c.withdrawn_on IS NULL)
          AS consent_granted_on,
       (SELECT coalesce(array_agg(o.time_point), '{{}}') FROM outcome_observation o
          WHERE o.custody_episode_id = ce.id) AS outcome_points,
       (SELECT count(*) FROM network_member n WHERE n.young_adult_id = g.young_adult_id
          AND n.status IN ('COMMITTED', 'ACTIVE')) AS committed_members
FROM governing g
JOIN young_adult ya ON ya.id = g.young_adult_id
LEFT JOIN LATERAL (
    SELECT c.id, c.reception_date, c.earliest_release_date, c.handover_date, c.actual_release_date, c.led
    FROM custody_episode c WHERE c.young_adult_id = g.young_adult_id
    ORDER BY c.reception_date DESC, c.created_at DESC LIMIT 1
) ce ON true
WHERE ($3::uuid IS NULL OR g.site_id = $3)
"""


async def case_facts(session: TenantSession, on: date, *, young_adult_ids: Sequence[uuid.UUID] | None = None,
                     enrolled_at: uuid.UUID | None = None, governed_by: uuid.UUID | None = None,
                     scope: Scope | None = None) -> list[asyncpg.Record]:
    """Facts on day ``on`` for the young adults picked by id, by any enrolment at a site, or by governing site;
    always limited to those ``scope`` may see (see service.kernel.visibility) when it is given (None: the whole
    tenant)."""
    return await session.fetch(
        FACTS, None if young_adult_ids is None else list(young_adult_ids), enrolled_at, governed_by,
        *(scope or Scope(None)).args, on)
