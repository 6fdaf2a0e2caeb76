"""Connections: an admin engine for migrations and provisioning, and the application pool for requests.

The admin engine connects as ``DATABASE_URL``'s user, which creates roles and schemas; it is used only by
platform operations. Request traffic uses an asyncpg pool logged in as the NOINHERIT application role, which can
read the control-plane registry and, inside a transaction, become one tenant's runtime role.
"""

from __future__ import annotations

from dataclasses import dataclass

import asyncpg
from sqlalchemy import URL, make_url
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from service.embedded import EmbeddedPostgres
from service.kernel.failures import DATABASE_UNAVAILABLE
from service.kernel.settings import Settings
from tenants import migrations, runner
from tenants.runner import RunResult


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
    control_pool: asyncpg.Pool | None = None

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

    async def migrate(self, *, jobs: int = 1) -> RunResult:
        """Upgrade the control plane, make sure the application role exists, and upgrade every tenant (see
        tenants.runner). Waits for a migration already running elsewhere rather than failing."""
        return await runner.run(self.engine, self.admin_url, self.settings.app_role, jobs=jobs, wait=True,
                                app_password=self.app_password())

    def app_password(self) -> str | None:
        """The app role's password, when APP_DATABASE_URL gives one for that role."""
        if not self.settings.app_database_url:
            return None
        url = make_url(self.settings.app_database_url)
        return url.password if url.username == self.settings.app_role and url.password else None

    async def open_pool(self) -> asyncpg.Pool:
        if self.pool is None:
            self.pool = await asyncpg.create_pool(
                app_dsn(self.settings, self.admin_url),
                min_size=self.settings.pool_min_size,
                max_size=self.settings.pool_max_size,
                # Every statement of request traffic, including the auth lookups, is bounded; 0 means no limit.
                server_settings={"statement_timeout": str(self.settings.statement_timeout_ms)},
            )
        return self.pool

    async def open_control_pool(self) -> asyncpg.Pool:
        """A small pool for the control-plane reads a request makes while it holds its tenant connection (practice
        rules). Separate from the request pool so such a read can never wait on a connection its own request
        holds: with one pool, enough concurrent requests would each hold one and wait for another, for ever."""
        if self.control_pool is None:
            self.control_pool = await asyncpg.create_pool(
                app_dsn(self.settings, self.admin_url), min_size=1, max_size=self.settings.control_pool_max_size,
                server_settings={"statement_timeout": str(self.settings.statement_timeout_ms)})
        return self.control_pool

    async def close_pools(self) -> None:
        for pool in (self.pool, self.control_pool):
            if pool is not None:
                await pool.close()
        self.pool = self.control_pool = None

    async def close(self) -> None:
        await self.close_pools()
        await self.engine.dispose()
        if self.embedded is not None:
            self.embedded.stop()


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
