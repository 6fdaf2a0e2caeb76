"""SQL for sites, practitioners and the caller's scope. Runs inside the caller's tenant session only."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

import asyncpg

from service.kernel.session import TenantSession
from service.kernel.visibility import Scope, visible, visible_to, visible_young_adult

SITE_COLUMNS = "id, code, name, kind, closed_at, version"
PRACTITIONER_COLUMNS = "p.id, p.given_name, p.family_name, p.service, p.role, p.version"


def contact_consent(member: str) -> str:
    """The state of the network member (aliased ``member``)'s own consent to be contacted: ACTIVE (a grant not
    withdrawn), WITHDRAWN, or NONE."""
    return ("(SELECT CASE WHEN bool_or(k.withdrawn_on IS NULL) THEN 'ACTIVE' WHEN count(*) > 0 THEN 'WITHDRAWN' "
            f"ELSE 'NONE' END FROM consent k WHERE k.network_member_id = {member}.id AND k.purpose = 'CONTACT')")


CONTACT_CONSENT = contact_consent("m")


async def sites(session: TenantSession) -> list[asyncpg.Record]:
    return await session.fetch(f"SELECT {SITE_COLUMNS} FROM site ORDER BY name")


async def sites_by_id(session: TenantSession, ids: Sequence[uuid.UUID]) -> list[asyncpg.Record]:
    return await session.fetch(f"SELECT {SITE_COLUMNS} FROM site WHERE id = ANY($1::uuid[])", list(ids))


def scope_select(site_codes: str, subject: str) -> str:
    """The caller's scope as one row of SQL, over two SQL values: ``site_codes`` (text[], the codes of the caller's
    sites; NULL for the whole tenant) and ``subject``. ``site_ids``: the ids of those sites (NULL: the whole tenant),
    ``practitioner_id``: the caller's own practitioner record. Read by :func:`scope_row`, and by compiled statements
    that work the scope out themselves (service.app.compiled)."""
    return (f"SELECT CASE WHEN {site_codes} IS NOT NULL THEN "
            f"ARRAY(SELECT id FROM site WHERE code = ANY({site_codes}) ORDER BY id) END AS site_ids, "
            f"(SELECT id FROM practitioner WHERE subject = {subject}) AS practitioner_id")


async def scope_row(session: TenantSession, site_codes: Sequence[str] | None, subject: str) -> asyncpg.Record:
    """The ids of the caller's sites and of their own practitioner record, in one statement."""
    row = await session.fetchrow(scope_select("$1::text[]", "$2::text"),
                                 None if site_codes is None else list(site_codes), subject)
    assert row is not None
    return row


async def practitioners_by_id(session: TenantSession, ids: Sequence[uuid.UUID]) -> list[asyncpg.Record]:
    return await session.fetch(
        f"SELECT {PRACTITIONER_COLUMNS}, "
        "coalesce(array_agg(ps.site_id) FILTER (WHERE ps.site_id IS NOT NULL), '{}') AS site_ids "
        "FROM practitioner p LEFT JOIN practitioner_site ps ON ps.practitioner_id = p.id "
        "WHERE p.id = ANY($1::uuid[]) GROUP BY p.id", list(ids))


async def practitioners_at_sites(session: TenantSession, site_ids: Sequence[uuid.UUID]) -> list[asyncpg.Record]:
    return await session.fetch(
        f"SELECT ps.site_id, {PRACTITIONER_COLUMNS}, ARRAY[]::uuid[] AS site_ids "
        "FROM practitioner_site ps JOIN practitioner p ON p.id = ps.practitioner_id "
        "WHERE ps.site_id = ANY($1::uuid[]) ORDER BY p.family_name, p.given_name, p.id", list(site_ids))


async def insert_practitioner(session: TenantSession, subject: str | None, given_name: str, family_name: str,
                              service: str, role: str, site_ids: Sequence[uuid.UUID]) -> uuid.UUID:
    practitioner_id: uuid.UUID = await session.fetchval(
        "WITH p AS (INSERT INTO practitioner (subject, given_name, family_name, service, role) "
        "VALUES ($1, $2, $3, $4, $5) RETURNING id), "
        "s AS (INSERT INTO practitioner_site (practitioner_id, site_id) SELECT p.id, unnest($6::uuid[]) FROM p) "
        "SELECT id FROM p", subject, given_name, family_name, service, role, list(site_ids))
    return practitioner_id


async def visible_young_adult_ids(session: TenantSession, ids: Sequence[uuid.UUID], scope: Scope,
                                  ) -> set[uuid.UUID]:
    """Which of ``ids`` name young adults the scope may see (the check mutations make before touching a record)."""
    rows = await session.fetch(
        f"SELECT ya.id FROM young_adult ya WHERE ya.id = ANY($1::uuid[]) AND {visible('ya', 2)}",
        list(ids), *scope.args)
    return {r["id"] for r in rows}


# --- young adults and their enrolments, as every feature reads them (visibility applied) ------------------------

YOUNG_ADULT_COLUMNS = (
    "ya.id, ya.given_name, ya.family_name, ya.date_of_birth, ya.prison_number, ya.probation_crn, ya.la_reference, "
    "ya.care_status, ya.responsible_local_authority, ya.entitlement_end_age, ya.entitlement_end_date, "
    "ya.access_restricted, ya.version, ya.created_at, ya.updated_at"
)
ENROLMENT_COLUMNS = (
    "e.id, e.young_adult_id, e.site_id, e.status, e.identified_on, e.referred_on, e.consented_on, e.exited_on, "
    "e.exit_reason, e.version"
)


# Young adults by id, as the scope may see them: the rows of `youngAdult(id:)` and `node(id:)` in both executors.
_VISIBLE_BY_ID = f"FROM young_adult ya WHERE ya.id = ANY($1::uuid[]) AND {visible('ya', 2)}"


async def young_adults_by_id(session: TenantSession, ids: Sequence[uuid.UUID], scope: Scope,
                             ) -> list[asyncpg.Record]:
    return await session.fetch(f"SELECT {YOUNG_ADULT_COLUMNS} {_VISIBLE_BY_ID}", list(ids), *scope.args)


def young_adult_page(scope: tuple[str, str], young_adult_id: uuid.UUID) -> tuple[str, list[object]]:
    """The compiled `youngAdult(id:)` root: SQL selecting the young adult's ``id`` and ``ord`` (1) when the scope
    (its site ids and practitioner as two SQL expressions, which the statement works out) may see them, no row
    otherwise; and its parameters. The same predicate as the loader's (:data:`_VISIBLE_BY_ID`)."""
    return (f"SELECT ya.id, 1 AS ord FROM young_adult ya WHERE ya.id = ANY($1::uuid[]) AND {visible_to('ya', *scope)}",
            [[young_adult_id]])


async def enrolments_for(session: TenantSession, young_adult_ids: Sequence[uuid.UUID], scope: Scope,
                         ) -> list[asyncpg.Record]:
    return await session.fetch(
        f"SELECT {ENROLMENT_COLUMNS} FROM enrolment e WHERE e.young_adult_id = ANY($1::uuid[]) "
        f"AND {visible_young_adult('e.young_adult_id', 2)} ORDER BY e.identified_on, e.created_at, e.id",
        list(young_adult_ids), *scope.args)


async def practitioners_by_subject(session: TenantSession, subjects: Sequence[str]) -> list[asyncpg.Record]:
    """The practitioner records linked to these logins, with their sites (for staff set-up and `tenantUsers`)."""
    return await session.fetch(
        f"SELECT {PRACTITIONER_COLUMNS}, p.subject, "
        "coalesce(array_agg(ps.site_id) FILTER (WHERE ps.site_id IS NOT NULL), '{}') AS site_ids "
        "FROM practitioner p LEFT JOIN practitioner_site ps ON ps.practitioner_id = p.id "
        "WHERE p.subject = ANY($1::text[]) GROUP BY p.id", list(subjects))


async def link_practitioner(session: TenantSession, practitioner_id: uuid.UUID, subject: str) -> bool:
    """Link a practitioner record that has no login yet to ``subject``; False if it is linked already."""
    linked = await session.fetchval(
        "UPDATE practitioner SET subject = $2, version = version + 1, updated_at = now() "
        "WHERE id = $1 AND subject IS NULL RETURNING id", practitioner_id, subject)
    return linked is not None


async def add_practitioner_sites(session: TenantSession, practitioner_id: uuid.UUID,
                                 site_ids: Sequence[uuid.UUID]) -> int:
    """Assign the practitioner to these sites as well; the number of assignments that were new."""
    added: int = await session.fetchval(
        "WITH added AS (INSERT INTO practitioner_site (practitioner_id, site_id) SELECT $1, unnest($2::uuid[]) "
        "ON CONFLICT DO NOTHING RETURNING 1) SELECT count(*) FROM added", practitioner_id, list(site_ids))
    return added


async def network_members_attending(session: TenantSession, ids: Sequence[uuid.UUID], scope: Scope,
                                    ) -> list[asyncpg.Record]:
    """Network members by id, as a meeting's attendance rule reads them: young adult, status, contact consent."""
    return await session.fetch(
        f"SELECT m.id, m.young_adult_id, m.status, {CONTACT_CONSENT} AS contact_consent FROM network_member m "
        f"JOIN young_adult ya ON ya.id = m.young_adult_id WHERE m.id = ANY($1::uuid[]) AND {visible('ya', 2)}",
        list(ids), *scope.args)
