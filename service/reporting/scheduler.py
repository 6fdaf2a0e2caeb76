"""The scheduled refresh: a background task of every service process, run by one of them at a time.

Replicas elect a leader with ``pg_try_advisory_lock`` on a dedicated session connection (not a pooled one: the lock
belongs to the session and must outlive every request). Only the leader refreshes. If it dies, or its connection
does, PostgreSQL releases the lock with the session and another replica takes it at its next attempt (every
``FOLLOWER_POLL_SECONDS`` at most). When the refresh last started is shared in ``control.reporting_schedule``, so a
new leader waits out the rest of the interval instead of starting again at once: the refresh runs once per
interval across all replicas. Each run refreshes two tenants at a time, each in its own short transactions
(service.refresh_all), so it never holds anything another tenant's requests wait for.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket

import asyncpg

from service.kernel.database import Database, app_dsn
from service.kernel.failures import CONNECTION_LOST
from service.reporting.service import refresh_all

logger = logging.getLogger(__name__)
FOLLOWER_POLL_SECONDS = 5.0
CLOSE_FAILED: tuple[type[BaseException], ...] = (TimeoutError, *CONNECTION_LOST)


class Leadership:
    """This process's claim on the refresh: an advisory lock held by one dedicated session."""

    def __init__(self, dsn: str, name: str) -> None:
        self.dsn = dsn
        self.name = name
        self.conn: asyncpg.Connection | None = None

    async def held(self) -> bool:
        """Whether this process leads, taking the lead if it is free."""
        if self.conn is not None:
            try:
                await self.conn.fetchval("SELECT 1")  # the session is alive, so it still holds its lock
                return True
            except CONNECTION_LOST:
                logger.warning("reporting leader lost its lock session")
                await self.release()
        conn = await asyncpg.connect(self.dsn)
        try:
            got = await conn.fetchval("SELECT pg_try_advisory_lock(hashtextextended($1, 0))", self.name)
        except BaseException:
            await conn.close()
            raise
        if not got:
            await conn.close()
            return False
        self.conn = conn
        logger.info("this process now leads the reporting refresh")
        return True

    async def release(self) -> None:
        conn, self.conn = self.conn, None
        if conn is not None:
            try:
                await asyncio.wait_for(conn.close(), timeout=5)
            except CLOSE_FAILED:
                conn.terminate()


async def due_in(pool: asyncpg.Pool, interval: float) -> float:
    """Seconds until the next run is due, by the shared schedule (0: now)."""
    async with pool.acquire() as conn:
        wait = await conn.fetchval(
            "SELECT extract(epoch FROM last_started_at + make_interval(secs => $1) - clock_timestamp()) "
            "FROM control.reporting_schedule", interval)
    return max(0.0, float(wait)) if wait is not None else 0.0


async def claim_run(pool: asyncpg.Pool, leader: str) -> None:
    async with pool.acquire() as conn:
        await conn.execute(
            "INSERT INTO control.reporting_schedule (last_started_at, leader) VALUES (clock_timestamp(), $1) "
            "ON CONFLICT (id) DO UPDATE SET last_started_at = excluded.last_started_at, "
            "runs = control.reporting_schedule.runs + 1, leader = excluded.leader", leader)


async def refresh_forever(db: Database) -> None:
    interval = float(db.settings.reporting_refresh_seconds)
    poll = min(interval, FOLLOWER_POLL_SECONDS)
    me = f"{socket.gethostname()}:{os.getpid()}"
    leadership = Leadership(app_dsn(db.settings, db.admin_url), f"always-hope:{db.settings.role_prefix}:reporting")
    try:
        while True:
            try:
                if not await leadership.held():
                    await asyncio.sleep(poll)
                    continue
                pool = await db.open_jobs_pool()
                wait = await due_in(pool, interval)
                if wait > 0:
                    await asyncio.sleep(min(wait, poll))
                    continue
                await claim_run(pool, me)
                results = await refresh_all(pool)
                logger.info("reporting refreshed %d tenant(s), %d recomputed", len(results),
                            sum(1 for r in results if not r.skipped))
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # the schedule must outlive a bad run or a lost database; the next one retries
                logger.error("reporting refresh run failed: %s", type(exc).__name__)
                await asyncio.sleep(poll)
    finally:
        await leadership.release()


def start(db: Database) -> asyncio.Task[None] | None:
    """Start the schedule when it is on (interval > 0); the caller cancels the task at shutdown."""
    if db.settings.reporting_refresh_seconds <= 0:
        return None
    return asyncio.create_task(refresh_forever(db), name="reporting-refresh")
