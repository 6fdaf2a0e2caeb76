"""SQL for tenant administration: sites (in the tenant's schema) and users' grants (in the control plane).

Site statements run on whatever tenant transaction the caller holds (the request's TenantSession, or a
``tenant_transaction`` a platform operation opened): they touch the ``site`` table only. Grants are written through
the request's control-plane session (in the request's transaction) or, at onboarding, an admin connection, always
for one tenant id the caller passes from its verified principal. The database itself lets the application role
write tenant grants only, never a platform role (row-level security, control migration c0005).
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any, Protocol

import asyncpg

from service.kernel.ids import TenantId
from service.kernel.session import Statements

SITE_COLUMNS = "id, code, name, kind, closed_at, version"
USER_COLUMNS = "subject, display_name, role, service, site_codes, active, version"


class Queries(Protocol):
    """A tenant transaction: the request's TenantSession or a connection inside ``tenant_transaction``."""

    async def fetch(self, sql: str, /, *args: Any) -> list[asyncpg.Record]: ...

    async def fetchrow(self, sql: str, /, *args: Any) -> asyncpg.Record | None: ...


async def site_by_code(q: Queries, code: str) -> asyncpg.Record | None:
    return await q.fetchrow(f"SELECT {SITE_COLUMNS} FROM site WHERE code = $1", code)


async def site_by_id(q: Queries, site_id: uuid.UUID) -> asyncpg.Record | None:
    return await q.fetchrow(f"SELECT {SITE_COLUMNS} FROM site WHERE id = $1", site_id)


async def all_sites(q: Queries) -> list[asyncpg.Record]:
    return await q.fetch(f"SELECT {SITE_COLUMNS} FROM site ORDER BY code")


async def insert_site(q: Queries, code: str, name: str, kind: str) -> asyncpg.Record:
    row = await q.fetchrow(f"INSERT INTO site (code, name, kind) VALUES ($1, $2, $3) RETURNING {SITE_COLUMNS}",
                           code, name, kind)
    assert row is not None
    return row


async def rename_site(q: Queries, site_id: uuid.UUID, version: int, name: str) -> asyncpg.Record | None:
    return await q.fetchrow(
        f"UPDATE site SET name = $3, version = version + 1, updated_at = now() WHERE id = $1 AND version = $2 "
        f"RETURNING {SITE_COLUMNS}", site_id, version, name)


async def close_site(q: Queries, site_id: uuid.UUID, version: int) -> asyncpg.Record | None:
    """Close a site: it keeps its rows and history, and takes no new work."""
    return await q.fetchrow(
        f"UPDATE site SET closed_at = now(), version = version + 1, updated_at = now() "
        f"WHERE id = $1 AND version = $2 RETURNING {SITE_COLUMNS}", site_id, version)


async def open_sites_by_code(q: Queries, codes: Sequence[str]) -> list[asyncpg.Record]:
    return await q.fetch(f"SELECT {SITE_COLUMNS} FROM site WHERE code = ANY($1::text[]) AND closed_at IS NULL",
                         list(codes))


async def open_site_codes(q: Queries, codes: Sequence[str]) -> set[str]:
    return {r["code"] for r in await open_sites_by_code(q, codes)}


async def open_sites_by_kind(q: Queries) -> dict[str, int]:
    rows = await q.fetch("SELECT kind, count(*) AS n FROM site WHERE closed_at IS NULL GROUP BY kind")
    return {r["kind"]: r["n"] for r in rows}


# --- grants in the control plane (the request's control-plane session, or an admin connection) --------------------

async def user(q: Statements, tenant_id: TenantId, subject: str, *, for_update: bool = False,
               ) -> asyncpg.Record | None:
    lock = " FOR UPDATE" if for_update else ""
    return await q.fetchrow(f"SELECT {USER_COLUMNS} FROM control.app_user WHERE tenant_id = $1 AND subject = $2{lock}",
                            tenant_id, subject)


async def users(q: Statements, tenant_id: TenantId) -> list[asyncpg.Record]:
    return await q.fetch(f"SELECT {USER_COLUMNS} FROM control.app_user WHERE tenant_id = $1 ORDER BY role, subject",
                         tenant_id)


async def upsert_user(q: Statements, tenant_id: TenantId, subject: str, role: str, service: str | None,
                      site_codes: Sequence[str], display_name: str) -> asyncpg.Record:
    row = await q.fetchrow(f"""
        INSERT INTO control.app_user (tenant_id, subject, display_name, role, service, site_codes)
        VALUES ($1, $2, $3, $4, $5, $6)
        ON CONFLICT ON CONSTRAINT app_user_subject_unique DO UPDATE
        SET role = excluded.role, service = excluded.service, site_codes = excluded.site_codes,
            display_name = excluded.display_name, active = true, version = app_user.version + 1, updated_at = now()
        RETURNING {USER_COLUMNS}""", tenant_id, subject, display_name, role, service, list(site_codes))
    assert row is not None
    return row


async def deactivate_user(q: Statements, tenant_id: TenantId, subject: str) -> asyncpg.Record | None:
    return await q.fetchrow(
        f"UPDATE control.app_user SET active = false, version = version + 1, updated_at = now() "
        f"WHERE tenant_id = $1 AND subject = $2 AND active RETURNING {USER_COLUMNS}", tenant_id, subject)


async def active_users_by_role(q: Statements, tenant_id: TenantId) -> dict[str, int]:
    rows = await q.fetch("SELECT role, count(*) AS n FROM control.app_user WHERE tenant_id = $1 AND active "
                         "GROUP BY role", tenant_id)
    return {r["role"]: r["n"] for r in rows}
