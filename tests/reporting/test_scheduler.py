"""The scheduled refresh: started with the app when the interval is positive, refreshes every active tenant."""

from __future__ import annotations

import asyncio
import dataclasses
from contextlib import suppress

import asyncpg

from service.kernel.database import Database
from service.reporting import scheduler
from tests.conftest import TenantFactory
from tests.reporting.seed import D, Seeder


async def test_the_schedule_refreshes_tenants_and_stops_cleanly(db: Database, make_tenant: TenantFactory,
                                                                admin_conn: asyncpg.Connection) -> None:
    tenant = await make_tenant("sched")
    await admin_conn.execute("DELETE FROM control.reporting_schedule")  # due now, whoever ran it before
    await Seeder(admin_conn, tenant.schema).young_adult("BSI", referred=D(2017, 5, 2))
    off = dataclasses.replace(db, settings=dataclasses.replace(db.settings, reporting_refresh_seconds=0))
    assert scheduler.start(off) is None
    on = dataclasses.replace(db, settings=dataclasses.replace(db.settings, reporting_refresh_seconds=3600))
    task = scheduler.start(on)
    assert task is not None
    try:
        for _ in range(600):  # the first run starts at once; wait for it to reach this tenant (bounded)
            stored = await admin_conn.fetchval(
                "SELECT denominator FROM control.metric_rollup WHERE tenant_id = $1 AND metric = 'referrals' "
                "AND grain = 'MONTH' AND period_start = '2017-05-01' AND site_code = ''", tenant.id)
            if stored is not None:
                break
            await asyncio.sleep(0.1)
        assert stored == 1
    finally:
        task.cancel()
        with suppress(asyncio.CancelledError):
            await task
    assert task.cancelled()
