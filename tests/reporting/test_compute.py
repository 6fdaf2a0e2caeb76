"""Seeded case data in, hand-computed figures out: every metric family, consent exclusion, home sites, periods."""

from __future__ import annotations

from typing import Any

import asyncpg
import pytest
from sqlalchemy import make_url

from service.kernel.database import Database
from service.kernel.principal import Role
from service.kernel.tenancy import Tenant
from service.reporting.catalogue import METRICS
from service.reporting.service import refresh_tenant
from tests.conftest import CallerFactory, TenantFactory
from tests.reporting.seed import D, Seeder

AS_OF = D(2025, 6, 30)


async def stored(admin: asyncpg.Connection, tenant: Tenant, metric: str, grain: str, period: D,
                 site: str = "") -> tuple[Any, ...] | None:
    row = await admin.fetchrow(
        "SELECT numerator, denominator, median FROM control.metric_rollup WHERE tenant_id = $1 AND metric = $2 "
        "AND grain = $3 AND period_start = $4 AND site_code = $5", tenant.id, metric, grain, period, site)
    return None if row is None else tuple(row)


async def seed_region(admin: asyncpg.Connection, tenant: Tenant) -> None:
    s = Seeder(admin, tenant.schema)
    jan, consent = D(2024, 1, 10), D(2024, 1, 20)
    yas = [await s.young_adult("BSI", referred=jan, consented=consent if i < 4 else None) for i in range(6)]
    for _ in range(2):
        await s.young_adult("BRM-LC", referred=D(2024, 2, 5))
    # Withdrawn from aggregate reporting: counts nowhere. Withdrawn then granted again: counts.
    gone = await s.young_adult("BSI", referred=D(2024, 1, 15), consented=consent)
    await s.consent(gone, D(2024, 1, 15), withdrawn=D(2024, 3, 1))
    back = await s.young_adult("BSI", referred=D(2024, 1, 12))
    await s.consent(back, D(2024, 1, 12), withdrawn=D(2024, 2, 1))
    await s.consent(back, D(2024, 3, 1))
    # A second enrolment: a March referral at its own site; the young adult's home site stays BSI.
    await s.enrol(yas[0], "BRM-LC", identified=D(2024, 3, 1), referred=D(2024, 3, 2))

    ya1, ya2, ya3 = yas[:3]
    await s.agree_plan(ya1, D(2024, 2, 19))       # 30 days after consent
    await s.agree_plan(ya1, D(2024, 5, 1))        # a later version: not the first agreement
    await s.agree_plan(ya2, D(2024, 3, 20))       # 60 days
    await s.agree_plan(ya3, D(2024, 2, 29))       # 40 days
    await s.agree_plan(gone, D(2024, 2, 1))       # excluded

    e1 = await s.release(ya1, D(2023, 10, 1), D(2024, 6, 1))
    e2 = await s.release(ya2, D(2023, 10, 1), D(2024, 6, 1))
    e3 = await s.release(ya3, D(2023, 10, 1), D(2024, 6, 15))
    await s.release(yas[3], D(2024, 1, 1), D(2024, 12, 1))      # not yet a year out on AS_OF
    await s.release(gone, D(2023, 10, 1), D(2024, 6, 1))        # excluded
    all_three = ("PRISON", "PROBATION", "LEAVING_CARE")
    await s.meeting(ya1, "THREE_WAY", D(2024, 4, 1), all_three)
    await s.meeting(ya2, "THREE_WAY", D(2024, 4, 1), ("PRISON", "PROBATION"))
    await s.meeting(ya3, "THREE_WAY", D(2023, 9, 1), all_three)  # before this custody episode began
    await s.meeting(ya2, "LIFELONG_LINKS", D(2024, 5, 1))
    await s.recall(e1, D(2024, 9, 1))
    await s.recall(e2, D(2025, 7, 1))                             # more than a year after release

    case1 = await s.links_case(ya1, D(2024, 3, 1), plan_agreed=D(2024, 5, 15))
    for _ in range(2):
        await s.member(ya1, known_before=True, identified=D(2024, 3, 2), status="ACTIVE", committed=D(2024, 5, 1))
    await s.member(ya1, known_before=False, identified=D(2024, 4, 1), status="COMMITTED", committed=D(2024, 5, 1))
    await s.member(ya1, known_before=False, identified=D(2024, 4, 1), status="DECLINED", declined=D(2024, 4, 20))
    await s.member(ya1, known_before=False, identified=D(2024, 6, 1))
    hidden = await s.member(ya1, known_before=True, identified=D(2024, 4, 1), status="COMMITTED",
                            committed=D(2024, 5, 1))
    await s.consent(ya1, D(2024, 4, 1), withdrawn=D(2024, 4, 2), member=hidden)
    for committed in (D(2024, 6, 1), D(2024, 6, 1), D(2024, 7, 1)):
        await s.member(ya3, known_before=False, identified=D(2024, 5, 1), status="COMMITTED", committed=committed)
    hidden3 = await s.member(ya3, known_before=False, identified=D(2024, 5, 1), status="COMMITTED",
                             committed=D(2024, 5, 20))
    await s.consent(ya3, D(2024, 5, 1), withdrawn=D(2024, 5, 2), member=hidden3)
    for met, on in ((True, D(2024, 6, 10)), (True, D(2024, 6, 20)), (False, D(2024, 6, 25))):
        await s.objective(case1, met, on)
    await admin.execute(f'INSERT INTO "{tenant.schema}".lifelong_links_objective (case_id, description) '
                        "VALUES ($1, 'not yet assessed')", case1)

    await s.outcome(ya1, e1, "RELEASE_DAY", D(2024, 6, 1), accommodation="SETTLED")
    await s.outcome(ya1, e1, "MONTH_3", D(2024, 9, 1), accommodation="TEMPORARY")
    await s.outcome(ya1, e1, "MONTH_6", D(2024, 12, 1), ete=True)
    await s.outcome(ya1, e1, "MONTH_12", D(2025, 6, 1), accommodation="SETTLED", contacts=3)
    await s.outcome(ya2, e2, "RELEASE_DAY", D(2024, 6, 1), accommodation="UNKNOWN")
    await s.outcome(ya2, e2, "MONTH_6", D(2024, 12, 1), ete=False)
    await s.outcome(ya2, e2, "MONTH_12", D(2025, 6, 1), contacts=0)
    await s.outcome(ya3, e3, "RELEASE_DAY", D(2024, 6, 15), accommodation="SETTLED")

    await s.meeting(ya1, "INTEGRATED_PLANNING", D(2024, 1, 25))   # review due 2024-04-25
    await s.meeting(ya1, "REVIEW", D(2024, 4, 20))                # on time; next due 2024-07-20
    await s.meeting(ya1, "REVIEW", D(2024, 8, 30))                # late; next due 2024-11-30, never held


@pytest.fixture
async def region(db: Database, make_tenant: TenantFactory, admin_conn: asyncpg.Connection) -> Tenant:
    tenant = await make_tenant("region")
    await seed_region(admin_conn, tenant)
    assert db.pool is not None
    await refresh_tenant(db.pool, tenant, AS_OF)
    return tenant


EXPECTED: list[tuple[str, str, D, str, tuple[Any, ...]]] = [
    ("referrals", "MONTH", D(2024, 1, 1), "", (None, 7, None)),
    ("referrals", "MONTH", D(2024, 1, 1), "BSI", (None, 7, None)),
    ("referrals", "MONTH", D(2024, 2, 1), "BRM-LC", (None, 2, None)),
    ("referrals", "MONTH", D(2024, 3, 1), "BRM-LC", (None, 1, None)),
    ("referrals", "QUARTER", D(2024, 1, 1), "", (None, 10, None)),
    ("referrals", "YEAR", D(2024, 1, 1), "", (None, 10, None)),
    ("take_up", "MONTH", D(2024, 1, 1), "", (4, 7, None)),
    ("take_up", "QUARTER", D(2024, 1, 1), "", (4, 10, None)),
    ("days_to_agreed_plan", "MONTH", D(2024, 2, 1), "", (None, 2, 35.0)),
    ("days_to_agreed_plan", "MONTH", D(2024, 3, 1), "", (None, 1, 60.0)),
    ("days_to_agreed_plan", "QUARTER", D(2024, 1, 1), "BSI", (None, 3, 40.0)),
    ("plan_agreed_before_release", "MONTH", D(2024, 6, 1), "", (2, 3, None)),
    ("joint_meeting_before_release", "MONTH", D(2024, 6, 1), "", (1, 3, None)),
    ("lifelong_links_meeting_before_release", "MONTH", D(2024, 6, 1), "", (1, 3, None)),
    ("released_with_committed_network", "MONTH", D(2024, 6, 1), "", (1, 3, None)),
    ("released_with_committed_network", "YEAR", D(2024, 1, 1), "", (1, 4, None)),
    ("recalled_within_12_months", "YEAR", D(2024, 1, 1), "", (1, 3, None)),
    ("network_size_at_referral", "MONTH", D(2024, 3, 1), "", (None, 1, 2.0)),
    ("network_size_at_plan", "MONTH", D(2024, 5, 1), "", (None, 1, 3.0)),
    ("network_committed", "MONTH", D(2024, 3, 1), "", (2, 2, None)),
    ("network_committed", "MONTH", D(2024, 4, 1), "", (1, 2, None)),
    ("network_committed", "MONTH", D(2024, 5, 1), "", (3, 3, None)),
    ("network_committed", "MONTH", D(2024, 6, 1), "", (0, 1, None)),
    ("objectives_met", "MONTH", D(2024, 6, 1), "", (2, 3, None)),
    ("settled_on_release", "MONTH", D(2024, 6, 1), "", (2, 3, None)),
    ("settled_at_3_months", "MONTH", D(2024, 9, 1), "", (0, 1, None)),
    ("ete_at_6_months", "MONTH", D(2024, 12, 1), "", (1, 2, None)),
    ("settled_at_12_months", "MONTH", D(2025, 6, 1), "", (1, 1, None)),
    ("network_retained_at_12_months", "MONTH", D(2025, 6, 1), "", (1, 2, None)),
    ("reviews_on_time", "YEAR", D(2024, 1, 1), "", (1, 3, None)),
    ("reviews_on_time", "MONTH", D(2024, 4, 1), "", (1, 1, None)),
]


@pytest.mark.parametrize(("metric", "grain", "period", "site", "expected"), EXPECTED)
async def test_hand_computed_figures(region: Tenant, admin_conn: asyncpg.Connection, metric: str, grain: str,
                                     period: D, site: str, expected: tuple[Any, ...]) -> None:
    assert await stored(admin_conn, region, metric, grain, period, site) == expected


async def test_every_catalogue_metric_is_computed(region: Tenant, admin_conn: asyncpg.Connection) -> None:
    found = {r["metric"] for r in await admin_conn.fetch(
        "SELECT DISTINCT metric FROM control.metric_rollup WHERE tenant_id = $1", region.id)}
    assert found == {m.key for m in METRICS}


async def test_sites_partition_the_tenant_and_quarters_sum_months(region: Tenant,
                                                                  admin_conn: asyncpg.Connection) -> None:
    mismatched = await admin_conn.fetch("""
        WITH r AS (SELECT metric, grain, period_start, site_code, numerator, denominator
                   FROM control.metric_rollup WHERE tenant_id = $1)
        SELECT t.metric, t.grain, t.period_start FROM r t
        JOIN r s ON s.metric = t.metric AND s.grain = t.grain AND s.period_start = t.period_start AND s.site_code <> ''
        WHERE t.site_code = ''
        GROUP BY t.metric, t.grain, t.period_start, t.denominator, t.numerator
        HAVING sum(s.denominator) <> t.denominator OR sum(s.numerator) IS DISTINCT FROM t.numerator::numeric
    """, region.id)
    assert mismatched == []
    quarters = await admin_conn.fetch("""
        SELECT q.metric, q.period_start FROM control.metric_rollup q
        JOIN control.metric_rollup m ON m.tenant_id = q.tenant_id AND m.metric = q.metric AND m.grain = 'MONTH'
             AND m.site_code = q.site_code AND date_trunc('quarter', m.period_start) = q.period_start
        WHERE q.tenant_id = $1 AND q.grain = 'QUARTER'
        GROUP BY q.metric, q.period_start, q.site_code, q.denominator HAVING sum(m.denominator) <> q.denominator
    """, region.id)
    assert quarters == []


async def test_withdrawal_is_reflected_by_the_next_refresh(db: Database, region: Tenant,
                                                           admin_conn: asyncpg.Connection) -> None:
    ya = await admin_conn.fetchval(
        f'SELECT young_adult_id FROM "{region.schema}".enrolment WHERE site_id = '
        f'(SELECT id FROM "{region.schema}".site WHERE code = \'BRM-LC\') AND referred_on = \'2024-02-05\' LIMIT 1')
    await Seeder(admin_conn, region.schema).consent(ya, D(2024, 2, 5), withdrawn=D(2025, 1, 1))
    assert await stored(admin_conn, region, "referrals", "MONTH", D(2024, 2, 1)) == (None, 2, None)
    assert db.pool is not None
    await refresh_tenant(db.pool, region, AS_OF)
    assert await stored(admin_conn, region, "referrals", "MONTH", D(2024, 2, 1)) == (None, 1, None)


async def test_tenant_admin_sees_own_figures_unsuppressed(region: Tenant, login: CallerFactory) -> None:
    admin = await login(Role.TENANT_ADMIN, region)
    data = await admin.data("""query { ownTenantMetric(metric: "referrals", grain: MONTH, periodStart: "2024-02-01") {
        total { value suppressed } rows { key value { value suppressed } } } }""")
    table = data["ownTenantMetric"]
    assert table["total"] == {"value": 2.0, "suppressed": False}  # a national analyst would see it suppressed
    assert {r["key"]: r["value"]["value"] for r in table["rows"]} == {"BSI": 0.0, "BRM-LC": 2.0}
    series = await admin.data("""query { ownTenantSeries(metric: "take_up", grain: QUARTER, from: "2024-01-01",
        to: "2024-06-30") { points { periodStart value { value numerator { value } denominator { value } } } } }""")
    points = series["ownTenantSeries"]["points"]
    assert points[0] == {"periodStart": "2024-01-01",
                         "value": {"value": 40.0, "numerator": {"value": 4}, "denominator": {"value": 10}}}
    assert points[1]["value"]["denominator"] == {"value": 0}


async def test_the_refresh_waits_for_no_writer(db: Database, region: Tenant, make_tenant: TenantFactory) -> None:
    """Open writes holding row locks in this tenant and another do not stop a refresh: it reads a snapshot, writes
    only its own tenant's rollup rows, and a lock wait would fail it (lock_timeout) rather than hang."""
    assert db.pool is not None
    other = await make_tenant("other")
    writer = await asyncpg.connect(make_url(db.admin_url).set(drivername="postgresql").render_as_string(False))
    try:
        async with writer.transaction():
            for t in (region, other):
                await writer.execute(f'UPDATE "{t.schema}".enrolment SET version = version + 1')
                await writer.execute(f'INSERT INTO "{t.schema}".site (code, name, kind) '
                                     "VALUES ('NEW', 'New site', 'VCSE')")
            results = [await refresh_tenant(db.pool, t, AS_OF) for t in (region, other)]
            assert [r.tenant for r in results] == [region.slug, other.slug]
            assert results[0].rows > 0
    finally:
        await writer.close()
