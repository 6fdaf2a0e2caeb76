"""The request's tenant session: one connection, one transaction, opened on first use, owned by the request.

Resolvers never commit. Sibling fields resolve concurrently but share one connection, so every statement goes
through a lock; DataLoaders batch so that a list field still costs one statement, not one per row.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from typing import Any

import asyncpg
from asyncpg.pool import PoolConnectionProxy

from service.db import DATABASE_UNAVAILABLE
from service.telemetry import db_span, statement_kind
from tenants.isolation import Tenant, enter_tenant


class TenantSession:
    def __init__(self, pool: asyncpg.Pool, tenant: Tenant) -> None:
        self.pool = pool
        self.tenant = tenant
        self._conn: PoolConnectionProxy[asyncpg.Record] | None = None
        self._tx: asyncpg.transaction.Transaction | None = None
        self._lock = asyncio.Lock()
        self.statements = 0  # counted so tests can assert a list field's cost does not grow with its length

    async def _connection(self) -> PoolConnectionProxy[asyncpg.Record]:
        if self._conn is None:
            conn = await self.pool.acquire()
            try:
                with db_span("BEGIN", "db enter tenant"):
                    tx = conn.transaction()
                    await tx.start()
                    await enter_tenant(conn, self.tenant)
            except BaseException:
                await self.pool.release(conn)
                raise
            self._conn, self._tx = conn, tx
        return self._conn

    async def fetch(self, sql: str, *args: Any) -> list[asyncpg.Record]:
        async with self._lock:
            conn = await self._connection()
            self.statements += 1
            with db_span(statement_kind(sql)):
                return await conn.fetch(sql, *args)

    async def fetchrow(self, sql: str, *args: Any) -> asyncpg.Record | None:
        async with self._lock:
            conn = await self._connection()
            self.statements += 1
            with db_span(statement_kind(sql)):
                return await conn.fetchrow(sql, *args)

    async def fetchval(self, sql: str, *args: Any) -> Any:
        async with self._lock:
            conn = await self._connection()
            self.statements += 1
            with db_span(statement_kind(sql)):
                return await conn.fetchval(sql, *args)

    async def executemany(self, sql: str, args: Sequence[Sequence[Any]]) -> None:
        async with self._lock:
            conn = await self._connection()
            self.statements += 1
            with db_span(statement_kind(sql)):
                await conn.executemany(sql, args)

    @asynccontextmanager
    async def savepoint(self) -> AsyncIterator[None]:
        """Everything inside is undone if it raises; used so a mutation refused as data writes nothing."""
        async with self._lock:
            conn = await self._connection()
            sp = conn.transaction()
            await sp.start()
        try:
            yield
        except BaseException:
            async with self._lock:
                await sp.rollback()
            raise
        else:
            async with self._lock:
                await sp.commit()

    async def finish(self, *, commit: bool) -> None:
        """End the transaction and return the connection. Safe to call more than once."""
        conn, tx = self._conn, self._tx
        self._conn = self._tx = None
        if conn is None or tx is None:
            return
        try:
            with db_span("COMMIT" if commit else "ROLLBACK"):
                if commit:
                    await tx.commit()
                else:
                    await tx.rollback()
        except DATABASE_UNAVAILABLE:
            if commit:
                raise
            # A rollback on a lost connection: the server has already discarded the transaction.
        finally:
            await self.pool.release(conn)
