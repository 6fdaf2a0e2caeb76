"""Three service processes on one database agree: the rate limits hold across them, and the scheduled reporting
refresh runs once per interval, on one leader, with another taking over when the leader dies."""

from __future__ import annotations

import asyncio
import datetime as dt
import itertools
import signal
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

import asyncpg
import httpx

from service.kernel.database import Database, app_dsn
from service.kernel.principal import Role
from service.reporting.scheduler import Leadership
from tests.conftest import CallerFactory, TenantFactory
from tests.test_faults import serve, until
from tests.test_smoke import free_port

INTERVAL = 4  # seconds between scheduled refreshes
PER_USER = 6  # requests per minute per user


async def schedule(admin_conn: asyncpg.Connection) -> tuple[int, dt.datetime, str] | None:
    row = await admin_conn.fetchrow("SELECT runs, last_started_at, leader FROM control.reporting_schedule")
    return None if row is None else (row["runs"], row["last_started_at"], row["leader"])


async def test_three_replicas_share_rate_limits_and_one_leader_refreshes(
        db: Database, make_tenant: TenantFactory, login: CallerFactory, admin_conn: asyncpg.Connection,
        tmp_path: Path) -> None:
    tenant = await make_tenant("replicas")
    user = await login(Role.TENANT_ADMIN, tenant)
    await admin_conn.execute("DELETE FROM control.reporting_schedule")
    ports = [free_port() for _ in range(3)]
    procs: dict[int, subprocess.Popen[bytes]] = {}
    try:
        for port in ports:
            proc = serve(db.settings, port, tmp_path / f"serve-{port}.log",
                         ALWAYS_HOPE_RATE_LIMIT_PRINCIPAL=str(PER_USER),
                         ALWAYS_HOPE_REPORTING_REFRESH_SECONDS=str(INTERVAL))
            procs[proc.pid] = proc
        async with httpx.AsyncClient(timeout=60) as client:
            for port in ports:
                async def ready(port: int = port) -> bool:
                    try:
                        return (await client.get(f"http://127.0.0.1:{port}/readyz")).status_code == 200
                    except httpx.HTTPError:
                        return False
                await until(ready, within=120)

            # Rate limit: four requests to each replica. Per-process buckets would grant all twelve.
            started = time.monotonic()
            codes = [(await client.post(f"http://127.0.0.1:{ports[i % 3]}/graphql",
                                        json={"query": "{ sites { code } }"},
                                        headers={"Authorization": f"Bearer {user.token}"})).status_code
                     for i in range(12)]
            elapsed = time.monotonic() - started
            refill = int(elapsed * PER_USER / 60)
            assert codes.count(429) + codes.count(200) == 12, codes
            assert PER_USER <= codes.count(200) <= PER_USER + refill, (codes, elapsed)
            assert codes[:PER_USER] == [200] * PER_USER

        # One leader: watch the shared schedule for a while; every run starts an interval after the last.
        seen: list[tuple[int, dt.datetime, str]] = []

        async def watch(seconds: float, enough: Callable[[], bool], within: float = 120) -> None:
            """Note every run for at least ``seconds``, and on until ``enough`` (a loaded machine's refresh can take
            longer than an interval), giving up after ``within``."""
            started = time.monotonic()
            while True:
                row = await schedule(admin_conn)
                if row is not None and (not seen or row[0] != seen[-1][0]):
                    seen.append(row)
                waited = time.monotonic() - started
                if waited >= within or (waited >= seconds and enough()):
                    return
                await asyncio.sleep(0.1)

        await watch(3 * INTERVAL + 2, lambda: len(seen) >= 2)
        assert len(seen) >= 2, seen
        leaders = {leader for _, _, leader in seen}
        assert len(leaders) == 1, seen
        leader_pid = int(next(iter(leaders)).rsplit(":", 1)[1])
        assert leader_pid in procs

        # The leader dies without a goodbye; another replica takes over, and still only once per interval.
        procs[leader_pid].send_signal(signal.SIGKILL)
        procs[leader_pid].wait(30)
        before = len(seen)
        await watch(3 * INTERVAL + 8, lambda: len(seen) > before)
        after = seen[before:]
        assert after, "no replica took over the refresh"
        assert {leader for _, _, leader in after} - leaders, after
        assert len({leader for _, _, leader in after}) == 1, after
        starts = [at for _, at, _ in seen]
        gaps = [(b - a).total_seconds() for a, b in itertools.pairwise(starts)]
        assert min(gaps) >= INTERVAL - 0.05, gaps
        runs_logged = {pid: (tmp_path / f"serve-{port}.log").read_text().count("reporting refreshed")
                       for pid, port in zip(procs, ports, strict=True)}
        assert sum(1 for n in runs_logged.values() if n) == 2, runs_logged  # the first leader, then its successor
    finally:
        for proc in procs.values():
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        for proc in procs.values():
            try:
                proc.wait(30)
            except subprocess.TimeoutExpired:
                proc.kill()
        await admin_conn.execute("DELETE FROM control.reporting_schedule")


async def test_one_session_leads_until_it_is_gone(db: Database) -> None:
    dsn = app_dsn(db.settings, db.admin_url)
    name = f"always-hope:{db.settings.role_prefix}:leader-test"
    first, second = Leadership(dsn, name), Leadership(dsn, name)
    try:
        assert await first.held()
        assert not await second.held()
        assert await first.held()  # still leading
        assert first.conn is not None
        first.conn.terminate()  # the session dies as a crashed process's would
        await asyncio.sleep(0.2)
        assert await second.held()
        assert not await first.held()  # it noticed, and the lead is taken
    finally:
        await first.release()
        await second.release()
