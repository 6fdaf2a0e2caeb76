"""The unit of work: everything one request owns, typed, and the only way resolver and service code reaches data.

    principal      who is asking (verified token + grant)
    today          the programme's day for this request (Europe/London by default), computed once
    tenant()       the tenant session (case data, as the tenant's runtime role)
    control()      the control-plane session (as the login role, same connection and transaction)
    control_reads() control-plane reads run before the transaction when it has not begun (the practice rules)
    national()     the national session (rollups only, as the national role)
    platform()     the database's admin engine and jobs pool, for platform administrators' platform commands only
    jobs()         the jobs pool, for work a request starts and waits on but does not own (a reporting refresh)
    consults       views to record in the audit trail when the request ends
    loader()       per-request DataLoaders;  remember(): per-request memos under typed keys

One connection of the request pool at most, one transaction: whatever a request changes, on the tenant's side or
the control plane's, commits or rolls back as one when :meth:`end` is called by the request path — never by a
resolver or a service.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import date
from typing import Any, Generic, TypeVar

import asyncpg
from asyncpg.pool import PoolConnectionProxy
from strawberry.dataloader import DataLoader

from service.kernel import telemetry
from service.kernel.audit import ConsultLog
from service.kernel.database import Database
from service.kernel.errors import AccessDenied
from service.kernel.principal import Principal, Role
from service.kernel.session import (
    ControlReads,
    ControlSession,
    Home,
    NationalSession,
    RequestConnection,
    TenantSession,
)
from service.kernel.settings import Settings
from service.kernel.visibility import Scope

K = TypeVar("K")
V = TypeVar("V")
T = TypeVar("T")


@dataclass(frozen=True)
class MemoKey(Generic[T]):
    """A typed key for :meth:`UnitOfWork.remember`: features declare their own (``RULE_BOOKS = MemoKey[...]("…")``)
    and get back what they stored, with its type."""

    name: str


@dataclass(eq=False)
class UnitOfWork:
    principal: Principal
    database: Database
    request_id: str
    today: date
    connection: RequestConnection
    consults: ConsultLog = field(default_factory=ConsultLog)
    mutation: bool = False  # the operation changes data: any error rolls all of it back
    operation: str | None = None  # the operation's name, recorded with what it showed
    scope: Scope | None = None  # the caller's scope in the tenant, once computed (people.loaders.scope)
    _loaders: dict[str, DataLoader[Any, Any]] = field(default_factory=dict)
    _memos: dict[MemoKey[Any], Any] = field(default_factory=dict)
    _memo_locks: dict[MemoKey[Any], asyncio.Lock] = field(default_factory=dict)

    @classmethod
    def begin(cls, principal: Principal, database: Database, pool: asyncpg.Pool, request_id: str, today: date,
              held: PoolConnectionProxy[asyncpg.Record] | None = None) -> UnitOfWork:
        """The unit of work of one request; no transaction begins until a statement is made. ``held``: a connection
        of ``pool`` the request already holds, which the unit of work then owns (see RequestConnection)."""
        settings = database.settings
        if principal.reads_case_data:
            assert principal.tenant is not None
            home = Home.tenant(principal.tenant)
        elif principal.role is Role.NATIONAL_ANALYST:
            home = Home(settings.national_role, "control")
        else:
            home = Home(None)
        return cls(principal=principal, database=database, request_id=request_id, today=today,
                   connection=RequestConnection(pool, home, held))

    @property
    def settings(self) -> Settings:
        return self.database.settings

    def tenant(self) -> TenantSession:
        """The tenant session, for principals whose role reads case data. Platform administrators and national
        analysts have none: their requests never reach a tenant schema."""
        if not self.principal.reads_case_data:
            raise AccessDenied("This operation needs a tenant user; your role sees no case data.")
        assert self.principal.tenant is not None
        return TenantSession(self.connection, self.principal.tenant, self.today)

    def control(self) -> ControlSession:
        return ControlSession(self.connection)

    def control_reads(self) -> ControlReads:
        return ControlReads(self.connection)

    def national(self) -> NationalSession:
        if self.principal.role is not Role.NATIONAL_ANALYST:
            raise AccessDenied("National figures are for national analysts.")
        return NationalSession(self.connection)

    def platform(self) -> Database:
        """The admin engine (it creates roles and schemas) and the jobs pool: platform administrators' platform
        commands only (onboarding, lifecycle), never a request's tenant work."""
        if self.principal.role is not Role.PLATFORM_ADMIN:
            raise AccessDenied("Only platform administrators run platform commands.")
        return self.database

    async def jobs(self) -> asyncpg.Pool:
        """The jobs pool, for work the request starts and waits on but does not own (a reporting refresh): never
        the request pool, of which the request may already hold a connection."""
        return await self.database.open_jobs_pool()

    def loader(self, name: str, load: Callable[[list[K]], Awaitable[list[V]]]) -> DataLoader[K, V]:
        """One DataLoader per name per request."""
        found = self._loaders.get(name)
        if found is None:
            async def traced(keys: list[K]) -> list[V]:
                # One span per batch (the point of a DataLoader), never one per key or per field.
                with telemetry.span("dataloader.batch", {"dataloader.name": name,
                                                          "dataloader.batch_size": len(keys)}):
                    return await load(keys)

            found = DataLoader(load_fn=traced)
            self._loaders[name] = found
        return found

    async def remember(self, key: MemoKey[T], compute: Callable[[], Awaitable[T]]) -> T:
        """The value stored under ``key`` in this request, computed once (concurrent askers wait for it)."""
        if key in self._memos:
            value: T = self._memos[key]
            return value
        lock = self._memo_locks.setdefault(key, asyncio.Lock())
        async with lock:
            if key not in self._memos:
                self._memos[key] = await compute()
        value = self._memos[key]
        return value

    def know(self, key: MemoKey[T], value: T) -> None:
        """Store ``value`` under ``key`` for this request, read already by the request path (the practice rules the
        grant lookup read with the grant): :meth:`remember` then answers it without computing."""
        self._memos[key] = value

    @property
    def failure(self) -> BaseException | None:
        """The error that lost the request's transaction, if a statement failed outside a savepoint."""
        return self.connection.failure

    async def end(self, *, commit: bool) -> None:
        """End the request's transaction: record what was shown and commit, or roll back. A failed transaction is
        always rolled back, and then nothing was shown (the request path withdraws the data), so nothing is recorded.
        Raises what stopped a commit; the connection goes back to the pool clean either way."""
        commit = commit and self.failure is None
        try:
            if commit and self.consults.pending and self.principal.reads_case_data:
                await self.consults.flush(self.tenant(), self.principal, self.request_id, self.operation)
            await self.connection.finish(commit=commit)
        except BaseException:
            await self.connection.finish(commit=False)
            raise
