"""Reporting rules: who may see what, refreshing rollups, and the views (breakdowns, time series, comparisons) cut
from one metric's disclosure-controlled cube.

National analysts read only through the request's national session (the national database role) and only ever
receive :class:`~service.reporting.disclosure.Figure` values of a pattern computed over the whole cube: the
default policy's as published at refresh time (publication.py), a stricter one's computed on request.
Tenant administrators read their own tenant's rollups, unsuppressed. Nobody else reads rollups.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Protocol

import asyncpg

from service.kernel.clock import today
from service.kernel.errors import AccessDenied, InvalidInput, NotFound
from service.kernel.ids import TenantId
from service.kernel.principal import Principal, Role
from service.kernel.session import Statements
from service.kernel.tenancy import Tenant
from service.reporting import publication, repository
from service.reporting.catalogue import BY_KEY, METRICS, Metric
from service.reporting.compute import compute_tenant
from service.reporting.disclosure import (
    FLOOR,
    NATIONAL,
    DisclosurePolicy,
    Entity,
    Figure,
    Key,
    Pattern,
    unsuppressed,
)
from service.reporting.repository import FigureSlice, ReportingTenant
from tenants import registry

logger = logging.getLogger(__name__)
GRAINS = ("MONTH", "QUARTER", "YEAR")
MAX_POINTS = 120
KIND_LABELS = {"REGION": "Regions", "COHORT": "Cohorts"}


@dataclass(frozen=True, slots=True)
class Row:
    key: str
    label: str
    figure: Figure


@dataclass(frozen=True, slots=True)
class Table:
    metric: Metric
    grain: str
    period_start: dt.date
    breakdown: str
    total: Figure
    rows: tuple[Row, ...]
    # kept by this process and answered to other requests too (published_tenant_table): never changed
    shared: bool = field(default=False, compare=False)


@dataclass(frozen=True, slots=True)
class Series:
    key: str
    label: str
    points: list[tuple[dt.date, Figure]]


@dataclass(frozen=True, slots=True)
class RefreshResult:
    tenant: str
    rows: int
    changed: frozenset[str]  # metrics whose rollup rows moved
    skipped: bool = False    # unchanged since its last rollup: nothing computed


# ---- access -----------------------------------------------------------------------------------------------------

def require_national(principal: Principal) -> None:
    if principal.role is not Role.NATIONAL_ANALYST:
        raise AccessDenied("National figures are for national analysts.")


def require_tenant_admin(principal: Principal) -> Tenant:
    if principal.role is not Role.TENANT_ADMIN or principal.tenant is None:
        raise AccessDenied("A tenant's own figures are for its tenant administrators.")
    return principal.tenant


def require_catalogue_reader(principal: Principal) -> None:
    if principal.role not in (Role.NATIONAL_ANALYST, Role.TENANT_ADMIN):
        raise AccessDenied("The metric catalogue is for national analysts and tenant administrators.")


def metric(key: str) -> Metric:
    found = BY_KEY.get(key)
    if found is None:
        raise NotFound(f"There is no metric {key!r}; see the catalogue.", field="metric")
    return found


def grain(value: str) -> str:
    if value not in GRAINS:
        raise InvalidInput(f"grain must be one of {', '.join(GRAINS)}.", field="grain")
    return value


# ---- refreshing ---------------------------------------------------------------------------------------------------

async def refresh_tenant(pool: asyncpg.Pool, tenant: Tenant, as_of: dt.date | None = None) -> RefreshResult:
    """Recompute one tenant's rollups and republish the metrics that moved."""
    result = await _refresh_one(pool, tenant, as_of)
    await publish_changes(pool, [result])
    return result


async def _refresh_one(pool: asyncpg.Pool, tenant: Tenant, as_of: dt.date | None = None, *,
                       unless: repository.RefreshState | None = None) -> RefreshResult:
    """Compute inside the tenant (as its runtime role), then store in the control plane (as the app role).

    ``unless``: what the stored rollups were computed from; when the tenant has not changed since and the day is
    the same, nothing is computed or stored (``skipped``)."""
    started = time.monotonic()
    as_of = as_of or today()
    unless_at = unless.watermark if unless is not None and unless.as_of == as_of else None
    rollup = await compute_tenant(pool, tenant, as_of, unless_at=unless_at)
    if rollup is None:
        return RefreshResult(tenant.slug, 0, frozenset(), skipped=True)
    rows, changed = await repository.store(pool, rollup, started)
    return RefreshResult(tenant.slug, rows, frozenset(changed))


# Tenants refreshed at once. Each tenant's refresh is its own short transactions (its compute as its runtime role,
# its store as the app role), so two never wait for each other; at 1,000 tenants most of a cycle is checking the
# unchanged ones, a few round trips each, which two at a time overlap. Two, not more: the jobs pool the scheduler
# uses has three connections (Settings.jobs_pool_max_size), and a refresh leaves one for the other jobs.
REFRESH_CONCURRENCY = 2


async def refresh_all(pool: asyncpg.Pool, as_of: dt.date | None = None, *, full: bool = False
                      ) -> list[RefreshResult]:
    """Every active tenant, REFRESH_CONCURRENCY at a time, each in its own short transactions, then the published
    figures of the metrics that moved. Tenants unchanged since their last rollup (same change counter, same day) are
    skipped unless ``full``; a full refresh also republishes every metric from nothing (publication.publish's
    rebuild). A failing tenant is logged (by slug and exception type only) and skipped; its previous rollups stay.
    The results are in the registry's order of tenants."""
    async with pool.acquire() as conn:
        tenants = [t for t in await registry.all_tenants(conn) if t.status == "ACTIVE"]
        states = {} if full else await repository.refresh_states(conn)
    pending = iter(tenants)  # shared by the workers: each tenant is taken once
    done: dict[TenantId, RefreshResult] = {}

    async def worker() -> None:
        for tenant in pending:
            try:
                done[tenant.id] = await _refresh_one(pool, tenant, as_of, unless=states.get(tenant.id))
            except (asyncpg.PostgresError, OSError) as exc:
                logger.error("reporting refresh of tenant %s failed: %s", tenant.slug, type(exc).__name__)

    try:
        async with asyncio.TaskGroup() as workers:  # anything else stops every worker, and is raised as it was
            for _ in range(REFRESH_CONCURRENCY):
                workers.create_task(worker())
    except ExceptionGroup as failed:
        raise failed.exceptions[0] from None
    results = [done[t.id] for t in tenants if t.id in done]
    await publish_changes(pool, results, full=full)
    return results


async def publish_changes(pool: asyncpg.Pool, results: Sequence[RefreshResult], *, full: bool = False) -> None:
    changed = set().union(*(r.changed for r in results)) if results else set()
    await publication.publish(pool, [m for m in METRICS if full or m.key in changed], rebuild=full)


async def refresh_for(pool: asyncpg.Pool, principal: Principal, tenant_slug: str | None, *, full: bool = False
                      ) -> list[RefreshResult]:
    if principal.role is Role.TENANT_ADMIN and principal.tenant is not None:
        if tenant_slug not in (None, principal.tenant.slug):
            raise NotFound("There is no such tenant.", field="tenant")
        results = [await _refresh_one(pool, principal.tenant)]
    elif principal.role is not Role.PLATFORM_ADMIN:
        raise AccessDenied("Only tenant administrators (their tenant) and platform administrators refresh reporting.")
    elif tenant_slug is None:
        return await refresh_all(pool, full=full)
    else:
        async with pool.acquire() as conn:
            tenant = await registry.tenant_by_slug(conn, tenant_slug)
        if tenant is None:
            raise NotFound("There is no such tenant.", field="tenant")
        results = [await _refresh_one(pool, tenant)]
    await publish_changes(pool, results, full=full)
    return results


# ---- views --------------------------------------------------------------------------------------------------------

class Figures(Protocol):
    def figure(self, key: Key) -> Figure: ...


@dataclass(frozen=True, slots=True)
class NationalView:
    pattern: Figures
    tenants: list[ReportingTenant]
    sites: list[tuple[str, str]]


# Patterns of stricter policies by (national role, metric, policy), valid while the rollups' generation is
# unchanged. The default policy never comes here: its figures are published at refresh time (publication.py).
_PATTERNS: dict[tuple[str, str, DisclosurePolicy], tuple[object, Pattern, list[ReportingTenant]]] = {}
PATTERN_CACHE_SIZE = 64
# A stricter policy costs one disclosure pass over the metric's whole cube (linear in tenants, about as long as
# publishing that metric). One at a time per process, so such requests queue rather than pile up.
_STRICTER = asyncio.Semaphore(1)


async def national_view(conn: Statements, national_role: str, m: Metric, policy: DisclosurePolicy,
                        part: FigureSlice, site_tenant: ReportingTenant | None = None) -> NationalView:
    """The figures ``part`` needs, read through ``conn``, the request's national session (the national role, which
    reads rollups and published figures only). At the platform floor: read as published. Stricter: computed from
    the rollups on top of the floor's pattern (so never showing what the floor hides), cached per generation."""
    policy = policy.checked()
    sites = await repository.sites(conn, site_tenant.id) if site_tenant is not None else []
    tenants = await repository.tenants(conn)
    if policy == FLOOR:
        return NationalView(await publication.read(conn, m, part), tenants, sites)
    cache_key = (national_role, m.key, policy)
    async with _STRICTER:
        generation = await repository.generation(conn)
        cached = _PATTERNS.get(cache_key)
        if cached is not None and cached[0] == generation:
            return NationalView(cached[1], cached[2], sites)
        rows = await repository.metric_rows(conn, m.key)
        pattern = publication.build_cube(m, rows, tenants).pattern(policy)
    if len(_PATTERNS) >= PATTERN_CACHE_SIZE:
        _PATTERNS.pop(next(iter(_PATTERNS)))
    _PATTERNS[cache_key] = (generation, pattern, tenants)
    return NationalView(pattern, tenants, sites)


async def national_tenants(conn: Statements) -> list[ReportingTenant]:
    return await repository.tenants(conn)


async def national_periods(conn: Statements, grain_: str) -> list[dt.date]:
    return await repository.periods(conn, grain(grain_))


def find_tenant(tenants: Sequence[ReportingTenant], slug: str) -> ReportingTenant:
    for t in tenants:
        if t.slug == slug:
            return t
    raise NotFound("There is no such tenant.", field="tenant")


def period_starts(grain_: str, start: dt.date, end: dt.date) -> list[dt.date]:
    step = {"MONTH": 1, "QUARTER": 3, "YEAR": 12}[grain(grain_)]
    current = dt.date(start.year, (start.month - 1) // step * step + 1, 1)  # the period containing `start`
    out: list[dt.date] = []
    while current <= end:
        out.append(current)
        if len(out) > MAX_POINTS:
            raise InvalidInput(f"A series may have at most {MAX_POINTS} points.", field="to")
        total = current.month - 1 + step
        current = dt.date(current.year + total // 12, total % 12 + 1, 1)
    return out


def key(entity: Entity, grain_: str, period: dt.date) -> tuple[Entity, str, str]:
    return (entity, grain_, period.isoformat())


def table(view: NationalView, m: Metric, grain_: str, period: dt.date, breakdown: str,
          tenant: ReportingTenant | None) -> Table:
    period = period_starts(grain_, period, period)[0]
    if breakdown == "SITE":
        assert tenant is not None
        total = view.pattern.figure(key(("T", str(tenant.id)), grain_, period))
        rows = [Row(code, name, view.pattern.figure(key(("S", str(tenant.id), code), grain_, period)))
                for code, name in view.sites]
    elif breakdown == "TENANT_KIND":
        total = view.pattern.figure(key(NATIONAL, grain_, period))
        rows = [Row(kind, label, view.pattern.figure(key(("K", kind), grain_, period)))
                for kind, label in KIND_LABELS.items()]
    else:
        total = view.pattern.figure(key(NATIONAL, grain_, period))
        start = period.isoformat()
        rows = [Row(t.slug, t.name, view.pattern.figure((("T", str(t.id)), grain_, start))) for t in view.tenants]
    return Table(m, grain_, period, breakdown, total, tuple(rows))


def series(view: NationalView, entity: Entity, label: str, slug: str, grain_: str, start: dt.date,
           end: dt.date) -> Series:
    return Series(slug, label, [(p, view.pattern.figure(key(entity, grain_, p)))
                                for p in period_starts(grain_, start, end)])


async def national_table(conn: Statements, national_role: str, principal: Principal, metric_key: str, grain_: str,
                         period: dt.date, breakdown: str, tenant_slug: str | None,
                         policy: DisclosurePolicy) -> Table:
    """One national table. The GraphQL field and the CSV export both call this, so both show the same figures."""
    require_national(principal)
    m = metric(metric_key)
    grain(grain_)
    site_tenant = None
    if breakdown == "SITE":
        if tenant_slug is None:
            raise InvalidInput("A site breakdown needs a tenant.", field="tenant")
        site_tenant = find_tenant(await national_tenants(conn), tenant_slug)
    period = period_starts(grain_, period, period)[0]
    if breakdown == "TENANT" and policy.checked() == FLOOR:
        return await published_tenant_table(conn, national_role, m, grain_, period)
    kinds = {"SITE": ("T", "S"), "TENANT_KIND": ("N", "K")}.get(breakdown, ("N", "T"))
    part = FigureSlice(grain_, period, period, kinds, site_tenant.id if site_tenant is not None else None)
    view = await national_view(conn, national_role, m, policy, part, site_tenant)
    return table(view, m, grain_, period, breakdown, site_tenant)


# Tables by tenant at the platform floor as this process last read them, by (national role, metric, grain, period),
# each with the stamp it was read under (repository.TABLE_STAMP: the metric's publication, the tenant directory).
# Never served unchecked: every read sends the stamp it holds and the statement answers, from the database's
# figures in the same snapshot, either that the stamp is still the table's (one row) or the whole table again; so a
# refresh published by any replica, or a tenant added or renamed, is seen by the next read on every replica. Only
# published figures are kept, read as the national role, for national analysts (all of whom that role serves).
_TABLES: dict[tuple[str, str, str, dt.date], tuple[str, Table]] = {}
TABLE_CACHE_SIZE = 32  # a table of 1,000 tenants holds about 0.37 MiB (tracemalloc)


async def published_tenant_table(conn: Statements, national_role: str, m: Metric, grain_: str, period: dt.date
                                 ) -> Table:
    """The table by tenant at the platform floor, as published: one statement returns its rows ready (the national
    total, then every tenant in the order national_tenants lists them, each with its stored figure), so the read is
    one round trip and a named tuple per tenant; or, when this process read the same table under the stamp the
    statement finds (_TABLES), one row and the table kept. The same rows and figures as table() over national_view
    (tested). Tables are shared between requests: never changed once made."""
    cache_key = (national_role, m.key, grain_, period)
    kept = _TABLES.get(cache_key)
    rows = await repository.tenant_table(conn, m.key, grain_, period, kept[0] if kept is not None else None)
    stamp: str = rows[0][repository.TABLE_STAMP_COLUMN]
    if kept is not None and kept[0] == stamp:
        return kept[1]
    kind = m.kind
    made = Table(m, grain_, period, "TENANT", publication.stored(kind, rows[0]),
                 tuple(Row(r[0], r[1], publication.stored(kind, r)) for r in rows[1:]), shared=True)
    _TABLES.pop(cache_key, None)
    if len(_TABLES) >= TABLE_CACHE_SIZE:
        _TABLES.pop(next(iter(_TABLES)))
    _TABLES[cache_key] = (stamp, made)
    return made


async def national_series(conn: Statements, national_role: str, m: Metric, policy: DisclosurePolicy, grain_: str,
                          start: dt.date, end: dt.date, entities: Sequence[Entity]) -> NationalView:
    """The view a time series (or several side by side) of ``entities`` needs."""
    points = period_starts(grain_, start, end)
    part = FigureSlice(grain_, points[0] if points else start, end,
                       entities=tuple(publication.encode(e) for e in entities))
    return await national_view(conn, national_role, m, policy, part)


# ---- a tenant administrator's own figures ------------------------------------------------------------------------

async def own_view(control: Statements, tenant: Tenant, m: Metric) -> NationalView:
    """The tenant's own rollups, unsuppressed. Read through the control-plane session (the app role), filtered by
    the token's tenant."""
    rows = await repository.metric_rows(control, m.key, [tenant.id])
    sites = await repository.sites(control, tenant.id)
    own = ReportingTenant(tenant.id, tenant.slug, tenant.name, tenant.kind)
    return NationalView(unsuppressed(publication.build_cube(m, rows, [own])), [own], sites)
