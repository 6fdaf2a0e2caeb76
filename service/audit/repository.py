"""Reading the audit trail (tenant administrators only; the service checks the role)."""

from __future__ import annotations

import uuid

import asyncpg

from service.kernel.session import TenantSession


async def events_for(session: TenantSession, young_adult_id: uuid.UUID, before: int | None, limit: int,
                     ) -> list[asyncpg.Record]:
    """Events about one young adult's record, newest first (keyset on the event id)."""
    return await session.fetch(
        "SELECT id, occurred_at, actor_subject, actor_role, action, subject_type, subject_id, fields, request_id "
        "FROM audit_event WHERE young_adult_id = $1 AND ($2::bigint IS NULL OR id < $2) "
        "ORDER BY id DESC LIMIT $3", young_adult_id, before, limit)
