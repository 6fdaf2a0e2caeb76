"""The hand-off of accepted transfers between tenants, as a background task of the running service, every
``transfer_handoff_seconds``. Several processes may run it at once: the receiving copy is keyed by the transfer id,
so a race makes no second copy, and each step is repeatable (service/moves/handoff.py)."""

from __future__ import annotations

import asyncio
import logging

from service.kernel.database import Database
from service.moves.handoff import run_pending

logger = logging.getLogger(__name__)


async def hand_off_forever(db: Database) -> None:
    while True:
        try:
            done = await run_pending(await db.open_jobs_pool())
            if done:
                logger.info("handed off %d tenant transfer(s)", done)
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # the schedule must outlive a bad run (e.g. the database restarting)
            logger.error("transfer hand-off run failed: %s", type(exc).__name__)
        await asyncio.sleep(db.settings.transfer_handoff_seconds)


def start(db: Database) -> asyncio.Task[None] | None:
    """Start the schedule when it is on (interval > 0); the caller cancels the task at shutdown."""
    if db.settings.transfer_handoff_seconds <= 0:
        return None
    return asyncio.create_task(hand_off_forever(db), name="transfer-handoff")
