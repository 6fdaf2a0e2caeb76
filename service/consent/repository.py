"""SQL for consent records. Runs inside the caller's tenant session only; visibility follows the young adult the
declaration names (service/consent/model.py), applied by :func:`service.api.model.rows_visible` to every read."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import date

import asyncpg

from service.api.model import rows_visible
from service.consent.model import CONSENT, CONSENT_ORDER
from service.kernel.session import TenantSession
from service.kernel.visibility import Scope

CONSENT_COLUMNS = ("k.id, k.young_adult_id, k.network_member_id, k.purpose, k.organisation, k.granted_on, "
                   "k.withdrawn_on, k.version, k.created_at")


async def consents_by_id(session: TenantSession, ids: Sequence[uuid.UUID],
                         scope: Scope) -> list[asyncpg.Record]:
    return await session.fetch(
        f"SELECT {CONSENT_COLUMNS} FROM consent k WHERE k.id = ANY($1::uuid[]) AND {rows_visible(CONSENT, 'k', 2)}",
        list(ids), *scope.args)


async def consents_of(session: TenantSession, young_adult_ids: Sequence[uuid.UUID], scope: Scope,
                      ) -> list[asyncpg.Record]:
    """Every consent record of these young adults (those in scope) and their network members, oldest first."""
    return await session.fetch(
        f"SELECT {CONSENT_COLUMNS} FROM consent k WHERE k.young_adult_id = ANY($1::uuid[]) "
        f"AND {rows_visible(CONSENT, 'k', 2)} ORDER BY {CONSENT_ORDER.format(t='k')}", list(young_adult_ids),
        *scope.args)


async def member_of(session: TenantSession, member_id: uuid.UUID) -> uuid.UUID | None:
    value = await session.fetchval("SELECT young_adult_id FROM network_member WHERE id = $1", member_id)
    return value if isinstance(value, uuid.UUID) else None


async def active_exists(session: TenantSession, young_adult_id: uuid.UUID, member_id: uuid.UUID | None,
                        purpose: str, organisation: str | None) -> bool:
    return bool(await session.fetchval(
        "SELECT EXISTS (SELECT 1 FROM consent WHERE young_adult_id = $1 "
        "AND network_member_id IS NOT DISTINCT FROM $2 AND purpose = $3 "
        "AND lower(organisation) IS NOT DISTINCT FROM lower($4) AND withdrawn_on IS NULL)",
        young_adult_id, member_id, purpose, organisation))


async def insert(session: TenantSession, young_adult_id: uuid.UUID, member_id: uuid.UUID | None, purpose: str,
                 organisation: str | None, granted_on: date, recorded_by: str) -> asyncpg.Record:
    row = await session.fetchrow(
        "INSERT INTO consent AS k (young_adult_id, network_member_id, purpose, organisation, granted_on, "
        f"recorded_by) VALUES ($1, $2, $3, $4, $5, $6) RETURNING {CONSENT_COLUMNS}",
        young_adult_id, member_id, purpose, organisation, granted_on, recorded_by)
    assert row is not None
    return row


async def withdraw(session: TenantSession, consent_id: uuid.UUID, version: int, withdrawn_on: date,
                   ) -> asyncpg.Record | None:
    return await session.fetchrow(
        "UPDATE consent AS k SET withdrawn_on = $3, version = version + 1, updated_at = now() "
        f"WHERE id = $1 AND version = $2 AND withdrawn_on IS NULL RETURNING {CONSENT_COLUMNS}",
        consent_id, version, withdrawn_on)


async def member_consents(session: TenantSession, member_ids: Sequence[uuid.UUID], purpose: str, scope: Scope,
                          ) -> list[asyncpg.Record]:
    return await session.fetch(
        f"SELECT {CONSENT_COLUMNS} FROM consent k WHERE k.network_member_id = ANY($1::uuid[]) AND k.purpose = $2 "
        f"AND {rows_visible(CONSENT, 'k', 3)} ORDER BY {CONSENT_ORDER.format(t='k')}", list(member_ids), purpose,
        *scope.args)
