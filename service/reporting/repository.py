"""SQL over the control plane's reporting tables: storing a tenant's rollups, reading them back.

Two paths read rollups. National analysts' reads run in the request's national session (service.kernel.session),
as the NOLOGIN national role, which may read the rollups and the tenant directory view and nothing else in the
database. A tenant administrator's own figures are read as the app role, always filtered by their token's tenant.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Sequence
from dataclasses import dataclass

import asyncpg

from service.kernel.ids import TenantId
from service.kernel.session import Statements
from service.reporting.compute import TenantRollup

ROLLUP_COLUMNS = ("tenant_id", "metric", "grain", "period_start", "site_code", "numerator", "denominator", "median",
                  "dist_values", "dist_counts", "computed_at")
READ_COLUMNS = "r.tenant_id, r.site_code, r.grain, r.period_start, r.numerator, r.denominator, r.median, " \
               "r.dist_values, r.dist_counts"


@dataclass(frozen=True, slots=True)
class ReportingTenant:
    id: TenantId
    slug: str
    name: str
    kind: str


@dataclass(frozen=True, slots=True)
class StoredRow:
    tenant_id: TenantId
    site_code: str
    grain: str
    period_start: dt.date
    numerator: int | None
    denominator: int
    median: float | None
    dist_values: Sequence[float] | None
    dist_counts: Sequence[int] | None


async def store(pool: asyncpg.Pool, rollup: TenantRollup, started: float) -> int:
    """Replace one tenant's rollups in a short control-plane transaction. Returns the number of rows stored."""
    now = dt.datetime.now(dt.UTC)
    records = [(rollup.tenant.id, r.metric, r.grain, r.period_start, r.site_code, r.numerator, r.denominator,
                r.median, r.dist_values, r.dist_counts, now) for r in rollup.rows]
    async with pool.acquire() as conn, conn.transaction():
        await conn.fetchrow("SELECT set_config('lock_timeout', '10s', true)")
        # Two refreshes of one tenant (the schedule and an on-demand one) take turns; other tenants never wait.
        await conn.fetchrow(
            "SELECT pg_advisory_xact_lock(hashtextextended('always-hope:reporting:' || $1::uuid::text, 0))",
            rollup.tenant.id)
        await conn.execute("DELETE FROM control.metric_rollup WHERE tenant_id = $1", rollup.tenant.id)
        await conn.copy_records_to_table("metric_rollup", schema_name="control", columns=ROLLUP_COLUMNS,
                                         records=records)
        await conn.execute("DELETE FROM control.metric_site WHERE tenant_id = $1", rollup.tenant.id)
        await conn.executemany(
            "INSERT INTO control.metric_site (tenant_id, site_code, site_name, site_kind) VALUES ($1, $2, $3, $4)",
            [(rollup.tenant.id, code, name, kind) for code, name, kind in rollup.sites])
        await conn.execute(
            "INSERT INTO control.metric_refresh (tenant_id, refreshed_at, as_of, rollup_rows, duration_ms) "
            "VALUES ($1, $2, $3, $4, $5) ON CONFLICT (tenant_id) DO UPDATE SET refreshed_at = excluded.refreshed_at, "
            "as_of = excluded.as_of, rollup_rows = excluded.rollup_rows, duration_ms = excluded.duration_ms",
            rollup.tenant.id, now, rollup.as_of, len(records), int((time.monotonic() - started) * 1000))
    return len(records)


async def tenants(conn: Statements) -> list[ReportingTenant]:
    rows = await conn.fetch("SELECT id, slug, name, kind FROM control.reporting_tenant ORDER BY name, slug")
    return [ReportingTenant(TenantId(r["id"]), r["slug"], r["name"], r["kind"]) for r in rows]


async def sites(conn: Statements, tenant_id: TenantId) -> list[tuple[str, str]]:
    rows = await conn.fetch("SELECT site_code, site_name FROM control.metric_site WHERE tenant_id = $1 "
                            "ORDER BY site_name, site_code", tenant_id)
    return [(r["site_code"], r["site_name"]) for r in rows]


async def generation(conn: Statements) -> tuple[int, dt.datetime | None]:
    """Changes whenever any tenant is refreshed: the key under which a disclosure pattern may be reused."""
    row = await conn.fetchrow("SELECT count(*) AS n, max(refreshed_at) AS at, "
                              "(SELECT count(*) FROM control.reporting_tenant) AS tenants FROM control.metric_refresh")
    assert row is not None
    return int(row["n"]) * 1_000_000 + int(row["tenants"]), row["at"]


async def metric_rows(conn: Statements, metric: str, tenant_id: TenantId | None = None) -> list[StoredRow]:
    """All stored rows of one metric (all tenants, or one), every grain, period and site."""
    rows = await conn.fetch(
        f"SELECT {READ_COLUMNS} FROM control.metric_rollup r "
        "WHERE r.metric = $1 AND ($2::uuid IS NULL OR r.tenant_id = $2)", metric, tenant_id)
    return [StoredRow(TenantId(r["tenant_id"]), r["site_code"], r["grain"], r["period_start"], r["numerator"],
                      r["denominator"], r["median"], r["dist_values"], r["dist_counts"]) for r in rows]


async def periods(conn: Statements, grain: str, tenant_id: TenantId | None = None) -> list[dt.date]:
    rows = await conn.fetch(
        "SELECT DISTINCT period_start FROM control.metric_rollup WHERE grain = $1 AND site_code = '' "
        "AND ($2::uuid IS NULL OR tenant_id = $2) ORDER BY period_start", grain, tenant_id)
    return [r["period_start"] for r in rows]
