"""The hand-off job: moves each accepted tenant transfer forward, one tenant at a time, as that tenant's own role.

    ACCEPTED ──export (as the sending tenant; package stored in the control plane)──▶
             ──import (as the receiving tenant, one transaction)──▶
             ──close (as the sending tenant, one transaction)──▶ COMPLETED (package cleared)

Every step is its own transaction and every step is safe to repeat, so a crash at any point is mended by running
the job again: the import is keyed by the transfer id (``young_adult.transfer_id`` is unique in the receiving
schema), so there is either no copy or one complete copy; the close does nothing to a record already closed. What
has been done is kept in the control plane (``exported_at``, ``imported_at``, ``completed_at``), never in memory.
No transaction ever runs as one tenant's role and reads the other's schema: the package crosses through
``control.tenant_transfer``, which neither tenant's role may read.
"""

from __future__ import annotations

import json
import logging
import uuid
from dataclasses import dataclass
from datetime import date
from typing import Any
from zoneinfo import ZoneInfo

import asyncpg

from service.kernel.audit import insert as audit_insert
from service.kernel.tenancy import Connection, Tenant, tenant_transaction
from service.moves import package
from tenants.registry import tenant_by_id

logger = logging.getLogger(__name__)
LONDON = ZoneInfo("Europe/London")
# The trail's one INSERT (service.kernel.audit.insert): $1-$4 actor, role, request id, operation; then one event
# about the young adult: $5 the action, $6 the young adult, $7 the fields.
AUDIT = audit_insert("SELECT $5::text, 'YoungAdult', $6::uuid, $6::uuid, $7::text[], 1", 1)


@dataclass(frozen=True, slots=True)
class Pending:
    id: uuid.UUID
    sending: Tenant
    receiving: Tenant
    young_adult_id: uuid.UUID
    site_code: str
    requested_by: str
    decided_by: str
    package: dict[str, Any] | None
    exported_on: date | None
    received_young_adult_id: uuid.UUID | None


async def _pending(conn: Connection, transfer_id: uuid.UUID) -> Pending | None:
    row = await conn.fetchrow(
        "SELECT id, from_tenant_id, to_tenant_id, young_adult_id, to_site_code, requested_by, decided_by, package, "
        "exported_at, received_young_adult_id FROM control.tenant_transfer WHERE id = $1 AND state = 'ACCEPTED'",
        transfer_id)
    if row is None:
        return None
    sending, receiving = await tenant_by_id(conn, row["from_tenant_id"]), await tenant_by_id(conn, row["to_tenant_id"])
    assert sending is not None
    assert receiving is not None
    return Pending(row["id"], sending, receiving, row["young_adult_id"], row["to_site_code"], row["requested_by"],
                   row["decided_by"], None if row["package"] is None else json.loads(row["package"]),
                   None if row["exported_at"] is None else row["exported_at"].astimezone(LONDON).date(),
                   row["received_young_adult_id"])


async def _control(pool: asyncpg.Pool, sql: str, *args: Any) -> asyncpg.Record | None:
    """One control-plane step, in its own transaction, as the application login role (no tenant entered)."""
    async with pool.acquire() as conn, conn.transaction():
        return await conn.fetchrow(sql, *args)


async def export(pool: asyncpg.Pool, t: Pending) -> Pending:
    """Read the package as the sending tenant and keep it in the control plane."""
    async with tenant_transaction(pool, t.sending) as conn:
        contents = await package.read(conn, t.young_adult_id, t.receiving.name)
        if contents is not None:
            await conn.fetch(AUDIT, t.requested_by, "TENANT_TRANSFER", f"transfer-{t.id}", None, "EXPORT",
                             t.young_adult_id, list(package.ITEM_TYPES.values()))
    if contents is None:
        raise RuntimeError("the sending record is not there to export")
    await _control(pool, "UPDATE control.tenant_transfer SET package = $2::jsonb, exported_at = now(), "
                         "version = version + 1 WHERE id = $1 AND package IS NULL", t.id, json.dumps(contents))
    async with pool.acquire() as conn:
        found = await _pending(conn, t.id)
    assert found is not None
    return found


async def receive(pool: asyncpg.Pool, t: Pending) -> uuid.UUID:
    """Write the package as the receiving tenant (one transaction; a repeat finds the copy and writes nothing)."""
    assert t.package is not None
    assert t.exported_on is not None
    async with tenant_transaction(pool, t.receiving) as conn:
        existed = await conn.fetchval("SELECT id FROM young_adult WHERE transfer_id = $1", t.id)
        received = await package.write(conn, t.package, t.id, t.sending.name, t.site_code, t.exported_on)
        if existed is None:
            await conn.fetch(AUDIT, t.decided_by, "TENANT_TRANSFER", f"transfer-{t.id}", None, "CREATE", received,
                             ["arrived_from", "arrived_on", *package.ITEM_TYPES.values()])
    return received


async def mark_received(pool: asyncpg.Pool, t: Pending, received: uuid.UUID) -> None:
    await _control(pool, "UPDATE control.tenant_transfer SET imported_at = coalesce(imported_at, now()), "
                         "received_young_adult_id = $2, version = version + 1 WHERE id = $1", t.id, received)


async def close(pool: asyncpg.Pool, t: Pending) -> None:
    """Close the sending record (one transaction as the sending tenant; a repeat does nothing)."""
    assert t.exported_on is not None
    async with tenant_transaction(pool, t.sending) as conn:
        if await package.close(conn, t.young_adult_id, t.id, t.receiving.name, t.exported_on):
            await conn.fetch(AUDIT, t.requested_by, "TENANT_TRANSFER", f"transfer-{t.id}", None, "ALTER",
                             t.young_adult_id, ["moved_on", "moved_to"])


async def complete(pool: asyncpg.Pool, t: Pending) -> None:
    await _control(pool, "UPDATE control.tenant_transfer SET state = 'COMPLETED', completed_at = now(), "
                         "package = NULL, version = version + 1 WHERE id = $1 AND state = 'ACCEPTED'", t.id)


async def advance(pool: asyncpg.Pool, transfer_id: uuid.UUID) -> bool:
    """Take one accepted transfer as far as it goes; True when it completed (now or before)."""
    async with pool.acquire() as conn:
        t = await _pending(conn, transfer_id)
    if t is None:
        return False
    if t.sending.schema == t.receiving.schema:
        raise RuntimeError("a transfer joins two tenants")
    if t.package is None:
        t = await export(pool, t)
    received = await receive(pool, t)
    await mark_received(pool, t, received)
    await close(pool, t)
    await complete(pool, t)
    return True


async def run_pending(pool: asyncpg.Pool) -> int:
    """Advance every accepted transfer; one that fails is logged (by type, never content) and retried next run."""
    async with pool.acquire() as conn:
        ids = [r["id"] for r in await conn.fetch(
            "SELECT id FROM control.tenant_transfer WHERE state = 'ACCEPTED' ORDER BY decided_at, id")]
    done = 0
    for transfer_id in ids:
        try:
            done += await advance(pool, transfer_id)
        except Exception as exc:  # the job must outlive one bad transfer; its state says where to resume
            logger.error("tenant transfer %s not advanced: %s", transfer_id, type(exc).__name__)
    return done
