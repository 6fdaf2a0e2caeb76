"""The one way request code reaches a tenant's data: a transaction running as the tenant's runtime role.

``SET LOCAL`` (here through ``set_config(..., is_local => true)``, the parameterised form) lasts exactly as long as
the transaction, so a pooled connection can never carry one tenant's role into the next request. A session-level
``SET ROLE`` would survive asyncpg's ``RESET ALL`` on release.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, TypeAlias

import asyncpg

from service.kernel.ids import TenantId

if TYPE_CHECKING:
    from asyncpg.pool import PoolConnectionProxy

    # A connection of our own or one borrowed from a pool: the same to every caller.
    Connection: TypeAlias = asyncpg.Connection[asyncpg.Record] | PoolConnectionProxy[asyncpg.Record]
else:
    Connection = asyncpg.Connection

ENTER_TENANT = "SELECT set_config('role', $1, true), set_config('search_path', $2, true)"


@dataclass(frozen=True, slots=True)
class Tenant:
    id: TenantId
    slug: str
    name: str
    kind: str
    status: str
    schema: str
    runtime_role: str


async def enter_tenant(conn: Connection, tenant: Tenant) -> None:
    """Switch the current transaction to the tenant's role and schema. Must run inside a transaction."""
    assert conn.is_in_transaction(), "SET LOCAL outside a transaction would silently do nothing"
    await conn.fetchrow(ENTER_TENANT, tenant.runtime_role, tenant.schema)


@asynccontextmanager
async def tenant_transaction(pool: asyncpg.Pool, tenant: Tenant) -> AsyncIterator[Connection]:
    """A transaction in ``tenant``; commits on normal exit, rolls back on an exception."""
    async with pool.acquire() as conn, conn.transaction():
        await enter_tenant(conn, tenant)
        yield conn
