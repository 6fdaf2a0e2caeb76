"""SQL for the Lifelong Links case and the support network. Runs inside the caller's tenant session only.

Visibility follows the young adult: every read of cases, members, commitments and meetings applies the central
predicate of service.kernel.visibility to the young adult its type's declaration (service/network/model.py) names,
by :func:`service.api.model.rows_visible`, whether it starts from the rows' ids or from their young adults, members
or goals (parameters ``$2`` and ``$3``, or ``$3`` and ``$4``, carry the caller's scope).
Members' contact details (phone, email, address) are never selected with the member: only
:func:`member_contacts` reads them, by the need-to-know rule of the member's declaration.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import date
from typing import Any

import asyncpg

from service.api.model import rows_visible
from service.kernel.session import TenantSession
from service.kernel.visibility import Scope
from service.network.model import (
    CASE,
    COMMITMENT,
    COMMITMENT_ORDER,
    CURRENT_CASE_ORDER,
    MEETING,
    MEETING_KIND,
    MEMBER,
    MEMBER_ORDER,
    NETWORK_MEETING_ORDER,
)
from service.people.repository import CONTACT_CONSENT

CASE_COLUMNS = ("c.id, c.young_adult_id, c.coordinator_id, c.stage, c.referred_on, c.connection_score_start, "
                "c.connection_score_follow_up, c.version")
MEMBER_COLUMNS = (
    "m.id, m.young_adult_id, m.case_id, m.given_name, m.family_name, m.relationship, m.relationship_detail, "
    "m.known_before, m.status, m.vetting_outcome, m.privacy_notice_on, m.version, "
    "(SELECT min(s.changed_on) FROM network_member_status_change s WHERE s.member_id = m.id "
    " AND s.status = 'IDENTIFIED') AS identified_on, "
    f"{CONTACT_CONSENT} AS contact_consent")
OBJECTIVE_COLUMNS = "o.id, o.case_id, o.description, o.met, o.assessed_on, o.version"
COMMITMENT_COLUMNS = ("n.id, n.member_id, n.goal_lineage_id, n.action_lineage_id, n.description, n.starts_on, "
                      "n.ends_on, n.status, n.version, m.young_adult_id")
MEETING_COLUMNS = "g.id, g.young_adult_id, g.held_on, g.outcome, g.version"


# --- the caller ---------------------------------------------------------------------------------------------------

async def practitioner_id_for_subject(session: TenantSession, subject: str) -> uuid.UUID | None:
    value = await session.fetchval("SELECT id FROM practitioner WHERE subject = $1", subject)
    return value if isinstance(value, uuid.UUID) else None


async def is_coordinator_at(session: TenantSession, practitioner_id: uuid.UUID, site_ids: Sequence[uuid.UUID],
                            ) -> bool:
    return bool(await session.fetchval(
        "SELECT EXISTS (SELECT 1 FROM practitioner p JOIN practitioner_site ps ON ps.practitioner_id = p.id "
        "WHERE p.id = $1 AND ps.site_id = ANY($2::uuid[]) AND p.role = 'LIFELONG_LINKS_COORDINATOR')",
        practitioner_id, list(site_ids)))


async def is_personal_adviser(session: TenantSession, young_adult_id: uuid.UUID, practitioner_id: uuid.UUID,
                              ) -> bool:
    return bool(await session.fetchval(
        "SELECT EXISTS (SELECT 1 FROM team_member WHERE young_adult_id = $1 AND practitioner_id = $2 "
        "AND team_role = 'PERSONAL_ADVISER' AND ended_on IS NULL)", young_adult_id, practitioner_id))


async def existing_practitioners(session: TenantSession, ids: Sequence[uuid.UUID]) -> set[uuid.UUID]:
    rows = await session.fetch("SELECT id FROM practitioner WHERE id = ANY($1::uuid[])", list(ids))
    return {r["id"] for r in rows}


# --- the Lifelong Links case ------------------------------------------------------------------------------------

async def cases_by_id(session: TenantSession, ids: Sequence[uuid.UUID], scope: Scope,
                      ) -> list[asyncpg.Record]:
    return await session.fetch(
        f"SELECT {CASE_COLUMNS} FROM lifelong_links_case c WHERE c.id = ANY($1::uuid[]) "
        f"AND {rows_visible(CASE, 'c', 2)}",
        list(ids), *scope.args)


async def current_cases(session: TenantSession, young_adult_ids: Sequence[uuid.UUID], scope: Scope,
                        ) -> list[asyncpg.Record]:
    """Each young adult's open case, else their most recently referred one (of the young adults in scope)."""
    return await session.fetch(
        f"SELECT DISTINCT ON (c.young_adult_id) {CASE_COLUMNS} FROM lifelong_links_case c "
        f"WHERE c.young_adult_id = ANY($1::uuid[]) AND {rows_visible(CASE, 'c', 2)} "
        f"ORDER BY c.young_adult_id, {CURRENT_CASE_ORDER.format(t='c')}", list(young_adult_ids), *scope.args)


async def open_case_exists(session: TenantSession, young_adult_id: uuid.UUID) -> bool:
    return bool(await session.fetchval(
        "SELECT EXISTS (SELECT 1 FROM lifelong_links_case WHERE young_adult_id = $1 AND stage <> 'CLOSED')",
        young_adult_id))


async def insert_case(session: TenantSession, young_adult_id: uuid.UUID, coordinator_id: uuid.UUID | None,
                      referred_on: date, changed_by: str) -> asyncpg.Record:
    row = await session.fetchrow(
        "WITH c AS (INSERT INTO lifelong_links_case (young_adult_id, coordinator_id, referred_on) "
        f"VALUES ($1, $2, $3) RETURNING {CASE_COLUMNS.replace('c.', '')}), "
        "s AS (INSERT INTO lifelong_links_stage_change (case_id, stage, entered_on, changed_by) "
        "      SELECT id, 'REFERRED', referred_on, $4 FROM c) "
        f"SELECT {CASE_COLUMNS} FROM c", young_adult_id, coordinator_id, referred_on, changed_by)
    assert row is not None
    return row


async def enrol_at_referral(session: TenantSession, young_adult_id: uuid.UUID, site_id: uuid.UUID,
                            referred_on: date, changed_by: str) -> None:
    """Enrol the young adult at the Lifelong Links service as REFERRED (kept as it is if already enrolled there)."""
    await session.fetchval(
        "WITH e AS (INSERT INTO enrolment (young_adult_id, site_id, status, identified_on, referred_on) "
        "           VALUES ($1, $2, 'REFERRED', $3, $3) ON CONFLICT (young_adult_id, site_id) DO NOTHING "
        "           RETURNING id) "
        "INSERT INTO enrolment_status_change (enrolment_id, status, changed_on, changed_by) "
        "SELECT id, 'REFERRED', $3, $4 FROM e RETURNING id", young_adult_id, site_id, referred_on, changed_by)


async def update_case(session: TenantSession, case_id: uuid.UUID, version: int, changes: dict[str, Any],
                      ) -> asyncpg.Record | None:
    allowed = {"coordinator_id", "connection_score_start", "connection_score_follow_up", "stage"}
    assert changes
    assert set(changes) <= allowed
    names = sorted(changes)
    assignments = ", ".join(f"{name} = ${i}" for i, name in enumerate(names, start=3))
    return await session.fetchrow(
        f"UPDATE lifelong_links_case AS c SET {assignments}, version = version + 1, updated_at = now() "
        f"WHERE id = $1 AND version = $2 RETURNING {CASE_COLUMNS}", case_id, version, *(changes[n] for n in names))


async def stage_changes(session: TenantSession, case_ids: Sequence[uuid.UUID]) -> list[asyncpg.Record]:
    return await session.fetch(
        "SELECT case_id, stage, entered_on FROM lifelong_links_stage_change WHERE case_id = ANY($1::uuid[]) "
        "ORDER BY entered_on, created_at", list(case_ids))


async def insert_stage_change(session: TenantSession, case_id: uuid.UUID, stage: str, entered_on: date,
                              changed_by: str) -> None:
    await session.fetchval(
        "INSERT INTO lifelong_links_stage_change (case_id, stage, entered_on, changed_by) VALUES ($1, $2, $3, $4) "
        "RETURNING case_id", case_id, stage, entered_on, changed_by)


async def meeting_held(session: TenantSession, young_adult_id: uuid.UUID, since: date, until: date) -> bool:
    return bool(await session.fetchval(
        "SELECT EXISTS (SELECT 1 FROM meeting WHERE young_adult_id = $1 AND kind = 'LIFELONG_LINKS' "
        "AND held_on BETWEEN $2 AND $3)", young_adult_id, since, until))


async def active_commitment_exists(session: TenantSession, young_adult_id: uuid.UUID) -> bool:
    return bool(await session.fetchval(
        "SELECT EXISTS (SELECT 1 FROM network_commitment n JOIN network_member m ON m.id = n.member_id "
        "WHERE m.young_adult_id = $1 AND n.status = 'ACTIVE')", young_adult_id))


# --- objectives -------------------------------------------------------------------------------------------------

async def objectives_of(session: TenantSession, case_ids: Sequence[uuid.UUID]) -> list[asyncpg.Record]:
    return await session.fetch(
        f"SELECT {OBJECTIVE_COLUMNS} FROM lifelong_links_objective o WHERE o.case_id = ANY($1::uuid[]) "
        "ORDER BY o.created_at, o.id", list(case_ids))


async def objectives_by_id(session: TenantSession, ids: Sequence[uuid.UUID]) -> list[asyncpg.Record]:
    """Objectives by id, without visibility: callers check the objective's case."""
    return await session.fetch(
        f"SELECT {OBJECTIVE_COLUMNS} FROM lifelong_links_objective o WHERE o.id = ANY($1::uuid[])", list(ids))


async def insert_objective(session: TenantSession, case_id: uuid.UUID, description: str) -> asyncpg.Record:
    row = await session.fetchrow(
        "INSERT INTO lifelong_links_objective AS o (case_id, description) VALUES ($1, $2) "
        f"RETURNING {OBJECTIVE_COLUMNS}", case_id, description)
    assert row is not None
    return row


async def assess_objective(session: TenantSession, objective_id: uuid.UUID, version: int, met: bool,
                           assessed_on: date) -> asyncpg.Record | None:
    return await session.fetchrow(
        "UPDATE lifelong_links_objective AS o SET met = $3, assessed_on = $4, version = version + 1, "
        f"updated_at = now() WHERE id = $1 AND version = $2 RETURNING {OBJECTIVE_COLUMNS}",
        objective_id, version, met, assessed_on)


# --- network members --------------------------------------------------------------------------------------------

async def members_by_id(session: TenantSession, ids: Sequence[uuid.UUID], scope: Scope,
                        ) -> list[asyncpg.Record]:
    return await session.fetch(
        f"SELECT {MEMBER_COLUMNS} FROM network_member m WHERE m.id = ANY($1::uuid[]) "
        f"AND {rows_visible(MEMBER, 'm', 2)}",
        list(ids), *scope.args)


async def members_of(session: TenantSession, young_adult_ids: Sequence[uuid.UUID], scope: Scope,
                     ) -> list[asyncpg.Record]:
    return await session.fetch(
        f"SELECT {MEMBER_COLUMNS} FROM network_member m WHERE m.young_adult_id = ANY($1::uuid[]) "
        f"AND {rows_visible(MEMBER, 'm', 2)} ORDER BY {MEMBER_ORDER.format(t='m')}", list(young_adult_ids), *scope.args)


async def member_contacts(session: TenantSession, member_ids: Sequence[uuid.UUID],
                          practitioner_id: uuid.UUID | None) -> list[asyncpg.Record]:
    """Contact details as the declaration's need-to-know rule (service/network/model.py) lets the caller (the
    practitioner ``practitioner_id``, or None) see them: ``need_to_know`` whether the caller has it, ``shown``
    whether the values are shown, and the values (nulls where not shown, so they never reach the service)."""
    rule = MEMBER.need_to_know
    assert rule is not None
    me = "$2::uuid"
    values = ", ".join(f"{rule.value(name).format(t='m', me=me)} AS {name}" for name in rule.fields)
    return await session.fetch(
        f"SELECT m.id, coalesce({rule.who.format(t='m', me=me)}, false) AS need_to_know, "
        f"{rule.shown.format(t='m', me=me)} AS shown, {values} "
        "FROM network_member m WHERE m.id = ANY($1::uuid[])", list(member_ids), practitioner_id)


async def insert_member(session: TenantSession, young_adult_id: uuid.UUID, case_id: uuid.UUID,
                        fields: dict[str, Any], identified_on: date, changed_by: str) -> uuid.UUID:
    member_id = await session.fetchval(
        "WITH m AS (INSERT INTO network_member (young_adult_id, case_id, given_name, family_name, relationship, "
        "    relationship_detail, known_before, privacy_notice_on, phone, email, address) "
        "    VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) RETURNING id), "
        "s AS (INSERT INTO network_member_status_change (member_id, status, changed_on, changed_by) "
        "    SELECT id, 'IDENTIFIED', $12, $13 FROM m) "
        "SELECT id FROM m", young_adult_id, case_id, fields["given_name"], fields.get("family_name"),
        fields["relationship"], fields.get("relationship_detail"), fields["known_before"],
        fields.get("privacy_notice_on"), fields.get("phone"), fields.get("email"), fields.get("address"),
        identified_on, changed_by)
    assert isinstance(member_id, uuid.UUID)
    return member_id


MEMBER_UPDATABLE = ("given_name", "family_name", "relationship", "relationship_detail", "known_before",
                    "privacy_notice_on", "phone", "email", "address", "status", "vetting_outcome")


async def update_member(session: TenantSession, member_id: uuid.UUID, version: int | None,
                        changes: dict[str, Any]) -> bool:
    """Apply ``changes`` if the stored version is ``version`` (any version when None); False when it is not."""
    assert changes
    assert set(changes) <= set(MEMBER_UPDATABLE)
    names = sorted(changes)
    assignments = ", ".join(f"{name} = ${i}" for i, name in enumerate(names, start=3))
    updated = await session.fetchval(
        f"UPDATE network_member SET {assignments}, version = version + 1, updated_at = now() "
        "WHERE id = $1 AND ($2::int IS NULL OR version = $2) RETURNING id",
        member_id, version, *(changes[n] for n in names))
    return updated is not None


async def status_changes(session: TenantSession, member_ids: Sequence[uuid.UUID]) -> list[asyncpg.Record]:
    return await session.fetch(
        "SELECT member_id, status, changed_on FROM network_member_status_change "
        "WHERE member_id = ANY($1::uuid[]) ORDER BY changed_on, created_at", list(member_ids))


async def insert_status_change(session: TenantSession, member_id: uuid.UUID, status: str, changed_on: date,
                               changed_by: str) -> None:
    await session.fetchval(
        "INSERT INTO network_member_status_change (member_id, status, changed_on, changed_by) "
        "VALUES ($1, $2, $3, $4) RETURNING id", member_id, status, changed_on, changed_by)


async def vetting_signoffs(session: TenantSession, member_ids: Sequence[uuid.UUID]) -> list[asyncpg.Record]:
    return await session.fetch(
        "SELECT member_id, service, practitioner_id, outcome, signed_on FROM vetting_signoff "
        "WHERE member_id = ANY($1::uuid[]) ORDER BY signed_on, service", list(member_ids))


async def upsert_vetting_signoff(session: TenantSession, member_id: uuid.UUID, service: str,
                                 practitioner_id: uuid.UUID, signed_by: str, outcome: str, signed_on: date) -> None:
    await session.fetchval(
        "INSERT INTO vetting_signoff (member_id, service, practitioner_id, signed_by, outcome, signed_on) "
        "VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (member_id, service) DO UPDATE SET "
        "practitioner_id = excluded.practitioner_id, signed_by = excluded.signed_by, outcome = excluded.outcome, "
        "signed_on = excluded.signed_on RETURNING member_id",
        member_id, service, practitioner_id, signed_by, outcome, signed_on)


# --- commitments and the integrated plan ------------------------------------------------------------------------

async def goal_lineage_in_plan(session: TenantSession, young_adult_id: uuid.UUID, lineage_id: uuid.UUID) -> bool:
    return bool(await session.fetchval(
        "SELECT EXISTS (SELECT 1 FROM plan_goal g JOIN plan_version v ON v.id = g.plan_version_id "
        "JOIN integrated_plan p ON p.id = v.plan_id WHERE p.young_adult_id = $1 AND g.lineage_id = $2)",
        young_adult_id, lineage_id))


async def goal_of_action_lineage(session: TenantSession, young_adult_id: uuid.UUID, lineage_id: uuid.UUID,
                                 ) -> uuid.UUID | None:
    """The goal lineage an action lineage sits under in the young adult's plan; None if it is not in their plan."""
    value = await session.fetchval(
        "SELECT g.lineage_id FROM plan_action a JOIN plan_goal g ON g.id = a.plan_goal_id "
        "JOIN plan_version v ON v.id = g.plan_version_id JOIN integrated_plan p ON p.id = v.plan_id "
        "WHERE p.young_adult_id = $1 AND a.lineage_id = $2 ORDER BY v.number DESC LIMIT 1",
        young_adult_id, lineage_id)
    return value if isinstance(value, uuid.UUID) else None


async def member_has_commitment(session: TenantSession, member_id: uuid.UUID) -> bool:
    return bool(await session.fetchval(
        "SELECT EXISTS (SELECT 1 FROM network_commitment WHERE member_id = $1 AND status = 'ACTIVE')", member_id))


async def insert_commitment(session: TenantSession, member_id: uuid.UUID, goal_lineage_id: uuid.UUID | None,
                            action_lineage_id: uuid.UUID | None, description: str, starts_on: date | None,
                            ) -> asyncpg.Record:
    row = await session.fetchrow(
        "WITH n AS (INSERT INTO network_commitment (member_id, goal_lineage_id, action_lineage_id, description, "
        "starts_on) VALUES ($1, $2, $3, $4, $5) RETURNING id, member_id, goal_lineage_id, action_lineage_id, "
        "description, starts_on, ends_on, status, version) "
        f"SELECT {COMMITMENT_COLUMNS} FROM n JOIN network_member m ON m.id = n.member_id",
        member_id, goal_lineage_id, action_lineage_id, description, starts_on)
    assert row is not None
    return row


async def commitments_by_id(session: TenantSession, ids: Sequence[uuid.UUID],
                            scope: Scope) -> list[asyncpg.Record]:
    return await session.fetch(
        f"SELECT {COMMITMENT_COLUMNS} FROM network_commitment n JOIN network_member m ON m.id = n.member_id "
        f"WHERE n.id = ANY($1::uuid[]) AND {rows_visible(COMMITMENT, 'n', 2)}", list(ids), *scope.args)


async def commitments_of_young_adults(session: TenantSession, young_adult_ids: Sequence[uuid.UUID], scope: Scope,
                                      ) -> list[asyncpg.Record]:
    return await session.fetch(
        f"SELECT {COMMITMENT_COLUMNS} FROM network_commitment n JOIN network_member m ON m.id = n.member_id "
        f"WHERE m.young_adult_id = ANY($1::uuid[]) AND {rows_visible(COMMITMENT, 'n', 2)} "
        f"ORDER BY {COMMITMENT_ORDER.format(t='n')}", list(young_adult_ids), *scope.args)


async def commitments_of_members(session: TenantSession, member_ids: Sequence[uuid.UUID], scope: Scope,
                                 ) -> list[asyncpg.Record]:
    return await session.fetch(
        f"SELECT {COMMITMENT_COLUMNS} FROM network_commitment n JOIN network_member m ON m.id = n.member_id "
        f"WHERE n.member_id = ANY($1::uuid[]) AND {rows_visible(COMMITMENT, 'n', 2)} "
        f"ORDER BY {COMMITMENT_ORDER.format(t='n')}",
        list(member_ids), *scope.args)


async def commitments_by_lineage(session: TenantSession, column: str, lineage_ids: Sequence[uuid.UUID],
                                 scope: Scope) -> list[asyncpg.Record]:
    """Commitments against goal (``column`` goal_lineage_id) or action (action_lineage_id) lineages."""
    assert column in ("goal_lineage_id", "action_lineage_id")
    return await session.fetch(
        f"SELECT {COMMITMENT_COLUMNS} FROM network_commitment n JOIN network_member m ON m.id = n.member_id "
        f"WHERE n.{column} = ANY($1::uuid[]) AND {rows_visible(COMMITMENT, 'n', 2)} "
        f"ORDER BY {COMMITMENT_ORDER.format(t='n')}",
        list(lineage_ids), *scope.args)


async def end_commitment(session: TenantSession, commitment_id: uuid.UUID, version: int, ends_on: date,
                         ) -> asyncpg.Record | None:
    return await session.fetchrow(
        "WITH n AS (UPDATE network_commitment SET status = 'ENDED', ends_on = $3, version = version + 1, "
        "updated_at = now() WHERE id = $1 AND version = $2 RETURNING id, member_id, goal_lineage_id, "
        "action_lineage_id, description, starts_on, ends_on, status, version) "
        f"SELECT {COMMITMENT_COLUMNS} FROM n JOIN network_member m ON m.id = n.member_id",
        commitment_id, version, ends_on)


# --- the Lifelong Links meeting ---------------------------------------------------------------------------------

async def insert_meeting(session: TenantSession, young_adult_id: uuid.UUID, held_on: date, outcome: str | None,
                         practitioner_ids: Sequence[uuid.UUID], member_ids: Sequence[uuid.UUID]) -> asyncpg.Record:
    row = await session.fetchrow(
        "WITH g AS (INSERT INTO meeting (young_adult_id, kind, held_on, outcome) "
        "           VALUES ($1, 'LIFELONG_LINKS', $2, $3) RETURNING id, young_adult_id, held_on, outcome, version), "
        "p AS (INSERT INTO meeting_attendee (meeting_id, practitioner_id) "
        "      SELECT g.id, unnest($4::uuid[]) FROM g), "
        "n AS (INSERT INTO meeting_attendee (meeting_id, network_member_id) "
        "      SELECT g.id, unnest($5::uuid[]) FROM g) "
        f"SELECT {MEETING_COLUMNS} FROM g", young_adult_id, held_on, outcome, list(practitioner_ids),
        list(member_ids))
    assert row is not None
    return row


async def meetings_of(session: TenantSession, young_adult_ids: Sequence[uuid.UUID], scope: Scope,
                      ) -> list[asyncpg.Record]:
    return await session.fetch(
        f"SELECT {MEETING_COLUMNS} FROM meeting g WHERE g.young_adult_id = ANY($1::uuid[]) "
        f"AND {MEETING_KIND.format(t='g')} AND {rows_visible(MEETING, 'g', 2)} "
        f"ORDER BY {NETWORK_MEETING_ORDER.format(t='g')}",
        list(young_adult_ids), *scope.args)


async def meetings_by_id(session: TenantSession, ids: Sequence[uuid.UUID], scope: Scope,
                         ) -> list[asyncpg.Record]:
    return await session.fetch(
        f"SELECT {MEETING_COLUMNS} FROM meeting g WHERE g.id = ANY($1::uuid[]) AND {MEETING_KIND.format(t='g')} "
        f"AND {rows_visible(MEETING, 'g', 2)}", list(ids), *scope.args)


async def attendees_of(session: TenantSession, meeting_ids: Sequence[uuid.UUID]) -> list[asyncpg.Record]:
    return await session.fetch(
        "SELECT meeting_id, practitioner_id, network_member_id FROM meeting_attendee "
        "WHERE meeting_id = ANY($1::uuid[]) ORDER BY id", list(meeting_ids))


# --- measures ---------------------------------------------------------------------------------------------------

async def measures(session: TenantSession, young_adult_ids: Sequence[uuid.UUID]) -> list[asyncpg.Record]:
    """Per young adult: members by status, and the network's size at the referral of their current case (members
    known before, or identified on or before the referral date)."""
    return await session.fetch(
        "WITH y AS (SELECT unnest($1::uuid[]) AS young_adult_id), "
        "c AS (SELECT DISTINCT ON (young_adult_id) young_adult_id, referred_on FROM lifelong_links_case "
        "      WHERE young_adult_id = ANY($1::uuid[]) "
        "      ORDER BY young_adult_id, stage = 'CLOSED', referred_on DESC, created_at DESC), "
        "m AS (SELECT m.young_adult_id, m.status, m.known_before, "
        "      (SELECT min(s.changed_on) FROM network_member_status_change s WHERE s.member_id = m.id "
        "       AND s.status = 'IDENTIFIED') AS identified_on "
        "      FROM network_member m WHERE m.young_adult_id = ANY($1::uuid[])) "
        "SELECT y.young_adult_id, c.referred_on, "
        "  count(m.status) FILTER (WHERE c.referred_on IS NOT NULL AND (m.known_before "
        "                          OR m.identified_on <= c.referred_on)) AS size_at_referral, "
        "  array_remove(array_agg(m.status), NULL) AS statuses "
        "FROM y LEFT JOIN c ON c.young_adult_id = y.young_adult_id "
        "LEFT JOIN m ON m.young_adult_id = y.young_adult_id "
        "GROUP BY y.young_adult_id, c.referred_on", list(young_adult_ids))
