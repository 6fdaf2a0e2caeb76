"""Connections: an admin engine for migrations and provisioning, and the application pool for requests.

The admin engine connects as ``DATABASE_URL``'s user, which creates roles and schemas; it is used only by
platform operations. Request traffic uses an asyncpg pool logged in as the NOINHERIT application role, which can
read the control-plane registry and, inside a transaction, become one tenant's runtime role.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

import asyncpg
from asyncpg.pool import PoolConnectionProxy
from sqlalchemy import URL, make_url
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from service.kernel.embedded import EmbeddedPostgres
from service.kernel.session import PooledConnection
from service.kernel.settings import Settings

# asyncpg prepares (and PostgreSQL plans) a statement once per connection only up to this size (its default: 15 KiB):
# a compiled record is about 22 KiB of SQL, which would otherwise be parsed and planned on every request.
MAX_CACHEABLE_STATEMENT = 128 * 1024


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
    jobs_pool: asyncpg.Pool | None = None
    admin_pool: asyncpg.Pool | None = None
    _opening: asyncio.Lock = field(default_factory=asyncio.Lock, repr=False)

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

    @asynccontextmanager
    async def admin_transaction(self) -> AsyncIterator[PoolConnectionProxy[asyncpg.Record]]:
        """A transaction as the admin user, on a connection of a small pool of its own (opened on first use; a
        connection is reset when it goes back): platform commands and provisioning only. Onboarding one tenant
        takes three of these; each used to open and close a connection (a server process) of its own."""
        if self.admin_pool is None:
            async with self._opening:  # one pool, however many ask at once before it exists (as open_pool)
                if self.admin_pool is None:
                    self.admin_pool = await asyncpg.create_pool(
                        make_url(self.admin_url).set(drivername="postgresql").render_as_string(False), min_size=0,
                        max_size=4, server_settings={"TimeZone": self.settings.time_zone})
        async with self.admin_pool.acquire() as conn, conn.transaction():
            yield conn

    def app_password(self) -> str | None:
        """The app role's password, when APP_DATABASE_URL gives one for that role."""
        if not self.settings.app_database_url:
            return None
        url = make_url(self.settings.app_database_url)
        return url.password if url.username == self.settings.app_role and url.password else None

    def _server_settings(self, jobs: bool = False) -> dict[str, str]:
        # Every statement of request traffic, including the auth lookups, is bounded (0: no limit), and background
        # work by its own, longer bound; a timestamp's day (and current_date) is the programme's day, not the server's.
        timeout = self.settings.jobs_statement_timeout_ms if jobs else self.settings.statement_timeout_ms
        return {"statement_timeout": str(timeout), "TimeZone": self.settings.time_zone}

    async def open_pool(self) -> asyncpg.Pool:
        """The request pool: a request holds at most one of its connections (service.kernel.work). One pool, however
        many requests ask for it at once before it exists (each would otherwise make a pool of its own)."""
        if self.pool is not None:
            return self.pool
        async with self._opening:
            if self.pool is None:
                self.pool = await asyncpg.create_pool(
                    app_dsn(self.settings, self.admin_url), min_size=self.settings.pool_min_size,
                    max_size=self.settings.pool_max_size, server_settings=self._server_settings(),
                    max_cacheable_statement_size=MAX_CACHEABLE_STATEMENT, connection_class=PooledConnection)
        return self.pool

    async def open_jobs_pool(self) -> asyncpg.Pool:
        """A small pool for background work — the scheduled reporting refresh, or one a request asks for and waits
        on — so that such work never competes with requests for the request pool's connections."""
        if self.jobs_pool is None:
            self.jobs_pool = await asyncpg.create_pool(
                app_dsn(self.settings, self.admin_url), min_size=1, max_size=self.settings.jobs_pool_max_size,
                server_settings=self._server_settings(jobs=True), connection_class=PooledConnection)
        return self.jobs_pool

    async def close_pools(self) -> None:
        for pool in (self.pool, self.jobs_pool, self.admin_pool):
            if pool is not None:
                await pool.close()
        self.pool = self.jobs_pool = self.admin_pool = None

    async def close(self) -> None:
        await self.close_pools()
        await self.engine.dispose()
        if self.embedded is not None:
            self.embedded.stop()
