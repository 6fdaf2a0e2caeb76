"""The national analysts' path: aggregate-only by construction, disclosure-controlled figures, CSV = API, and who
may do what. Dates are in 2019 so other tests' tenants (2024-2025) add only zeros to national totals."""

from __future__ import annotations

import csv
import io
from collections.abc import Hashable
from typing import Any

import asyncpg
import pytest

from service.api import kept
from service.kernel.database import Database
from service.kernel.principal import Role, Service
from service.kernel.tenancy import Tenant
from service.reporting import service as reporting_service
from service.reporting.service import refresh_tenant
from tests.conftest import Caller, CallerFactory, TenantFactory
from tests.reporting.attack import Relation, recoverable
from tests.reporting.seed import D, Seeder, delete_rollups

AS_OF = D(2019, 12, 31)
REFERRALS = {  # (site, month) -> referrals; consents: the first `take_up` of them
    # Q1 has small counts (suppression); Q2 has none (hand-computed national figures).
    "A": {("BSI", 1): 3, ("BRM-LC", 1): 9, ("BSI", 2): 6, ("BRM-LC", 2): 6, ("BSI", 3): 7,
          ("BSI", 4): 6, ("BRM-LC", 4): 5, ("BSI", 5): 8, ("BSI", 6): 7},
    "B": {("DWI", 1): 8, ("DWI", 2): 2, ("DWI", 3): 10, ("DWI", 4): 9, ("DWI", 5): 6, ("DWI", 6): 10},
}
TAKE_UP = {"A": {("BSI", 6): 5}, "B": {("DWI", 6): 5}}
MONTHS = [f"2019-{m:02d}-01" for m in range(1, 7)]
QUARTERS = ["2019-01-01", "2019-04-01"]
TABLE = """query($metric: String!, $grain: PeriodGrain!, $period: Date!, $breakdown: ReportBreakdown!, $tenant: String,
                 $policy: DisclosurePolicyInput) {
  nationalMetric(metric: $metric, grain: $grain, periodStart: $period, breakdown: $breakdown, tenant: $tenant,
                 policy: $policy) {
    total { ...V } rows { key label value { ...V } } } }
fragment V on MetricValue { value suppressed reason numerator { value suppressed reason }
                            denominator { value suppressed reason } }"""


@pytest.fixture
async def pair(db: Database, make_tenant: TenantFactory, admin_conn: asyncpg.Connection) -> tuple[Tenant, Tenant]:
    # Earlier tests' pairs hold 2019 figures too; this pair's figures must be the only ones of 2019.
    await delete_rollups(admin_conn, "period_start BETWEEN '2019-01-01' AND '2019-12-31'")
    a = await make_tenant("na")
    b = await make_tenant("nb", kind="COHORT", sites=(("DWI", "HMP Drake Hall", "PRISON"),))
    for tenant, name in ((a, "A"), (b, "B")):
        s = Seeder(admin_conn, tenant.schema)
        for (site, month), n in REFERRALS[name].items():
            consents = TAKE_UP[name].get((site, month), 0)
            for i in range(n):
                day = D(2019, month, 10)
                await s.young_adult(site, identified=day, referred=day, consented=day if i < consents else None)
        assert db.pool is not None
        await refresh_tenant(db.pool, tenant, AS_OF)
    return a, b


async def table(caller: Caller, metric: str, grain: str, period: str, breakdown: str = "TENANT",
                tenant: str | None = None, policy: dict[str, Any] | None = None) -> dict[str, Any]:
    data = await caller.data(TABLE, {"metric": metric, "grain": grain, "period": period, "breakdown": breakdown,
                                     "tenant": tenant, "policy": policy})
    result: dict[str, Any] = data["nationalMetric"]
    return result


def no_leak(figure: dict[str, Any]) -> None:
    """A suppressed figure carries no number, and neither does a suppressed part of it."""
    for part in (figure, figure.get("numerator"), figure.get("denominator")):
        if part is not None and part["suppressed"]:
            assert part["value"] is None
            assert part["reason"] in ("SMALL_COUNT", "SECONDARY", "SMALL_DENOMINATOR")


async def test_national_role_reads_rollups_and_nothing_else(db: Database, pair: tuple[Tenant, Tenant],
                                                            admin_conn: asyncpg.Connection) -> None:
    assert db.pool is not None
    national = db.settings.national_role
    tenant_tables = [r["tablename"] for r in await admin_conn.fetch(
        "SELECT tablename FROM pg_tables WHERE schemaname = $1", pair[0].schema)]
    control_tables = [r["tablename"] for r in await admin_conn.fetch(
        "SELECT tablename FROM pg_tables WHERE schemaname = 'control'")]
    allowed = {"metric_rollup", "metric_site", "metric_refresh", "national_figure", "metric_publication",
               "tenant_directory"}
    assert allowed < set(control_tables)
    async with db.pool.acquire() as conn:

        async def as_national(sql: str, *args: Any) -> None:
            async with conn.transaction():
                await conn.fetchrow("SELECT set_config('role', $1, true)", national)
                assert await conn.fetchval("SELECT current_user") == national
                await conn.fetch(sql, *args)

        for schema, name in [(pair[0].schema, t) for t in tenant_tables] + [("control", t) for t in control_tables]:
            if schema == "control" and name in allowed:
                await as_national(f'SELECT count(*) FROM "{schema}"."{name}"')
                continue
            with pytest.raises(asyncpg.InsufficientPrivilegeError):
                await as_national(f'SELECT count(*) FROM "{schema}"."{name}"')
        with pytest.raises(asyncpg.InsufficientPrivilegeError):
            await as_national("DELETE FROM control.metric_rollup")
        async with conn.transaction():
            await conn.fetchrow("SELECT set_config('role', $1, true)", national)
            # the tenant directory view shows no schema or role names
            view = await conn.prepare("SELECT * FROM control.reporting_tenant")
            assert [a.name for a in view.get_attributes()] == ["id", "slug", "name", "kind", "status"]
    columns = {r["column_name"] for r in await admin_conn.fetch(
        "SELECT column_name FROM information_schema.columns WHERE table_schema = 'control' "
        "AND table_name IN ('metric_rollup', 'metric_site', 'metric_refresh', 'metric_publication', "
        "'tenant_directory')")}
    assert not columns & {"given_name", "family_name", "young_adult_id", "description", "outcome", "reason"}


async def test_national_figures_match_hand_computed(pair: tuple[Tenant, Tenant], login: CallerFactory) -> None:
    a, b = pair
    analyst = await login(Role.NATIONAL_ANALYST)
    june = await table(analyst, "referrals", "MONTH", "2019-06-01")
    assert june["total"]["value"] == 17
    rows = {r["key"]: r["value"]["value"] for r in june["rows"]}
    assert (rows[a.slug], rows[b.slug]) == (7, 10)
    kinds = await table(analyst, "referrals", "MONTH", "2019-06-01", "TENANT_KIND")
    assert {r["key"]: r["value"]["value"] for r in kinds["rows"]} == {"REGION": 7, "COHORT": 10}
    quarter = await table(analyst, "referrals", "QUARTER", "2019-04-01")
    assert quarter["total"]["value"] == 51
    assert {r["key"]: r["value"]["value"] for r in quarter["rows"] if r["key"] in (a.slug, b.slug)} == {
        a.slug: 26, b.slug: 25}
    sites = await table(analyst, "referrals", "QUARTER", "2019-04-01", "SITE", a.slug)
    assert {r["key"]: r["value"]["value"] for r in sites["rows"]} == {"BSI": 21, "BRM-LC": 5}
    rounded = await table(analyst, "referrals", "QUARTER", "2019-04-01", policy={"roundTo": 5})
    assert rounded["total"]["value"] == 50
    take_up = await table(analyst, "take_up", "MONTH", "2019-06-01")
    by = {r["key"]: r["value"] for r in take_up["rows"]}
    assert by[a.slug]["suppressed"]                   # 5 of 7: under 10 referrals
    assert by[a.slug]["reason"] == "SMALL_DENOMINATOR"
    for figure in [take_up["total"], *by.values()]:
        no_leak(figure)
    assert take_up["total"]["suppressed"] or by[b.slug]["suppressed"]  # else A's 5 = national - B's


async def test_small_counts_cannot_be_recovered_from_totals_breakdowns_or_periods(
        pair: tuple[Tenant, Tenant], login: CallerFactory) -> None:
    a, b = pair
    analyst = await login(Role.NATIONAL_ANALYST)
    tenants = (await analyst.data("{ reportingTenants { slug kind } }"))["reportingTenants"]
    known: dict[Hashable, int] = {}
    hidden: set[Hashable] = set()
    seen_figures: list[dict[str, Any]] = []

    def note(cell: Hashable, figure: dict[str, Any]) -> None:
        seen_figures.append(figure)
        if figure["suppressed"]:
            hidden.add(cell)
        else:
            known[cell] = figure["value"]

    periods = [("MONTH", m) for m in MONTHS] + [("QUARTER", q) for q in QUARTERS] + [("YEAR", "2019-01-01")]
    for grain, period in periods:
        by_tenant = await table(analyst, "referrals", grain, period)
        note(("N", grain, period), by_tenant["total"])
        for row in by_tenant["rows"]:
            note(("T", row["key"], grain, period), row["value"])
        for row in (await table(analyst, "referrals", grain, period, "TENANT_KIND"))["rows"]:
            note(("K", row["key"], grain, period), row["value"])
        for t in (a, b):
            for row in (await table(analyst, "referrals", grain, period, "SITE", t.slug))["rows"]:
                note(("S", t.slug, row["key"], grain, period), row["value"])
    for figure in seen_figures:
        no_leak(figure)
    assert ("S", a.slug, "BSI", "MONTH", "2019-01-01") in hidden      # 3 referrals
    assert ("T", b.slug, "MONTH", "2019-02-01") in hidden              # 2 referrals

    relations: list[Relation] = []
    sites = {a.slug: ["BSI", "BRM-LC"], b.slug: ["DWI"]}
    for grain, period in periods:
        relations.append((("N", grain, period), [("K", k, grain, period) for k in ("REGION", "COHORT")]))
        for kind in ("REGION", "COHORT"):
            relations.append((("K", kind, grain, period),
                              [("T", t["slug"], grain, period) for t in tenants if t["kind"] == kind]))
        for slug, codes in sites.items():
            relations.append((("T", slug, grain, period), [("S", slug, c, grain, period) for c in codes]))
    for entity in [("N",), ("K", "REGION"), ("K", "COHORT"), *[("T", t["slug"]) for t in tenants],
                   *[("S", slug, c) for slug, codes in sites.items() for c in codes]]:
        for i, q in enumerate(QUARTERS):
            relations.append(((*entity, "QUARTER", q), [(*entity, "MONTH", m) for m in MONTHS[3 * i:3 * i + 3]]))
        relations.append(((*entity, "YEAR", "2019-01-01"), [(*entity, "QUARTER", q) for q in QUARTERS]))
    assert recoverable(relations, hidden) == set()
    # The series and comparison views show the same pattern, so they add nothing an attacker could use.
    series = await analyst.data("""query($t: String!) { nationalSeries(metric: "referrals", grain: MONTH,
        from: "2019-01-01", to: "2019-06-30", tenant: $t, site: "BSI") { points { value { value suppressed } } } }""",
                                {"t": a.slug})
    assert [p["value"]["suppressed"] for p in series["nationalSeries"]["points"]] == [
        ("S", a.slug, "BSI", "MONTH", m) in hidden for m in MONTHS]
    comparison = await analyst.data("""query($ts: [String!]!) { tenantComparison(metric: "referrals", grain: MONTH,
        from: "2019-01-01", to: "2019-06-30", tenants: $ts) { key points { value { value suppressed } } } }""",
                                    {"ts": [a.slug, b.slug]})
    for s in comparison["tenantComparison"]:
        assert [p["value"]["value"] for p in s["points"]] == [known.get(("T", s["key"], "MONTH", m)) for m in MONTHS]


async def test_csv_export_is_exactly_what_the_api_shows(pair: tuple[Tenant, Tenant], login: CallerFactory) -> None:
    a, _ = pair
    analyst = await login(Role.NATIONAL_ANALYST)
    for metric, breakdown, tenant in (("referrals", "SITE", a.slug), ("take_up", "TENANT", None)):
        shown = await table(analyst, metric, "MONTH", "2019-01-01", breakdown, tenant)
        params = {"metric": metric, "grain": "MONTH", "periodStart": "2019-01-01", "breakdown": breakdown}
        if tenant:
            params["tenant"] = tenant
        response = await analyst.client.get("/reporting/export.csv", params=params,
                                             headers={"Authorization": f"Bearer {analyst.token}"})
        assert response.status_code == 200, response.text
        rows = list(csv.DictReader(io.StringIO(response.text)))
        figures = [shown["total"], *(r["value"] for r in shown["rows"])]
        assert len(rows) == len(figures)
        for row, figure in zip(rows, figures, strict=True):
            assert row["suppressed"] == str(figure["suppressed"]).lower()
            assert row["reason"] == (figure["reason"] or "")
            assert row["value"] == ("" if figure["value"] is None else f"{figure['value']:g}")
            if figure["numerator"] is not None:
                assert row["numerator"] == ("" if figure["numerator"]["value"] is None
                                            else str(figure["numerator"]["value"]))
    refused = await analyst.client.get("/reporting/export.csv", params={"metric": "referrals", "grain": "MONTH",
                                                                        "periodStart": "2019-01-01", "minCount": "2"},
                                       headers={"Authorization": f"Bearer {analyst.token}"})
    assert refused.status_code == 400   # a policy weaker than the floor
    anonymous = await analyst.client.get("/reporting/export.csv", params={"metric": "referrals"})
    assert anonymous.status_code == 401


async def test_who_may_see_what(pair: tuple[Tenant, Tenant], login: CallerFactory) -> None:
    a, _ = pair
    query = '{ nationalMetric(metric: "referrals", grain: MONTH, periodStart: "2019-03-01") { total { value } } }'
    for caller in (await login(Role.PRACTITIONER, a, service=Service.PRISON, sites=("BSI",)),
                   await login(Role.PLATFORM_ADMIN), await login(Role.TENANT_ADMIN, a)):
        body = await caller(query)
        assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"
        assert body["data"] is None
        response = await caller.client.get("/reporting/export.csv", params={
            "metric": "referrals", "grain": "MONTH", "periodStart": "2019-03-01"},
            headers={"Authorization": f"Bearer {caller.token}"})
        assert response.status_code == 403
    analyst = await login(Role.NATIONAL_ANALYST)
    body = await analyst('{ ownTenantMetric(metric: "referrals", grain: MONTH, periodStart: "2019-03-01") '
                         '{ total { value } } }')
    assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    catalogue = (await analyst.data("{ metricCatalogue { key kind numerator denominator period } }"))
    assert len(catalogue["metricCatalogue"]) == 18
    assert all(m["numerator"] and m["period"] for m in catalogue["metricCatalogue"])


REFRESH = """mutation($tenant: String) { refreshReporting(input: {tenant: $tenant}) {
    refreshed { tenant rollupRows } errors { code field } } }"""


async def test_refresh_on_demand(pair: tuple[Tenant, Tenant], login: CallerFactory, db: Database,
                                 admin_conn: asyncpg.Connection) -> None:
    a, b = pair
    admin_a = await login(Role.TENANT_ADMIN, a)
    await Seeder(admin_conn, a.schema).young_adult("BSI", referred=D(2019, 3, 20))
    result = (await admin_a.data(REFRESH))["refreshReporting"]
    assert [r["tenant"] for r in result["refreshed"]] == [a.slug]
    mine = await admin_a.data('{ ownTenantMetric(metric: "referrals", grain: MONTH, periodStart: "2019-03-01") '
                              '{ total { value } } }')
    assert mine["ownTenantMetric"]["total"]["value"] == 8   # 7 + 1, unsuppressed
    other = (await admin_a.data(REFRESH, {"tenant": b.slug}))["refreshReporting"]
    assert other == {"refreshed": [], "errors": [{"code": "NOT_FOUND", "field": "tenant"}]}
    platform = await login(Role.PLATFORM_ADMIN)
    assert [r["tenant"] for r in (await platform.data(REFRESH, {"tenant": b.slug}))["refreshReporting"]["refreshed"]
            ] == [b.slug]
    for caller in (await login(Role.NATIONAL_ANALYST),
                   await login(Role.PRACTITIONER, a, service=Service.PRISON, sites=("BSI",))):
        body = await caller(REFRESH)
        assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"


async def test_a_kept_table_answers_as_one_made_afresh_is_recorded_each_time_and_moves_with_its_figures(
        pair: tuple[Tenant, Tenant], login: CallerFactory, db: Database, admin_conn: asyncpg.Connection,
        monkeypatch: pytest.MonkeyPatch) -> None:
    """A table by tenant is kept per process and each selection of it completed once (service.api.kept): the
    answer is the one graphql-core makes from a table made afresh, every read is still on the platform trail, and a
    refresh that moves the figures is answered with the new ones."""
    a, _ = pair
    analyst = await login(Role.NATIONAL_ANALYST)
    kept.forget()
    reporting_service._TABLES.clear()
    recorded = "SELECT count(*) FROM control.platform_audit_event WHERE fields = '{nationalMetric}'"
    before = await admin_conn.fetchval(recorded)
    first = await table(analyst, "referrals", "MONTH", "2019-03-01")
    again = await table(analyst, "referrals", "MONTH", "2019-03-01")
    assert again == first
    assert kept._SHARED, "the table by tenant is kept and shared"
    assert await admin_conn.fetchval(recorded) == before + 2
    with monkeypatch.context() as patched:
        patched.setattr(kept, "shared", lambda source, make: make(source))
        assert await table(analyst, "referrals", "MONTH", "2019-03-01") == first
    assert first["total"]["value"] == 17
    assert {r["key"]: r["value"]["value"] for r in first["rows"]}[a.slug] == 7

    await Seeder(admin_conn, a.schema).young_adult("BSI", referred=D(2019, 3, 20))
    assert db.pool is not None
    await refresh_tenant(db.pool, a, AS_OF)
    moved = await table(analyst, "referrals", "MONTH", "2019-03-01")
    assert moved["total"]["value"] == 18
    assert {r["key"]: r["value"]["value"] for r in moved["rows"]}[a.slug] == 8
