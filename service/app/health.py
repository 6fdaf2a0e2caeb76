"""Readiness: the database answers and every schema is migrated."""

from __future__ import annotations

from sqlalchemy.exc import SQLAlchemyError

from service.kernel.database import Database
from service.kernel.failures import DATABASE_UNAVAILABLE
from tenants import migrations


async def is_ready(db: Database) -> bool:
    """Reachable and migrated: the control plane and every tenant are at their stream's head, as each schema's own
    version table says (tenants.migrations.tenant_revisions; read through the admin engine, since the application
    role can read one tenant's schema at a time only)."""
    if db.pool is None:
        return False
    try:
        async with db.engine.connect() as conn:
            control = await conn.run_sync(migrations.current_revision, migrations.CONTROL_SCHEMA)
            tenants = await conn.run_sync(migrations.tenant_revisions)
        head = migrations.head("tenant")
        return control == migrations.head("control") and all(r == head for r in tenants.values())
    except SQLAlchemyError:
        return False
    except DATABASE_UNAVAILABLE:
        return False
