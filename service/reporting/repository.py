"""SQL over the control plane's reporting tables: storing a tenant's rollups, reading them back.

Two paths read rollups. National analysts' reads run in the request's national session (service.kernel.session),
as the NOLOGIN national role, which may read the rollups and the tenant directory view and nothing else in the
database. A tenant administrator's own figures are read as the app role, always filtered by their token's tenant.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import time
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass

import asyncpg

from service.kernel.ids import TenantId
from service.kernel.session import Statements
from service.kernel.tenancy import Connection
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


FIGURE_COLUMNS = ("metric", "grain", "period_start", "entity", "entity_kind", "tenant_id", "value", "reason",
                  "numerator", "numerator_reason", "denominator", "denominator_reason")


@dataclass(frozen=True, slots=True)
class RefreshState:
    """What a tenant's stored rollups were computed from."""

    as_of: dt.date
    watermark: int | None


def _digests(rollup: TenantRollup) -> dict[str, str]:
    by_metric: dict[str, list[tuple[object, ...]]] = {}
    for r in rollup.rows:
        by_metric.setdefault(r.metric, []).append((r.grain, r.period_start.isoformat(), r.site_code, r.numerator,
                                                   r.denominator, r.median, r.dist_values, r.dist_counts))
    return {m: hashlib.sha256(repr(sorted(rows)).encode()).hexdigest() for m, rows in by_metric.items()}


async def store(pool: asyncpg.Pool, rollup: TenantRollup, started: float) -> tuple[int, set[str]]:
    """Replace one tenant's rollups in a short control-plane transaction. Returns the number of rows stored and the
    metrics whose rows differ from what was stored before."""
    now = dt.datetime.now(dt.UTC)
    records = [(rollup.tenant.id, r.metric, r.grain, r.period_start, r.site_code, r.numerator, r.denominator,
                r.median, r.dist_values, r.dist_counts, now) for r in rollup.rows]
    digests = _digests(rollup)
    async with pool.acquire() as conn, conn.transaction():
        await conn.fetchrow("SELECT set_config('lock_timeout', '10s', true)")
        # Two refreshes of one tenant (the schedule and an on-demand one) take turns; other tenants never wait.
        await conn.fetchrow(
            "SELECT pg_advisory_xact_lock(hashtextextended('always-hope:reporting:' || $1::uuid::text, 0))",
            rollup.tenant.id)
        before = json.loads(await conn.fetchval(
            "SELECT coalesce((SELECT digest FROM control.metric_refresh WHERE tenant_id = $1), '{}')",
            rollup.tenant.id))
        await conn.execute("DELETE FROM control.metric_rollup WHERE tenant_id = $1", rollup.tenant.id)
        await conn.copy_records_to_table("metric_rollup", schema_name="control", columns=ROLLUP_COLUMNS,
                                         records=records)
        await conn.execute("DELETE FROM control.metric_site WHERE tenant_id = $1", rollup.tenant.id)
        await conn.executemany(
            "INSERT INTO control.metric_site (tenant_id, site_code, site_name, site_kind) VALUES ($1, $2, $3, $4)",
            [(rollup.tenant.id, code, name, kind) for code, name, kind in rollup.sites])
        await conn.execute(
            "INSERT INTO control.metric_refresh (tenant_id, refreshed_at, as_of, rollup_rows, duration_ms, watermark, "
            "digest) VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (tenant_id) DO UPDATE SET "
            "refreshed_at = excluded.refreshed_at, as_of = excluded.as_of, rollup_rows = excluded.rollup_rows, "
            "duration_ms = excluded.duration_ms, watermark = excluded.watermark, digest = excluded.digest",
            rollup.tenant.id, now, rollup.as_of, len(records), int((time.monotonic() - started) * 1000),
            rollup.watermark, json.dumps(digests))
    changed = {m for m in digests.keys() | before.keys() if digests.get(m) != before.get(m)}
    return len(records), changed


async def refresh_states(conn: Statements) -> dict[TenantId, RefreshState]:
    rows = await conn.fetch("SELECT tenant_id, as_of, watermark FROM control.metric_refresh")
    return {TenantId(r["tenant_id"]): RefreshState(r["as_of"], r["watermark"]) for r in rows}


@asynccontextmanager
async def publishing(pool: asyncpg.Pool) -> AsyncIterator[Connection]:
    """The transaction that replaces one metric's published figures. Publications take turns (any replica, any
    caller), so the figures always come from one consistent read of the rollups."""
    async with pool.acquire() as conn, conn.transaction():
        await conn.fetchrow("SELECT pg_advisory_xact_lock(hashtext('always-hope:reporting:publish'))")
        yield conn


async def replace_figures(conn: Connection, metric: str, records: Sequence[tuple[object, ...]]) -> None:
    await conn.execute("DELETE FROM control.national_figure WHERE metric = $1", metric)
    await conn.copy_records_to_table("national_figure", schema_name="control", columns=FIGURE_COLUMNS,
                                     records=records)


async def rewrite_figures(conn: Connection, metric: str, gone: Sequence[tuple[str, dt.date, str]],
                          records: Sequence[tuple[object, ...]]) -> None:
    """Only some of a metric's figures: delete those by (grain, period, entity) that ``gone`` names (the changed and
    the no longer published), then store ``records`` (the changed and the new)."""
    if gone:
        await conn.execute(
            "DELETE FROM control.national_figure f USING unnest($2::text[], $3::date[], $4::text[]) AS g (grain, "
            "period_start, entity) WHERE f.metric = $1 AND f.grain = g.grain AND f.period_start = g.period_start "
            "AND f.entity = g.entity",
            metric, [g[0] for g in gone], [g[1] for g in gone], [g[2] for g in gone])
    if records:
        await conn.copy_records_to_table("national_figure", schema_name="control", columns=FIGURE_COLUMNS,
                                         records=records)


async def publication_stamp(conn: Connection, metric: str) -> tuple[int, int] | None:
    """The metric's publication counter and figure count as stored (None: never published with a counter)."""
    row = await conn.fetchrow("SELECT publication, figures FROM control.metric_publication WHERE metric = $1", metric)
    return None if row is None else (int(row["publication"]), int(row["figures"]))


async def stamp_publication(conn: Connection, metric: str, figures: int) -> int:
    """Move the metric's publication counter on (in the transaction that writes its figures); returns it."""
    found = await conn.fetchval(
        "INSERT INTO control.metric_publication (metric, publication, figures, published_at) "
        "VALUES ($1, 1, $2, clock_timestamp()) ON CONFLICT (metric) DO UPDATE SET "
        "publication = control.metric_publication.publication + 1, figures = excluded.figures, "
        "published_at = excluded.published_at RETURNING publication", metric, figures)
    return int(found)


@dataclass(frozen=True, slots=True)
class FigureSlice:
    """Which published figures a view needs: one grain, a range of periods, and either some entity kinds (all
    their entities, or only one tenant's) or a list of entities."""

    grain: str
    start: dt.date
    end: dt.date
    kinds: tuple[str, ...] = ()
    tenant_id: TenantId | None = None
    entities: tuple[str, ...] | None = None


FIGURE_READ = "SELECT entity, period_start, value, reason, numerator, numerator_reason, denominator, " \
              "denominator_reason FROM control.national_figure WHERE metric = $1 AND grain = $2 " \
              "AND period_start BETWEEN $3 AND $4 AND "


async def figures(conn: Statements, metric: str, part: FigureSlice) -> list[asyncpg.Record]:
    """One statement per shape of slice, with no optional predicates (``$n IS NULL OR ...``), so the plan a
    prepared statement settles on is the index scan for that shape (national_figure_slice, alembic c0009)."""
    if part.entities is not None:
        return await conn.fetch(FIGURE_READ + "entity = ANY($5::text[])",
                                metric, part.grain, part.start, part.end, list(part.entities))
    if part.tenant_id is not None:
        return await conn.fetch(FIGURE_READ + "entity_kind = ANY($5::text[]) AND tenant_id = $6",
                                metric, part.grain, part.start, part.end, list(part.kinds), part.tenant_id)
    return await conn.fetch(FIGURE_READ + "entity_kind = ANY($5::text[])",
                            metric, part.grain, part.start, part.end, list(part.kinds))


TENANT_ORDER = "name, slug"  # national tables list tenants in this order (tenants(), tenant_table())


# What a national table by tenant shows besides its figures' values: which publication of the metric's figures
# (control.metric_publication: its counter and time move in every transaction that writes the metric's figures, by
# any replica) and which tenant directory (control.tenant_directory: its version moves in every transaction that
# adds, removes or renames a tenant, whose ids, slugs and names the table lists). Two reads with the same stamp read
# the same rows.
TABLE_STAMP = (
    "SELECT coalesce((SELECT p.publication || '@' || (p.published_at AT TIME ZONE 'UTC') "
    "FROM control.metric_publication p WHERE p.metric = $1), '-') || '/' || "
    "(SELECT d.version FROM control.tenant_directory d) AS stamp"
)

# The national total, then every tenant in TENANT_ORDER with its figure: the rows of a national table by tenant,
# ready, in one statement. Figure columns from the third on, as FIGURE_READ has them; ``found`` false where no
# figure is stored (an empty cell); the total's row carries the table's stamp (TABLE_STAMP, read in the statement's
# snapshot). The tenants' rows only when the stamp is not ``$4`` (what the caller read before): a one-time filter,
# so that a caller holding the rows of that stamp reads one row, not a thousand.
TENANT_TABLE = (
    "WITH stamp AS MATERIALIZED ({stamp}) "
    "SELECT NULL AS slug, NULL AS name, {figure}, 0 AS place, s.stamp FROM stamp s "
    "LEFT JOIN control.national_figure f ON f.metric = $1 AND f.grain = $2 AND f.period_start = $3 "
    "AND f.entity_kind = 'N' AND f.entity = 'N' "
    "UNION ALL SELECT t.slug, t.name, {figure}, 1, NULL FROM control.reporting_tenant t "
    "LEFT JOIN control.national_figure f ON f.metric = $1 AND f.grain = $2 AND f.period_start = $3 "
    "AND f.entity_kind = 'T' AND f.tenant_id = t.id WHERE (SELECT stamp FROM stamp) IS DISTINCT FROM $4::text "
    "ORDER BY place, {order}"
).format(stamp=TABLE_STAMP, figure="f.value, f.reason, f.numerator, f.numerator_reason, f.denominator, "
                                   "f.denominator_reason, f.metric IS NOT NULL AS found", order=TENANT_ORDER)
TABLE_STAMP_COLUMN = 10


async def tenant_table(conn: Statements, metric: str, grain: str, period: dt.date, unless: str | None = None
                       ) -> list[asyncpg.Record]:
    """A national table by tenant as published: TENANT_TABLE's rows, slug and name first (where FIGURE_READ has the
    entity and period), the figure's columns from the third on, then ``found``, and the stamp in the first row's
    TABLE_STAMP_COLUMN. ``unless``: a stamp the caller holds the rows of; when it is still the table's, only the
    first row (the total's, with the stamp) comes back."""
    return await conn.fetch(TENANT_TABLE, metric, grain, period, unless)


async def tenants(conn: Statements) -> list[ReportingTenant]:
    rows = await conn.fetch(f"SELECT id, slug, name, kind FROM control.reporting_tenant ORDER BY {TENANT_ORDER}")
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


async def metric_rows(conn: Statements, metric: str, tenant_ids: Sequence[TenantId] | None = None
                      ) -> list[StoredRow]:
    """The stored rows of one metric (of every tenant, or of ``tenant_ids`` only), every grain, period and site."""
    rows = await conn.fetch(
        f"SELECT {READ_COLUMNS} FROM control.metric_rollup r "
        "WHERE r.metric = $1 AND ($2::uuid[] IS NULL OR r.tenant_id = ANY($2::uuid[]))", metric,
        None if tenant_ids is None else list(tenant_ids))
    return [StoredRow(TenantId(r["tenant_id"]), r["site_code"], r["grain"], r["period_start"], r["numerator"],
                      r["denominator"], r["median"], r["dist_values"], r["dist_counts"]) for r in rows]


async def rollup_digests(conn: Statements, metric: str) -> dict[str, str]:
    """Each tenant's digest of its stored rows of one metric (store writes it with the rows, in one transaction):
    a tenant whose digest is the same has the same rows. Tenants without rows of the metric are left out."""
    rows = await conn.fetch("SELECT tenant_id::text AS tenant, digest ->> $1 AS digest FROM control.metric_refresh "
                            "WHERE digest ? $1", metric)
    return {r["tenant"]: r["digest"] for r in rows}


async def periods(conn: Statements, grain: str, tenant_id: TenantId | None = None) -> list[dt.date]:
    rows = await conn.fetch(
        "SELECT DISTINCT period_start FROM control.metric_rollup WHERE grain = $1 AND site_code = '' "
        "AND ($2::uuid IS NULL OR tenant_id = $2) ORDER BY period_start", grain, tenant_id)
    return [r["period_start"] for r in rows]
