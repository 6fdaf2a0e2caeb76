"""Readiness: the database answers and every schema is migrated."""

from __future__ import annotations

import asyncpg

from service.kernel.database import Database
from service.kernel.failures import DATABASE_UNAVAILABLE
from tenants import migrations


async def is_ready(db: Database) -> bool:
    """Reachable and migrated: the control plane and every tenant are at their stream's head."""
    pool = db.pool
    if pool is None:
        return False
    try:
        async with pool.acquire(timeout=2) as conn:
            control = await conn.fetchval("SELECT version_num FROM control.alembic_version")
            behind = await conn.fetchval(
                "SELECT count(*) FROM control.tenant WHERE schema_revision IS DISTINCT FROM $1",
                migrations.head("tenant"))
            return bool(control == migrations.head("control") and behind == 0)
    except asyncpg.PostgresError:
        return False
    except DATABASE_UNAVAILABLE:
        return False
