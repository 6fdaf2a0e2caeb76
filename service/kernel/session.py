"""The request's tenant session: one connection, one transaction, opened on first use, owned by the request.

Resolvers never commit. Sibling fields resolve concurrently but share one connection, so every statement goes
through a lock; DataLoaders batch so that a list field still costs one statement, not one per row.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Sequence
from contextlib import asynccontextmanager, contextmanager, suppress
from typing import Any, TypeVar

import asyncpg
from asyncpg.pool import PoolConnectionProxy

from service.kernel.failures import CONNECTION_LOST, DATABASE_UNAVAILABLE
from service.kernel.telemetry import db_span, statement_kind
from service.kernel.tenancy import Tenant, enter_tenant

T = TypeVar("T")



class TenantSession:
    def __init__(self, pool: asyncpg.Pool, tenant: Tenant, control: asyncpg.Pool | None = None) -> None:
        self.pool = pool
        # Where control-plane reads made during this session go (Database.open_control_pool): never `pool`'s
        # own connections, which this session may be holding.
        self.control = control
        self.tenant = tenant
        self._conn: PoolConnectionProxy[asyncpg.Record] | None = None
        self._tx: asyncpg.transaction.Transaction | None = None
        self._lock = asyncio.Lock()
        self.statements = 0  # counted so tests can assert a list field's cost does not grow with its length

    async def _connection(self) -> PoolConnectionProxy[asyncpg.Record]:
        if self._conn is None:
            conn = await self.pool.acquire()
            try:
                with db_span("BEGIN", "db enter tenant"), _lost_connection(conn):
                    tx = conn.transaction()
                    await tx.start()
                    await enter_tenant(conn, self.tenant)
            except BaseException:
                with suppress(*CONNECTION_LOST):
                    await self.pool.release(conn)
                raise
            self._conn, self._tx = conn, tx
        return self._conn

    async def _statement(self, sql: str, call: Callable[[PoolConnectionProxy[asyncpg.Record]], Awaitable[T]]) -> T:
        async with self._lock:
            conn = await self._connection()
            self.statements += 1
            with db_span(statement_kind(sql)), _lost_connection(conn):
                return await call(conn)

    async def fetch(self, sql: str, *args: Any) -> list[asyncpg.Record]:
        return await self._statement(sql, lambda conn: conn.fetch(sql, *args))

    async def fetchrow(self, sql: str, *args: Any) -> asyncpg.Record | None:
        return await self._statement(sql, lambda conn: conn.fetchrow(sql, *args))

    async def fetchval(self, sql: str, *args: Any) -> Any:
        return await self._statement(sql, lambda conn: conn.fetchval(sql, *args))

    async def executemany(self, sql: str, args: Sequence[Sequence[Any]]) -> None:
        await self._statement(sql, lambda conn: conn.executemany(sql, args))

    @asynccontextmanager
    async def savepoint(self) -> AsyncIterator[None]:
        """Everything inside is undone if it raises; used so a mutation refused as data writes nothing."""
        async with self._lock:
            conn = await self._connection()
            sp = conn.transaction()
            with _lost_connection(conn):
                await sp.start()
        try:
            yield
        except BaseException:
            async with self._lock:
                # A lost connection takes the transaction with it; the original error says why.
                with suppress(*CONNECTION_LOST):
                    await sp.rollback()
            raise
        else:
            async with self._lock:
                with _lost_connection(conn):
                    await sp.commit()

    async def finish(self, *, commit: bool) -> None:
        """End the transaction and return the connection. Safe to call more than once."""
        conn, tx = self._conn, self._tx
        self._conn = self._tx = None
        if conn is None or tx is None:
            return
        try:
            with db_span("COMMIT" if commit else "ROLLBACK"), _lost_connection(conn):
                if commit:
                    await tx.commit()
                else:
                    await tx.rollback()
        except DATABASE_UNAVAILABLE:
            if commit:
                raise
            # A rollback on a lost connection: the server has already discarded the transaction.
        finally:
            # On a broken connection asyncpg's reset fails and it terminates the connection; the pool opens a new
            # one on the next acquire.
            with suppress(*CONNECTION_LOST):
                await self.pool.release(conn)


@contextmanager
def _lost_connection(conn: PoolConnectionProxy[asyncpg.Record]) -> Iterator[None]:
    """asyncpg reports a connection lost mid-statement in several ways (InterfaceError "connection is closed",
    InternalClientError "another operation is in progress"); make them all ConnectionDoesNotExistError, which
    the request answers as UNAVAILABLE. A live connection's InterfaceError is a bug, and stays what it is."""
    try:
        yield
    except (asyncpg.InterfaceError, asyncpg.InternalClientError) as exc:
        if _closed(conn) and not isinstance(exc, asyncpg.ConnectionDoesNotExistError):
            raise asyncpg.ConnectionDoesNotExistError("the connection to the database was lost") from exc
        raise


def _closed(conn: PoolConnectionProxy[asyncpg.Record]) -> bool:
    try:
        return conn.is_closed()
    except asyncpg.InterfaceError:  # the pool has already taken the broken connection back
        return True
