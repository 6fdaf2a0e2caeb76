"""Connections: an admin engine for migrations and provisioning, and the application pool for requests.

The admin engine connects as ``DATABASE_URL``'s user, which creates roles and schemas; it is used only by
platform operations. Request traffic uses an asyncpg pool logged in as the NOINHERIT application role, which can
read the control-plane registry and, inside a transaction, become one tenant's runtime role.
"""

from __future__ import annotations

from dataclasses import dataclass

import asyncpg
from sqlalchemy import URL, make_url, text
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from service.embedded import EmbeddedPostgres
from service.settings import Settings
from tenants import migrations
from tenants.provisioning import ensure_app_role, ensure_reporting_roles


def _sqlalchemy_url(url: str) -> URL:
    return make_url(url).set(drivername="postgresql+asyncpg")


def app_dsn(settings: Settings, admin_url: str) -> str:
    if settings.app_database_url:
        return settings.app_database_url
    url = make_url(admin_url).set(drivername="postgresql", username=settings.app_role, password=None)
    return url.render_as_string(hide_password=False)


@dataclass
class Database:
    settings: Settings
    admin_url: str
    engine: AsyncEngine
    embedded: EmbeddedPostgres | None = None
    pool: asyncpg.Pool | None = None

    @classmethod
    def connect(cls, settings: Settings) -> Database:
        """Resolve the server (starting the embedded one if no URL is set) and build the admin engine."""
        embedded = None
        url = settings.database_url
        if url is None:
            embedded = EmbeddedPostgres(settings.data_dir)
            url = embedded.start()
        engine = create_async_engine(_sqlalchemy_url(url), pool_size=2, max_overflow=2, pool_pre_ping=True)
        return cls(settings=settings, admin_url=url, engine=engine, embedded=embedded)

    async def migrate(self) -> None:
        """Upgrade the control plane, make sure the application role exists, and upgrade every tenant."""
        async with self.engine.begin() as conn:
            await conn.execute(text("SELECT pg_advisory_xact_lock(hashtext('always-hope:migrate'))"))
            async with migrations.ALEMBIC_LOCK:
                await conn.run_sync(migrations.upgrade_control)
            await conn.run_sync(ensure_app_role, self.settings.app_role)
            await conn.run_sync(ensure_reporting_roles, self.settings.app_role, self.settings.national_role)
        await migrate_all_tenants(self.engine)

    async def open_pool(self) -> asyncpg.Pool:
        if self.pool is None:
            self.pool = await asyncpg.create_pool(
                app_dsn(self.settings, self.admin_url),
                min_size=self.settings.pool_min_size,
                max_size=self.settings.pool_max_size,
            )
        return self.pool

    async def close(self) -> None:
        if self.pool is not None:
            await self.pool.close()
            self.pool = None
        await self.engine.dispose()
        if self.embedded is not None:
            self.embedded.stop()


async def migrate_all_tenants(engine: AsyncEngine) -> dict[str, str]:
    """Upgrade every tenant, each in its own transaction (see migrations.ALEMBIC_LOCK for why one at a time in a
    process). Returns slug -> revision."""
    async with engine.connect() as conn:
        rows = (await conn.execute(text("SELECT slug, schema_name, owner_role, runtime_role FROM control.tenant "
                                        "WHERE status <> 'PROVISIONING' ORDER BY slug"))).all()
    results: dict[str, str] = {}
    for slug, schema, owner, runtime in rows:
        async with engine.begin() as conn, migrations.ALEMBIC_LOCK:
            await conn.run_sync(migrations.upgrade_tenant_schema, schema, owner, runtime)
            revision = await conn.run_sync(migrations.current_revision, schema)
            await conn.execute(text("UPDATE control.tenant SET schema_revision = :r WHERE slug = :s"),
                               {"r": revision, "s": slug})
            results[slug] = revision or ""
    return results


async def is_ready(db: Database) -> bool:
    """Reachable and migrated: the control plane and every tenant are at their stream's head."""
    pool = db.pool
    if pool is None:
        return False
    try:
        async with pool.acquire(timeout=2) as conn:
            behind = await conn.fetchval(
                "SELECT count(*) FROM control.tenant WHERE schema_revision IS DISTINCT FROM $1",
                migrations.head("tenant"))
            return bool(behind == 0)
    except (OSError, asyncpg.PostgresError, TimeoutError):
        return False
