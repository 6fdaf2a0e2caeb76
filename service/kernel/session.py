"""The request's database work: one connection, one transaction, opened on first use and owned by the unit of work.

A request never holds more than one connection of the pool. Its statements run as the connection's *home* role —
a tenant's runtime role with the tenant's schema on the search path, the national role, or the application login
role itself — and a control-plane statement made during the request runs on the same connection as the login role
for the length of that statement (``SET LOCAL ROLE NONE`` before it, the home role again after it). So a mutation
that changes a tenant's rows and control-plane rows (a rule batch, a grant) commits or rolls back as one. A
control-plane *read* that need not be in the transaction (the practice rules: :class:`ControlReads`) runs before it
begins, on the same connection, as the login role without a switch: one round trip instead of three.

Sibling fields resolve concurrently but share the connection, so every statement goes through one lock. The first
statement that fails outside a savepoint marks the transaction failed: every later statement raises that same error
at once (instead of ``InFailedSQLTransactionError`` from the server), and the transaction can only be rolled back.
Resolvers and services never commit; the unit of work does, once, when the request ends.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Mapping, Sequence
from contextlib import asynccontextmanager, contextmanager, suppress
from dataclasses import dataclass
from datetime import date
from typing import Any, Protocol, TypeVar

import asyncpg
from asyncpg.pool import PoolConnectionProxy

from service.kernel.failures import CONNECTION_LOST, DATABASE_UNAVAILABLE
from service.kernel.telemetry import db_span, statement_kind
from service.kernel.tenancy import ENTER_TENANT, Tenant

T = TypeVar("T")

_LOGIN_ROLE = "SELECT set_config('role', 'none', true)"
_HOME_ROLE = "SELECT set_config('role', $1, true)"
# Names the control plane generates (tenants.slugs): safe to write into a statement as literals, so that BEGIN and
# the switch to the home role travel together in one round trip (the simple-query protocol takes no parameters).
_PLAIN_NAME = re.compile(r"[A-Za-z0-9_]{1,63}")


class PooledConnection(asyncpg.Connection):
    """The request pool's connections: a transaction ends in the same round trip as the pool's reset of the session
    (``COMMIT; <reset query>``), so that giving the connection back costs no round trip of its own.

    asyncpg resets a connection when it goes back to the pool (advisory locks, cursors, LISTEN, session settings:
    :meth:`asyncpg.Connection.get_reset_query`). :meth:`end` sends that same reset after the COMMIT or ROLLBACK and
    notes it, and the pool's next reset then has nothing to send. A connection ended any other way is reset as
    usual. Only the query text moves; what is reset is unchanged."""

    __slots__ = ("_reset_sent",)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._reset_sent = False

    def get_reset_query(self) -> str:
        if self._reset_sent:
            self._reset_sent = False
            return ""
        query: str = super().get_reset_query()
        return query

    async def end(self, command: str) -> None:
        """``COMMIT`` or ``ROLLBACK``, with the pool's reset in the same round trip. A COMMIT that fails stops the
        batch there (the server skips the rest of it), and the pool resets the connection as usual."""
        assert command in ("COMMIT", "ROLLBACK")
        self._reset_sent = False
        await self.execute(f"{command};\n{super().get_reset_query()}")
        self._reset_sent = True

    async def begin(self, role: str | None, search_path: str, settings: Mapping[str, str]) -> bool:
        """BEGIN and, for a role, the switch to it (as :data:`ENTER_TENANT` does), then the transaction's own
        ``settings`` (SET LOCAL), in one round trip; False (and nothing sent) for names or values that are not plain,
        which the caller then sets with parameters."""
        local = {"role": role, "search_path": search_path} if role is not None else {}
        local.update(settings)
        if not all(_PLAIN_NAME.fullmatch(text) for pair in local.items() for text in pair):
            return False
        switches = ", ".join(f"set_config('{name}', '{value}', true)" for name, value in local.items())
        await self.execute(f"BEGIN; SELECT {switches}" if switches else "BEGIN")
        return True


class Statements(Protocol):
    """What repositories need of a session: parameterised statements, nothing else."""

    async def fetch(self, sql: str, /, *args: Any) -> list[asyncpg.Record]: ...
    async def fetchrow(self, sql: str, /, *args: Any) -> asyncpg.Record | None: ...
    async def fetchval(self, sql: str, /, *args: Any) -> Any: ...
    async def executemany(self, sql: str, args: Sequence[Sequence[Any]], /) -> None: ...


@dataclass(frozen=True, slots=True)
class Home:
    """The role (and search path) a request's statements run as. ``role`` None: the login role itself."""

    role: str | None
    search_path: str = "pg_catalog"

    @classmethod
    def tenant(cls, tenant: Tenant) -> Home:
        return cls(tenant.runtime_role, tenant.schema)


class TransactionFailed(Exception):
    """Raised for a statement sent after an earlier one failed: the transaction is lost, say why once."""


class RequestConnection:
    """The one connection and transaction of a request (see the module's docstring)."""

    def __init__(self, pool: asyncpg.Pool, home: Home, held: PoolConnectionProxy[asyncpg.Record] | None = None,
                 ) -> None:
        self.pool = pool
        self.home = home
        # A connection of ``pool`` the request already holds (the one its grant was read on): the transaction begins
        # on it rather than on a second acquire, and it goes back to the pool when the request ends.
        self._held = held
        self._conn: PoolConnectionProxy[asyncpg.Record] | None = None
        self._lock = asyncio.Lock()
        self._savepoints = 0
        self._savepoint_names = 0
        self._ended = False
        self._settings: dict[str, str] = {}  # set for the transaction when it begins (set_local)
        self.failure: BaseException | None = None
        self.statements = 0  # counted so tests can assert a list field's cost does not grow with its length

    @property
    def opened(self) -> bool:
        return self._conn is not None

    async def set_local(self, name: str, value: str) -> None:
        """A setting for the rest of the transaction (``SET LOCAL``): sent with BEGIN when the transaction has not
        begun yet, at no round trip of its own; otherwise as a statement now."""
        async with self._lock:
            self._usable()
            if self._conn is None:
                self._settings[name] = value
                return
        await self.run("SELECT", lambda conn: conn.fetchval("SELECT set_config($1, $2, true)", name, value))

    async def _idle(self) -> PoolConnectionProxy[asyncpg.Record]:
        """The request's connection before its transaction begins (acquired now if the request holds none)."""
        self._usable()
        if self._held is None:
            self._held = await self.pool.acquire()
        return self._held

    def _usable(self) -> None:
        if self.failure is not None:
            raise self.failure
        if self._ended:
            # A sibling field still resolving after the request ended (a root field failed and GraphQL stopped
            # waiting): it must not open a second transaction that nobody would end.
            raise TransactionFailed("The request has already ended.")

    async def _connection(self) -> PoolConnectionProxy[asyncpg.Record]:
        self._usable()
        if self._conn is None:
            if self._held is not None:
                conn, self._held = self._held, None
            else:
                conn = await self.pool.acquire()
            try:
                with db_span("BEGIN", "db begin"), _lost_connection(conn):
                    await _begin(conn, self.home, self._settings)
            except BaseException:
                with suppress(*CONNECTION_LOST):
                    await self.pool.release(conn)  # asyncpg rolls back a transaction left open on release
                raise
            self._conn = conn
        return self._conn

    async def run(self, sql: str, call: Callable[[PoolConnectionProxy[asyncpg.Record]], Awaitable[T]], *,
                  control: bool = False, before: bool = False) -> T:
        """Run one statement (as the login role on the control plane when ``control``), under the lock; with
        ``before``, a read (SELECT) that runs before the transaction when it has not begun yet (ControlReads).

        Shielded from cancellation: GraphQL cancels a field's siblings when one fails, and a statement cut off
        half-way leaves the connection mid-protocol, so that the rollback fails and the pool is handed a connection
        with an open transaction. The statement finishes (the request's end waits for it under the lock); the
        cancelled field still sees its cancellation."""
        kind = statement_kind(sql)
        if before and kind != "SELECT":
            raise ValueError("Only a read may run before the request's transaction: it would commit on its own.")
        return await asyncio.shield(self._run(kind, call, control, before))

    async def _run(self, kind: str, call: Callable[[PoolConnectionProxy[asyncpg.Record]], Awaitable[T]],
                   control: bool, before: bool) -> T:
        async with self._lock:
            before = before and self._conn is None
            conn = await (self._idle() if before else self._connection())
            self.statements += 1
            try:
                with db_span(kind), _lost_connection(conn):
                    if control and not before and self.home.role is not None:
                        await conn.fetchrow(_LOGIN_ROLE)
                        result = await call(conn)
                        await conn.fetchrow(_HOME_ROLE, self.home.role)
                        return result
                    return await call(conn)
            except BaseException as exc:
                if self._savepoints == 0:
                    self.failure = exc
                raise

    @asynccontextmanager
    async def savepoint(self) -> AsyncIterator[None]:
        """Everything inside is undone if it raises; used so a mutation refused as data writes nothing. A statement
        that fails inside is undone with it, and the transaction goes on."""
        async with self._lock:
            conn = await self._connection()
            self._savepoints += 1
            self._savepoint_names += 1
            name = f"request_sp{self._savepoint_names}"  # each its own name, as asyncpg's were
            try:
                with _lost_connection(conn):
                    await conn.execute(f"SAVEPOINT {name}")
            except BaseException:
                self._savepoints -= 1
                raise
        try:
            yield
        except BaseException:
            async with self._lock:
                self._savepoints -= 1
                try:
                    with _lost_connection(conn):
                        await conn.execute(f"ROLLBACK TO SAVEPOINT {name}; RELEASE SAVEPOINT {name}")
                except CONNECTION_LOST as lost:
                    self.failure = lost  # the connection took the transaction with it; the original error says why
            # Rolling back to the savepoint also undoes any SET LOCAL made inside it, so the home role is back.
            raise
        else:
            async with self._lock:
                self._savepoints -= 1
                try:
                    with _lost_connection(conn):
                        await conn.execute(f"RELEASE SAVEPOINT {name}")
                except BaseException as exc:
                    self.failure = exc
                    raise

    async def finish(self, *, commit: bool) -> None:
        """End the transaction and give the connection back, clean. A failed transaction is rolled back whatever
        ``commit`` says. Safe to call more than once."""
        async with self._lock:
            conn, self._conn = self._conn, None
            self._ended = True
            if self._held is not None:  # held for the request but never used: back to the pool
                held, self._held = self._held, None
                with suppress(*CONNECTION_LOST):
                    await self.pool.release(held)
            if conn is None:
                return
            commit = commit and self.failure is None
            try:
                with db_span("COMMIT" if commit else "ROLLBACK"), _lost_connection(conn):
                    await _end(conn, "COMMIT" if commit else "ROLLBACK")
            except DATABASE_UNAVAILABLE:
                if commit:
                    raise
                # A rollback on a lost connection: the server has already discarded the transaction.
            except BaseException:
                if commit:
                    raise
                # A rollback that fails leaves the connection in an unknown state: asyncpg's release resets or
                # closes it, and the pool opens a new one when needed.
            finally:
                with suppress(*CONNECTION_LOST):
                    await self.pool.release(conn)


class _Statements:
    def __init__(self, connection: RequestConnection, *, control: bool, before: bool = False) -> None:
        self.connection = connection
        self._control = control
        self._before = before

    @property
    def statements(self) -> int:
        return self.connection.statements

    async def fetch(self, sql: str, *args: Any) -> list[asyncpg.Record]:
        return await self.connection.run(sql, lambda conn: conn.fetch(sql, *args), control=self._control,
                                         before=self._before)

    async def fetchrow(self, sql: str, *args: Any) -> asyncpg.Record | None:
        return await self.connection.run(sql, lambda conn: conn.fetchrow(sql, *args), control=self._control,
                                         before=self._before)

    async def fetchval(self, sql: str, *args: Any) -> Any:
        return await self.connection.run(sql, lambda conn: conn.fetchval(sql, *args), control=self._control,
                                         before=self._before)

    async def executemany(self, sql: str, args: Sequence[Sequence[Any]]) -> None:
        await self.connection.run(sql, lambda conn: conn.executemany(sql, args), control=self._control,
                                  before=self._before)

    def savepoint(self) -> Any:
        return self.connection.savepoint()


class ControlSession(_Statements):
    """Statements on the control plane (``control.*``) as the application login role, on the request's connection
    and in its transaction. The login role may read the control plane and write only what a request may change
    (rule versions, a tenant's own grants); see the control migrations for its privileges."""

    def __init__(self, connection: RequestConnection) -> None:
        super().__init__(connection, control=True)


class ControlReads(_Statements):
    """Reads of the control plane as the login role (the practice rules) that need not wait for the request's
    transaction. Before it begins, a read runs on the request's connection outside any transaction, as the login
    role it already is: one round trip, where a control statement inside the transaction takes three (the role
    dropped, the statement, the home role again). Once it has begun, a read runs inside it as ControlSession's do,
    and so sees what the request wrote. Under READ COMMITTED every statement reads its own snapshot, so a read just
    before BEGIN sees what it would have seen as the transaction's first statement. SELECT only: anything else here
    would commit on its own, and is refused before it is sent."""

    def __init__(self, connection: RequestConnection) -> None:
        super().__init__(connection, control=True, before=True)


class TenantSession(_Statements):
    """Statements in one tenant's schema as its runtime role: the only way request code reaches case data. It
    knows the request's day and reaches the control plane (practice rules) on the same connection."""

    def __init__(self, connection: RequestConnection, tenant: Tenant, today: date) -> None:
        super().__init__(connection, control=False)
        self.tenant = tenant
        self.today = today
        self.control = ControlSession(connection)


class NationalSession(_Statements):
    """Statements as the national role, which may read the reporting rollups and nothing else."""

    def __init__(self, connection: RequestConnection) -> None:
        super().__init__(connection, control=False)


async def _begin(conn: PoolConnectionProxy[asyncpg.Record], home: Home, settings: Mapping[str, str]) -> None:
    """BEGIN, then the home role and search path and the transaction's ``settings`` (SET LOCAL: they end with the
    transaction); one round trip on the request pool's connections (:class:`PooledConnection`), more elsewhere."""
    begin = getattr(conn, "begin", None)  # a PooledConnection's, through the pool's proxy
    if begin is not None and await begin(home.role, home.search_path, settings):
        return
    await conn.execute("BEGIN")
    if home.role is not None:
        await conn.fetchrow(ENTER_TENANT, home.role, home.search_path)
    for name, value in settings.items():
        await conn.fetchval("SELECT set_config($1, $2, true)", name, value)


async def _end(conn: PoolConnectionProxy[asyncpg.Record], command: str) -> None:
    """COMMIT or ROLLBACK (with the pool's reset in the same round trip on a :class:`PooledConnection`)."""
    end = getattr(conn, "end", None)
    if end is not None:
        await end(command)
    else:
        await conn.execute(command)


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
