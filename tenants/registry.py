"""Reading the control plane's tenant registry (as the application login role, which may read it)."""

from __future__ import annotations

import asyncpg

from service.kernel.ids import TenantId
from service.kernel.session import Statements
from service.kernel.tenancy import Tenant

_COLUMNS = "id, slug, name, kind, status, schema_name, runtime_role"


def _tenant(row: asyncpg.Record) -> Tenant:
    return Tenant(id=TenantId(row["id"]), slug=row["slug"], name=row["name"], kind=row["kind"],
                  status=row["status"], schema=row["schema_name"], runtime_role=row["runtime_role"])


async def tenant_by_slug(conn: Statements, slug: str) -> Tenant | None:
    row = await conn.fetchrow(f"SELECT {_COLUMNS} FROM control.tenant WHERE slug = $1", slug)
    return None if row is None else _tenant(row)


async def tenant_by_id(conn: Statements, tenant_id: TenantId) -> Tenant | None:
    row = await conn.fetchrow(f"SELECT {_COLUMNS} FROM control.tenant WHERE id = $1", tenant_id)
    return None if row is None else _tenant(row)


async def all_tenants(conn: Statements) -> list[Tenant]:
    rows = await conn.fetch(f"SELECT {_COLUMNS} FROM control.tenant ORDER BY slug")
    return [_tenant(r) for r in rows]
