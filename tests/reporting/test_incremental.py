"""A refresh recomputes only tenants whose data moved (their change counter, kept by triggers in the tenant's own
schema), and national figures are read as published at refresh time, never computed for a reader. Dates are in
2016, which no other test uses."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import asyncpg
import pytest

from service.kernel.database import Database
from service.kernel.principal import Role
from service.kernel.tenancy import Tenant, enter_tenant
from service.reporting import service as reporting_service
from service.reporting.service import RefreshResult, refresh_all, refresh_tenant
from tests.conftest import CallerFactory, TenantFactory
from tests.reporting.seed import D, Seeder, delete_rollups
from tests.reporting.test_national import table

AS_OF = D(2016, 12, 31)


async def referrals(admin_conn: asyncpg.Connection, tenant: Tenant) -> int | None:
    return await admin_conn.fetchval(  # type: ignore[no-any-return]
        "SELECT denominator FROM control.metric_rollup WHERE tenant_id = $1 AND metric = 'referrals' "
        "AND grain = 'YEAR' AND period_start = '2016-01-01' AND site_code = ''", tenant.id)


async def test_only_changed_tenants_are_recomputed_and_full_recomputes_all(
        db: Database, make_tenant: TenantFactory, admin_conn: asyncpg.Connection) -> None:
    assert db.pool is not None
    a, b = await make_tenant("inc-a"), await make_tenant("inc-b")
    for tenant in (a, b):
        await Seeder(admin_conn, tenant.schema).young_adult("BSI", referred=D(2016, 3, 1))

    def skipped(results: list[RefreshResult]) -> dict[str, bool]:
        return {r.tenant: r.skipped for r in results if r.tenant in (a.slug, b.slug)}

    assert skipped(await refresh_all(db.pool, AS_OF)) == {a.slug: False, b.slug: False}
    assert skipped(await refresh_all(db.pool, AS_OF)) == {a.slug: True, b.slug: True}

    # A write as the tenant's own runtime role moves its counter; a rolled-back one does not.
    async with db.pool.acquire() as conn:
        async with conn.transaction():
            await enter_tenant(conn, a)
            await conn.execute("UPDATE enrolment SET consented_on = referred_on + 1")
        tx = conn.transaction()
        await tx.start()
        await enter_tenant(conn, b)
        await conn.execute("UPDATE enrolment SET consented_on = referred_on + 1")
        await tx.rollback()
    await Seeder(admin_conn, a.schema).young_adult("BSI", referred=D(2016, 4, 1))
    assert skipped(await refresh_all(db.pool, AS_OF)) == {a.slug: False, b.slug: True}
    assert await referrals(admin_conn, a) == 2

    # Another day recomputes everyone (figures depend on the day); so does a full rebuild.
    assert skipped(await refresh_all(db.pool, D(2017, 1, 1))) == {a.slug: False, b.slug: False}
    assert skipped(await refresh_all(db.pool, D(2017, 1, 1), full=True)) == {a.slug: False, b.slug: False}


async def test_national_figures_are_served_as_published(db: Database, make_tenant: TenantFactory,
                                                        admin_conn: asyncpg.Connection,
                                                        login: CallerFactory) -> None:
    assert db.pool is not None
    await delete_rollups(admin_conn, "period_start BETWEEN '2016-01-01' AND '2016-12-31'")
    big, small = await make_tenant("pub-big"), await make_tenant("pub-small")
    for tenant, n in ((big, 30), (small, 2)):
        seeder = Seeder(admin_conn, tenant.schema)
        for _ in range(n):
            await seeder.young_adult("BSI", referred=D(2016, 5, 9))
        await refresh_tenant(db.pool, tenant, AS_OF)
    analyst = await login(Role.NATIONAL_ANALYST)
    shown = await table(analyst, "referrals", "MONTH", "2016-05-01")
    rows = {r["key"]: r["value"] for r in shown["rows"]}
    assert shown["total"]["value"] == 32, shown["total"]
    assert rows[small.slug]["suppressed"]
    assert rows[big.slug]["suppressed"]  # 2 is small, and 30 = 32 - 2 would give it away
    assert rows[small.slug]["reason"] == "SMALL_COUNT"

    # What the national role can read holds no number for a suppressed figure.
    stored = await admin_conn.fetchrow(
        "SELECT value, reason, denominator FROM control.national_figure WHERE metric = 'referrals' "
        "AND grain = 'MONTH' AND period_start = '2016-05-01' AND entity = $1", f"T/{small.id}")
    assert stored is not None
    assert (stored["value"], stored["reason"], stored["denominator"]) == (None, "SMALL_COUNT", None)

    # A stricter policy is computed from the rollups; the default reads the published figures only, so it answers
    # the same with the rollups gone.
    stricter = await table(analyst, "referrals", "MONTH", "2016-05-01", policy={"minCount": 40})
    assert stricter["total"]["suppressed"]
    await delete_rollups(admin_conn, "tenant_id = ANY($1::uuid[])", [big.id, small.id])
    assert await table(analyst, "referrals", "MONTH", "2016-05-01") == shown


async def test_tenants_are_refreshed_two_at_a_time_in_order_and_a_failure_stays_with_its_tenant(
        db: Database, make_tenant: TenantFactory, admin_conn: asyncpg.Connection,
        monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    """refresh_all overlaps tenants (REFRESH_CONCURRENCY at once, never more), answers in the registry's order, logs
    a tenant whose database work fails and goes on; anything else stops the refresh and is raised as it was."""
    assert db.pool is not None
    made = [await make_tenant(f"two-{i}") for i in range(5)]
    for tenant in made:
        await Seeder(admin_conn, tenant.schema).young_adult("BSI", referred=D(2016, 5, 1))
    running, most = 0, 0
    original = reporting_service._refresh_one

    async def watched(pool: asyncpg.Pool, tenant: Tenant, *args: Any, **kwargs: Any) -> RefreshResult:
        nonlocal running, most
        running += 1
        most = max(most, running)
        try:
            if tenant.slug == made[2].slug:
                raise asyncpg.PostgresError("lost")
            await asyncio.sleep(0.01)
            return await original(pool, tenant, *args, **kwargs)
        finally:
            running -= 1

    monkeypatch.setattr(reporting_service, "_refresh_one", watched)
    caplog.set_level(logging.ERROR)
    results = await refresh_all(db.pool, AS_OF, full=True)
    assert most == reporting_service.REFRESH_CONCURRENCY == 2
    ours = [r.tenant for r in results if r.tenant.startswith("two-")]
    assert ours == [t.slug for t in sorted(made, key=lambda t: t.slug) if t.slug != made[2].slug]
    assert [r.getMessage() for r in caplog.records] == [
        f"reporting refresh of tenant {made[2].slug} failed: PostgresError"]

    async def broken(pool: asyncpg.Pool, tenant: Tenant, *args: Any, **kwargs: Any) -> RefreshResult:
        raise RuntimeError("a bug")

    monkeypatch.setattr(reporting_service, "_refresh_one", broken)
    with pytest.raises(RuntimeError, match="a bug"):
        await refresh_all(db.pool, AS_OF)
