"""Reading the audit trail (tenant administrators only; the service checks the role).

Every read of ``audit_event`` is here. Each query runs on an index of its filter (migration t0008), newest first,
paged on the key (occurred_at, id, position of the subject in its event).
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Sequence
from dataclasses import dataclass

import asyncpg

from service.kernel.session import Statements, TenantSession

# One row per (event, subject): an event lists its subjects (subject_ids) and, in the same order, the young adult
# each belongs to (young_adult_ids, migration t0008) and its type (subject_types, t0009); ``n`` is the subject's
# position in its event.
COLUMNS = ("e.id, s.n, e.occurred_at, e.actor_subject, e.actor_role, e.action, s.subject_type, s.subject_id, "
           "s.young_adult_id, e.fields, e.request_id, e.operation")
SUBJECTS = ("unnest(e.subject_ids, e.young_adult_ids, e.subject_types) WITH ORDINALITY "
            "AS s (subject_id, young_adult_id, subject_type, n)")


@dataclass(frozen=True, slots=True)
class EventFilter:
    """What a data-protection query asks for; every part optional, all given parts must hold. ``until`` is
    exclusive."""

    actor: str | None = None
    young_adult_id: uuid.UUID | None = None
    subject_id: uuid.UUID | None = None
    action: str | None = None
    since: dt.datetime | None = None
    until: dt.datetime | None = None


def events_query(where: EventFilter, after: tuple[int, int] | None, limit: int) -> tuple[str, list[object]]:
    """The statement for :func:`events` and its arguments. Only the filters given become predicates (fixed
    fragments, values as parameters), so each query's plan is the index for its filter, never a generic one: who
    saw young adult X (GIN on young_adult_ids), what did user Y see between two dates ((actor_subject,
    occurred_at)), everything about one record (GIN on subject_ids), every export ((action, occurred_at))."""
    conditions: list[str] = []
    args: list[object] = []

    def add(fragment: str, *values: object) -> None:
        places = []
        for value in values:
            args.append(value)
            places.append(f"${len(args)}")
        conditions.append(fragment.format(*places))

    for fragment, value in (
            ("e.actor_subject = {0}", where.actor),
            ("e.young_adult_ids @> ARRAY[{0}::uuid] AND s.young_adult_id = {0}", where.young_adult_id),
            ("e.subject_ids @> ARRAY[{0}::uuid] AND s.subject_id = {0}", where.subject_id),
            ("e.action = {0}", where.action), ("e.occurred_at >= {0}", where.since),
            ("e.occurred_at < {0}", where.until)):
        if value is not None:
            add(fragment, value)
    if after is not None:
        add("(e.occurred_at, e.id, s.n) < (SELECT c.occurred_at, c.id, {1}::bigint FROM audit_event c "
            "WHERE c.id = {0})", *after)
    args.append(limit)
    where_sql = f"WHERE {' AND '.join(conditions)} " if conditions else ""
    return (f"SELECT {COLUMNS} FROM audit_event e, {SUBJECTS} {where_sql}"
            f"ORDER BY e.occurred_at DESC, e.id DESC, s.n DESC LIMIT ${len(args)}", args)


async def events(session: TenantSession, where: EventFilter, after: tuple[int, int] | None, limit: int,
                 ) -> list[asyncpg.Record]:
    """(Event, subject) rows matching ``where``, newest first, after the position ``after`` (a cursor: the last
    row of the page before; one that names no event gives an empty page)."""
    sql, args = events_query(where, after, limit)
    return await session.fetch(sql, *args)


# --- the platform-level trail (control plane; app role: insert and select only) ----------------------------------

PLATFORM_COLUMNS = "id, occurred_at, actor_subject, actor_role, action, operation, fields, tenants, request_id"


async def record_platform_read(control: Statements, actor: str, role: str, request_id: str, action: str,
                               operation: str | None, fields: Sequence[str], tenants: Sequence[str]) -> None:
    await control.fetch(
        "INSERT INTO control.platform_audit_event (actor_subject, actor_role, action, operation, fields, tenants, "
        "request_id) VALUES ($1, $2, $3, $4, $5, $6, $7)", actor, role, action, operation, list(fields),
        list(tenants), request_id)


@dataclass(frozen=True, slots=True)
class TrailFilter:
    actor: str | None = None
    role: str | None = None
    tenant: str | None = None
    since: dt.datetime | None = None
    until: dt.datetime | None = None


async def platform_events(control: Statements, where: TrailFilter, after: int | None, limit: int,
                          ) -> list[asyncpg.Record]:
    """Trail rows matching ``where``, newest first, after the row ``after``; only given filters become predicates,
    each served by an index (actor, occurred_at), (occurred_at, id) or the GIN index on tenants."""
    conditions: list[str] = []
    args: list[object] = []
    for fragment, value in (("actor_subject = {}", where.actor), ("actor_role = {}", where.role),
                            ("tenants @> ARRAY[{}]::text[]", where.tenant), ("occurred_at >= {}", where.since),
                            ("occurred_at < {}", where.until)):
        if value is not None:
            args.append(value)
            conditions.append(fragment.format(f"${len(args)}"))
    if after is not None:
        args.append(after)
        conditions.append(f"(occurred_at, id) < (SELECT c.occurred_at, c.id FROM control.platform_audit_event c "
                          f"WHERE c.id = ${len(args)})")
    args.append(limit)
    where_sql = f"WHERE {' AND '.join(conditions)} " if conditions else ""
    return await control.fetch(
        f"SELECT {PLATFORM_COLUMNS} FROM control.platform_audit_event {where_sql}"
        f"ORDER BY occurred_at DESC, id DESC LIMIT ${len(args)}", *args)
