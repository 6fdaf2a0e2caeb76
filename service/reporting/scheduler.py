"""The scheduled refresh: a background task of the running service, every ``reporting_refresh_seconds``.

It refreshes one tenant at a time, each in its own short transactions (service.refresh_all), so a refresh never
holds anything another tenant's requests wait for. Several service processes may run it at once: each tenant's
store step takes a per-tenant advisory lock, and the last write wins with equally fresh figures.
"""

from __future__ import annotations

import asyncio
import logging

from service.kernel.database import Database
from service.reporting.service import refresh_all

logger = logging.getLogger(__name__)


async def refresh_forever(db: Database) -> None:
    interval = db.settings.reporting_refresh_seconds
    while True:
        try:
            results = await refresh_all(await db.open_jobs_pool())
            logger.info("reporting refreshed %d tenant(s)", len(results))
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # the schedule must outlive a bad run; the next one retries
            logger.error("reporting refresh run failed: %s", type(exc).__name__)
        await asyncio.sleep(interval)


def start(db: Database) -> asyncio.Task[None] | None:
    """Start the schedule when it is on (interval > 0); the caller cancels the task at shutdown."""
    if db.settings.reporting_refresh_seconds <= 0:
        return None
    return asyncio.create_task(refresh_forever(db), name="reporting-refresh")
