"""`always-hope migrate`: the control plane, then every tenant — one transaction each, several at a time.

* **One run at a time.** A session-level advisory lock, held on a dedicated connection for the whole run, keeps two
  runs from overlapping; a second run is refused with :class:`MigrationInProgress` (or waits, for ``serve``).
* **Bounded parallelism from processes.** alembic keeps module-global proxies (see migrations.ALEMBIC_LOCK), so
  tenants are migrated in up to ``jobs`` worker processes, each with its own event loop and engine; with
  ``jobs=1`` they are migrated one after another in this process.
* **A failure stays with its tenant.** Each tenant is upgraded in one transaction as its owner role: a tenant that
  fails is rolled back to its previous revision, reported, and the others go on. A rerun only dispatches tenants
  whose recorded revision is not the target.
* **Requests keep flowing.** Nothing here locks the control plane for longer than one tenant's row update, and
  every tenant transaction sets a ``lock_timeout``: a migration that would queue behind (and so block) a tenant's
  live requests gives up, is reported, and is retried by the next run. Migrations are expand/contract.

Every tenant's attempt is recorded in ``control.tenant_migration``.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import time
from collections.abc import AsyncIterator, Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

import asyncpg
from sqlalchemy import make_url, text
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine
from sqlalchemy.pool import NullPool

from service.kernel.database import Database
from tenants import migrations
from tenants.lifecycle import asyncpg_dsn
from tenants.provisioning import ensure_app_role, ensure_reporting_roles, national_role

LOCK_KEY = "always-hope:migrate"
LOCK_TIMEOUT = "5s"


class MigrationInProgress(Exception):
    """Another `migrate` holds the run lock."""


@dataclass(frozen=True, slots=True)
class Job:
    tenant_id: str
    slug: str
    schema: str
    owner_role: str
    runtime_role: str
    extra_locations: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class TenantResult:
    slug: str
    from_revision: str | None
    to_revision: str | None
    outcome: str  # SUCCEEDED, FAILED or UP_TO_DATE
    seconds: float
    error: str | None = None


@dataclass(frozen=True, slots=True)
class RunResult:
    control_revision: str | None
    target: str
    tenants: list[TenantResult]

    @property
    def failed(self) -> list[TenantResult]:
        return [t for t in self.tenants if t.outcome == "FAILED"]


def describe_error(exc: BaseException) -> str:
    """What to record about a failure without personal data: the error class and SQLSTATE; the message only for
    class 42 (missing or clashing objects, syntax), whose messages name schema objects and never row values."""
    orig = getattr(exc, "orig", None)
    cause = getattr(orig, "__cause__", None) or orig or exc
    sqlstate = getattr(cause, "sqlstate", None)
    kind = type(cause).__name__
    if sqlstate is None:
        return kind
    if str(sqlstate).startswith("42"):
        message = str(getattr(cause, "message", "") or "").splitlines()[0][:200]
        return f"{kind} (SQLSTATE {sqlstate}): {message}"
    return f"{kind} (SQLSTATE {sqlstate})"


async def migrate_tenant(engine: AsyncEngine, job: Job) -> TenantResult:
    """Upgrade one tenant in one transaction and record the attempt. Never raises for a failed migration."""
    started = time.perf_counter()
    extra = [Path(p) for p in job.extra_locations]
    async with engine.begin() as conn:
        from_revision = await conn.run_sync(migrations.current_revision, job.schema)
        started_at = (await conn.execute(text(
            "INSERT INTO control.tenant_migration (tenant_id, from_revision, outcome) "
            "VALUES (:id, :rev, 'RUNNING') RETURNING started_at"), {"id": job.tenant_id, "rev": from_revision})
        ).scalar_one()
    outcome, error, to_revision = "SUCCEEDED", None, from_revision
    try:
        async with engine.begin() as conn:
            await conn.execute(text("SELECT set_config('lock_timeout', :t, true)"), {"t": LOCK_TIMEOUT})
            await conn.run_sync(migrations.upgrade_tenant_schema, job.schema, job.owner_role, job.runtime_role,
                                "head", extra)
            to_revision = await conn.run_sync(migrations.current_revision, job.schema)
            await conn.execute(text("UPDATE control.tenant SET schema_revision = :r WHERE id = :id"),
                               {"r": to_revision, "id": job.tenant_id})
    except Exception as exc:  # any failure stays with this tenant; the run goes on
        outcome, error, to_revision = "FAILED", describe_error(exc), from_revision
    async with engine.begin() as conn:
        await conn.execute(text(
            "UPDATE control.tenant_migration SET finished_at = clock_timestamp(), to_revision = :to, "
            "outcome = :outcome, error = :error WHERE tenant_id = :id AND started_at = :started"),
            {"to": to_revision, "outcome": outcome, "error": error, "id": job.tenant_id, "started": started_at})
    return TenantResult(job.slug, from_revision, to_revision, outcome, time.perf_counter() - started, error)


# --- worker processes -------------------------------------------------------------------------------------------
# Each worker keeps one event loop and one engine for its life; module globals are the process pool's way to hand
# state from the initializer to the tasks (each worker process has its own copy).
_worker_loop: asyncio.AbstractEventLoop | None = None
_worker_engine: AsyncEngine | None = None


def _init_worker(url: str) -> None:
    global _worker_loop, _worker_engine
    _worker_loop = asyncio.new_event_loop()
    _worker_engine = create_async_engine(make_url(url).set(drivername="postgresql+asyncpg"), poolclass=NullPool)


def _migrate_in_worker(job: Job) -> TenantResult:
    assert _worker_loop is not None, "worker not initialised"
    assert _worker_engine is not None, "worker not initialised"
    return _worker_loop.run_until_complete(migrate_tenant(_worker_engine, job))


# --- the run ----------------------------------------------------------------------------------------------------

@asynccontextmanager
async def run_lock(admin_url: str, *, wait: bool) -> AsyncIterator[None]:
    """Hold the run lock on a dedicated connection for the duration."""
    conn = await asyncpg.connect(asyncpg_dsn(admin_url))
    try:
        if wait:
            await conn.fetchval("SELECT pg_advisory_lock(hashtext($1))", LOCK_KEY)
        elif not await conn.fetchval("SELECT pg_try_advisory_lock(hashtext($1))", LOCK_KEY):
            raise MigrationInProgress("Another migration is in progress; try again when it has finished.")
        try:
            yield
        finally:
            await conn.fetchval("SELECT pg_advisory_unlock(hashtext($1))", LOCK_KEY)
    finally:
        await conn.close()


async def upgrade_control_plane(engine: AsyncEngine, app_role: str, app_password: str | None = None) -> str | None:
    async with engine.begin() as conn:
        async with migrations.ALEMBIC_LOCK:
            await conn.run_sync(migrations.upgrade_control)
        await conn.run_sync(ensure_app_role, app_role, app_password)
        await conn.run_sync(ensure_reporting_roles, app_role, national_role(app_role))
        return await conn.run_sync(migrations.current_revision, migrations.CONTROL_SCHEMA)


async def pending_jobs(engine: AsyncEngine, target: str, slugs: Sequence[str] | None,
                       extra_locations: Sequence[Path]) -> tuple[list[Job], list[TenantResult]]:
    """Tenants to migrate, and those already at the target (reported as UP_TO_DATE without being touched). What
    counts is each schema's own version table, not the registry's copy, which is corrected when it differs."""
    async with engine.begin() as conn:
        revisions = await conn.run_sync(migrations.tenant_revisions, slugs)
        rows = (await conn.execute(text(
            "SELECT id, slug, schema_name, owner_role, runtime_role, schema_revision FROM control.tenant "
            "WHERE slug = ANY(CAST(:slugs AS text[])) ORDER BY slug"), {"slugs": list(revisions)})).all()
        jobs, current = [], []
        for r in rows:
            if revisions[r.slug] == target:
                if r.schema_revision != target:
                    await conn.execute(text("UPDATE control.tenant SET schema_revision = :r WHERE id = :id"),
                                       {"r": target, "id": r.id})
                current.append(TenantResult(r.slug, target, target, "UP_TO_DATE", 0.0))
            else:
                jobs.append(Job(str(r.id), r.slug, r.schema_name, r.owner_role, r.runtime_role,
                                tuple(str(p) for p in extra_locations)))
    return jobs, current


async def run(engine: AsyncEngine, admin_url: str, app_role: str, *, jobs: int = 4, wait: bool = False,
              slugs: Sequence[str] | None = None, extra_locations: Sequence[Path] = (), app_password: str | None = None,
              on_start: Callable[[int], None] | None = None,
              on_result: Callable[[TenantResult], None] | None = None) -> RunResult:
    """Upgrade the control plane, then the tenants (all, or those in ``slugs``). ``on_start`` gets the number of
    tenants to migrate; ``on_result`` each tenant's result as it finishes (for a progress bar). ``app_password``
    (from APP_DATABASE_URL) is set on the application role when given."""
    async with run_lock(admin_url, wait=wait):
        control = await upgrade_control_plane(engine, app_role, app_password)
        target = migrations.stream_head("tenant", extra_locations)
        todo, results = await pending_jobs(engine, target, slugs, extra_locations)
        if on_start is not None:
            on_start(len(todo))

        def done(result: TenantResult) -> None:
            results.append(result)
            if on_result is not None:
                on_result(result)

        if jobs <= 1 or len(todo) <= 1:
            for job in todo:
                async with migrations.ALEMBIC_LOCK:
                    done(await migrate_tenant(engine, job))
        else:
            loop = asyncio.get_running_loop()
            # spawn, not fork: this process runs an event loop and holds connections a fork would share.
            with ProcessPoolExecutor(max_workers=min(jobs, len(todo)), mp_context=multiprocessing.get_context("spawn"),
                                     initializer=_init_worker, initargs=(admin_url,)) as pool:
                futures = [loop.run_in_executor(pool, _migrate_in_worker, job) for job in todo]
                for next_done in asyncio.as_completed(futures):
                    done(await next_done)
    results.sort(key=lambda r: r.slug)
    return RunResult(control, target, results)


async def migrate(db: Database, *, jobs: int = 1) -> RunResult:
    """Upgrade the control plane, make sure the application role exists, and upgrade every tenant of ``db``'s
    server. Waits for a migration already running elsewhere rather than failing."""
    return await run(db.engine, db.admin_url, db.settings.app_role, jobs=jobs, wait=True,
                     app_password=db.app_password())
