"""SQL for moves: site transfers, handovers and what arrived or left, in the request's tenant session (reads filter
by the caller's scope); and transfers between tenants in the control plane (``control.tenant_transfer``), on the
control-plane connection the caller holds."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import date

import asyncpg

from service.kernel.session import Statements, TenantSession
from service.kernel.visibility import Scope, visible_young_adult

SITE_TRANSFER_COLUMNS = ("st.id, st.young_adult_id, st.from_enrolment_id, st.to_enrolment_id, st.effective_on, "
                         "st.reason, st.recorded_by, st.created_at, "
                         "(SELECT site_id FROM enrolment WHERE id = st.from_enrolment_id) AS from_site_id, "
                         "(SELECT site_id FROM enrolment WHERE id = st.to_enrolment_id) AS to_site_id")
HANDOVER_COLUMNS = ("h.id, h.young_adult_id, h.custody_episode_id, h.handed_over_on, h.from_service, h.to_services, "
                    "h.from_lead_id, h.to_lead_id, h.checklist, h.recorded_by, h.created_at")


async def current_enrolment_at(session: TenantSession, young_adult_id: uuid.UUID, site_id: uuid.UUID,
                               ) -> asyncpg.Record | None:
    return await session.fetchrow(
        "SELECT id, status, identified_on, referred_on, consented_on, version FROM enrolment "
        "WHERE young_adult_id = $1 AND site_id = $2", young_adult_id, site_id)


async def insert_site_transfer(session: TenantSession, young_adult_id: uuid.UUID, from_enrolment: asyncpg.Record,
                               to_site_id: uuid.UUID, effective_on: date, reason: str, recorded_by: str,
                               ) -> asyncpg.Record:
    """The receiving enrolment (carrying the programme dates of the sending one: a move is not a new referral),
    the sending enrolment's end on the same day, and the transfer joining them: one statement."""
    row = await session.fetchrow(
        "WITH sending AS (UPDATE enrolment SET status = 'EXITED', exited_on = $4, exit_reason = $5, "
        "      version = version + 1, updated_at = now() WHERE id = $2 RETURNING id), "
        "sending_history AS (INSERT INTO enrolment_status_change (enrolment_id, status, changed_on, changed_by, "
        "      reason) SELECT id, 'EXITED', $4, $6, $5 FROM sending), "
        "receiving AS (INSERT INTO enrolment (young_adult_id, site_id, status, identified_on, referred_on, "
        "      consented_on) SELECT $1, $3, CASE WHEN f.status IN ('IDENTIFIED', 'EXITED') THEN 'IDENTIFIED' "
        "      ELSE f.status END, $4, f.referred_on, f.consented_on FROM enrolment f WHERE f.id = $2 RETURNING id), "
        "st AS (INSERT INTO site_transfer (young_adult_id, from_enrolment_id, to_enrolment_id, effective_on, "
        "      reason, recorded_by) SELECT $1, $2, receiving.id, $4, $5, $6 FROM receiving RETURNING *) "
        "SELECT st.id, st.young_adult_id, st.from_enrolment_id, st.to_enrolment_id, st.effective_on, st.reason, "
        "       st.recorded_by, st.created_at, "
        "       (SELECT site_id FROM enrolment WHERE id = $2) AS from_site_id, $3::uuid AS to_site_id FROM st",
        young_adult_id, from_enrolment["id"], to_site_id, effective_on, reason, recorded_by)
    assert row is not None
    return row


async def site_transfers_for(session: TenantSession, young_adult_ids: Sequence[uuid.UUID], scope: Scope,
                             ) -> list[asyncpg.Record]:
    return await session.fetch(
        f"SELECT {SITE_TRANSFER_COLUMNS} FROM site_transfer st WHERE st.young_adult_id = ANY($1::uuid[]) "
        f"AND {visible_young_adult('st.young_adult_id', 2)} ORDER BY st.effective_on, st.created_at",
        list(young_adult_ids), *scope.args)


async def current_team(session: TenantSession, young_adult_id: uuid.UUID) -> list[asyncpg.Record]:
    return await session.fetch(
        "SELECT t.id, t.practitioner_id, t.team_role, t.version, p.service FROM team_member t "
        "JOIN practitioner p ON p.id = t.practitioner_id WHERE t.young_adult_id = $1 AND t.ended_on IS NULL",
        young_adult_id)


async def latest_custody_episode(session: TenantSession, young_adult_id: uuid.UUID) -> uuid.UUID | None:
    value = await session.fetchval(
        "SELECT id FROM custody_episode WHERE young_adult_id = $1 ORDER BY reception_date DESC, created_at DESC "
        "LIMIT 1", young_adult_id)
    return value if isinstance(value, uuid.UUID) else None


async def last_handover_lead(session: TenantSession, young_adult_id: uuid.UUID) -> uuid.UUID | None:
    value = await session.fetchval(
        "SELECT to_lead_id FROM handover WHERE young_adult_id = $1 ORDER BY handed_over_on DESC, created_at DESC "
        "LIMIT 1", young_adult_id)
    return value if isinstance(value, uuid.UUID) else None


async def insert_handover(session: TenantSession, young_adult_id: uuid.UUID, episode_id: uuid.UUID | None,
                          handed_over_on: date, from_service: str, to_services: list[str],
                          from_lead: uuid.UUID | None, to_lead: uuid.UUID, checklist: list[str], recorded_by: str,
                          ) -> asyncpg.Record:
    row = await session.fetchrow(
        "INSERT INTO handover AS h (young_adult_id, custody_episode_id, handed_over_on, from_service, to_services, "
        "from_lead_id, to_lead_id, checklist, recorded_by) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) "
        f"RETURNING {HANDOVER_COLUMNS}", young_adult_id, episode_id, handed_over_on, from_service, to_services,
        from_lead, to_lead, checklist, recorded_by)
    assert row is not None
    return row


async def handovers_for(session: TenantSession, young_adult_ids: Sequence[uuid.UUID], scope: Scope,
                        ) -> list[asyncpg.Record]:
    return await session.fetch(
        f"SELECT {HANDOVER_COLUMNS} FROM handover h WHERE h.young_adult_id = ANY($1::uuid[]) "
        f"AND {visible_young_adult('h.young_adult_id', 2)} ORDER BY h.handed_over_on, h.created_at",
        list(young_adult_ids), *scope.args)


async def moves_of(session: TenantSession, young_adult_ids: Sequence[uuid.UUID], scope: Scope,
                   ) -> list[asyncpg.Record]:
    """Where each young adult came from and went to by a tenant transfer (null when neither)."""
    return await session.fetch(
        "SELECT ya.id, ya.transfer_id, ya.arrived_from, ya.arrived_on, ya.moved_to, ya.moved_on, "
        "ya.moved_by_transfer_id FROM young_adult ya WHERE ya.id = ANY($1::uuid[]) "
        f"AND {visible_young_adult('ya.id', 2)}", list(young_adult_ids), *scope.args)


async def provenance_for(session: TenantSession, young_adult_ids: Sequence[uuid.UUID], scope: Scope,
                         ) -> list[asyncpg.Record]:
    return await session.fetch(
        "SELECT p.item_type, p.item_id, p.young_adult_id, p.transfer_id, p.from_tenant, p.recorded_at, "
        "p.received_at FROM provenance p WHERE p.young_adult_id = ANY($1::uuid[]) "
        f"AND {visible_young_adult('p.young_adult_id', 2)} ORDER BY p.item_type, p.recorded_at, p.item_id",
        list(young_adult_ids), *scope.args)


TRANSFER_COLUMNS = ("t.id, t.from_tenant_id, t.to_tenant_id, t.young_adult_id, t.state, t.consented_on, t.note, "
                    "t.requested_by, t.requested_at, t.decided_by, t.decided_at, t.decline_reason, t.to_site_code, "
                    "t.received_young_adult_id, t.completed_at, t.version, f.slug AS from_slug, "
                    "f.name AS from_name, r.slug AS to_slug, r.name AS to_name")


def _transfers(source: str = "control.tenant_transfer") -> str:
    """The transfer rows of ``source`` (the table, or a CTE of rows just written) with both tenants' names."""
    return (f"SELECT {TRANSFER_COLUMNS} FROM {source} t JOIN control.tenant f ON f.id = t.from_tenant_id "
            "JOIN control.tenant r ON r.id = t.to_tenant_id")


async def insert_transfer(control: Statements, from_tenant: uuid.UUID, to_tenant: uuid.UUID,
                          young_adult_id: uuid.UUID, consented_on: date, note: str | None, requested_by: str,
                          ) -> asyncpg.Record:
    """A new REQUESTED transfer; UniqueViolationError when the young adult already has an open one."""
    row = await control.fetchrow(
        "WITH t AS (INSERT INTO control.tenant_transfer (from_tenant_id, to_tenant_id, young_adult_id, "
        "consented_on, note, requested_by) VALUES ($1, $2, $3, $4, $5, $6) RETURNING *) " + _transfers("t"),
        from_tenant, to_tenant, young_adult_id, consented_on, note, requested_by)
    assert row is not None
    return row


async def transfer_by_id(control: Statements, transfer_id: uuid.UUID, tenant_id: uuid.UUID) -> asyncpg.Record | None:
    """The transfer if ``tenant_id`` is either side of it; None otherwise, as for a missing id."""
    return await control.fetchrow(_transfers() + " WHERE t.id = $1 AND $2 IN (t.from_tenant_id, t.to_tenant_id)",
                                  transfer_id, tenant_id)


async def transfers_of(control: Statements, tenant_id: uuid.UUID, incoming: bool) -> list[asyncpg.Record]:
    side = "t.to_tenant_id" if incoming else "t.from_tenant_id"
    return await control.fetch(_transfers() + f" WHERE {side} = $1 ORDER BY t.requested_at DESC, t.id", tenant_id)


async def decide_transfer(control: Statements, transfer_id: uuid.UUID, version: int, state: str, subject: str,
                          site_code: str | None, reason: str | None) -> asyncpg.Record | None:
    """Move a REQUESTED transfer to ``state`` if the stored version is ``version``; None when it is not."""
    return await control.fetchrow(
        "WITH t AS (UPDATE control.tenant_transfer SET state = $3, decided_by = $4, decided_at = now(), "
        "to_site_code = $5, decline_reason = $6, version = version + 1 "
        "WHERE id = $1 AND version = $2 AND state = 'REQUESTED' RETURNING *) " + _transfers("t"),
        transfer_id, version, state, subject, site_code, reason)
