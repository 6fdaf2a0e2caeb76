"""SQL for sites, practitioners, young adults and enrolments. Runs inside the caller's tenant session only.

Visibility is part of every young-adult query: ``visible_sites`` is None for a tenant administrator (everything
in the tenant) or the ids of the sites a practitioner or site manager works at.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import date
from typing import Any

import asyncpg

from service.api.session import TenantSession

SITE_COLUMNS = "id, code, name, kind, closed_at, version"
YOUNG_ADULT_COLUMNS = (
    "ya.id, ya.given_name, ya.family_name, ya.date_of_birth, ya.prison_number, ya.probation_crn, ya.la_reference, "
    "ya.care_status, ya.responsible_local_authority, ya.entitlement_end_age, ya.access_restricted, ya.version, "
    "ya.created_at, ya.updated_at"
)
ENROLMENT_COLUMNS = (
    "id, young_adult_id, site_id, status, identified_on, referred_on, consented_on, exited_on, exit_reason, version"
)
VISIBLE = ("($2::uuid[] IS NULL OR EXISTS (SELECT 1 FROM enrolment v "
           "WHERE v.young_adult_id = ya.id AND v.site_id = ANY($2::uuid[])))")


async def sites(session: TenantSession) -> list[asyncpg.Record]:
    return await session.fetch(f"SELECT {SITE_COLUMNS} FROM site ORDER BY name")


async def sites_by_id(session: TenantSession, ids: Sequence[uuid.UUID]) -> list[asyncpg.Record]:
    return await session.fetch(f"SELECT {SITE_COLUMNS} FROM site WHERE id = ANY($1::uuid[])", list(ids))


async def site_ids_for_codes(session: TenantSession, codes: Sequence[str]) -> list[uuid.UUID]:
    rows = await session.fetch("SELECT id FROM site WHERE code = ANY($1::text[])", list(codes))
    return [r["id"] for r in rows]


async def practitioners_by_id(session: TenantSession, ids: Sequence[uuid.UUID]) -> list[asyncpg.Record]:
    return await session.fetch(
        "SELECT p.id, p.given_name, p.family_name, p.service, p.role, p.version, "
        "coalesce(array_agg(ps.site_id) FILTER (WHERE ps.site_id IS NOT NULL), '{}') AS site_ids "
        "FROM practitioner p LEFT JOIN practitioner_site ps ON ps.practitioner_id = p.id "
        "WHERE p.id = ANY($1::uuid[]) GROUP BY p.id", list(ids))


async def practitioners_at_sites(session: TenantSession, site_ids: Sequence[uuid.UUID]) -> list[asyncpg.Record]:
    return await session.fetch(
        "SELECT ps.site_id, p.id, p.given_name, p.family_name, p.service, p.role, p.version, "
        "ARRAY[]::uuid[] AS site_ids FROM practitioner_site ps JOIN practitioner p ON p.id = ps.practitioner_id "
        "WHERE ps.site_id = ANY($1::uuid[]) ORDER BY p.family_name, p.given_name, p.id", list(site_ids))


async def young_adults_by_id(session: TenantSession, ids: Sequence[uuid.UUID],
                             visible_sites: Sequence[uuid.UUID] | None) -> list[asyncpg.Record]:
    return await session.fetch(
        f"SELECT {YOUNG_ADULT_COLUMNS} FROM young_adult ya WHERE ya.id = ANY($1::uuid[]) AND {VISIBLE}",
        list(ids), None if visible_sites is None else list(visible_sites))


async def young_adults_at_site(session: TenantSession, site_id: uuid.UUID, visible_sites: Sequence[uuid.UUID] | None,
                               after: uuid.UUID | None, limit: int) -> list[asyncpg.Record]:
    """A page of young adults enrolled at a site, by family name, given name and id (keyset pagination)."""
    return await session.fetch(
        f"SELECT {YOUNG_ADULT_COLUMNS} FROM young_adult ya "
        f"WHERE EXISTS (SELECT 1 FROM enrolment e WHERE e.young_adult_id = ya.id AND e.site_id = $1) AND {VISIBLE} "
        "AND ($3::uuid IS NULL OR (ya.family_name, ya.given_name, ya.id) > "
        "    (SELECT c.family_name, c.given_name, c.id FROM young_adult c WHERE c.id = $3)) "
        "ORDER BY ya.family_name, ya.given_name, ya.id LIMIT $4",
        site_id, None if visible_sites is None else list(visible_sites), after, limit)


async def enrolments_for(session: TenantSession, young_adult_ids: Sequence[uuid.UUID]) -> list[asyncpg.Record]:
    return await session.fetch(
        f"SELECT {ENROLMENT_COLUMNS} FROM enrolment WHERE young_adult_id = ANY($1::uuid[]) "
        "ORDER BY identified_on, id", list(young_adult_ids))


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


async def insert_enrolment(session: TenantSession, young_adult_id: uuid.UUID, site_id: uuid.UUID,
                           identified_on: date) -> None:
    await session.fetchval(
        "INSERT INTO enrolment (young_adult_id, site_id, identified_on) VALUES ($1, $2, $3) RETURNING id",
        young_adult_id, site_id, identified_on)


UPDATABLE = ("given_name", "family_name", "date_of_birth", "prison_number", "probation_crn", "la_reference",
             "care_status", "responsible_local_authority", "entitlement_end_age")


async def update_young_adult(session: TenantSession, young_adult_id: uuid.UUID, version: int,
                             changes: dict[str, Any]) -> asyncpg.Record | None:
    """Apply ``changes`` if the stored version is ``version``; None when it is not (or the row is gone)."""
    assert changes
    assert set(changes) <= set(UPDATABLE)
    names = sorted(changes)
    assignments = ", ".join(f"{name} = ${i}" for i, name in enumerate(names, start=3))
    return await session.fetchrow(
        f"UPDATE young_adult AS ya SET {assignments}, version = version + 1, updated_at = now() "
        f"WHERE id = $1 AND version = $2 RETURNING {YOUNG_ADULT_COLUMNS}",
        young_adult_id, version, *(changes[n] for n in names))


async def enrolments_by_id(session: TenantSession, ids: Sequence[uuid.UUID]) -> list[asyncpg.Record]:
    return await session.fetch(f"SELECT {ENROLMENT_COLUMNS} FROM enrolment WHERE id = ANY($1::uuid[])", list(ids))
