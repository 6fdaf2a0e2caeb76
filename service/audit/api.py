"""The audit trail as tenant administrators (the data-protection role) read it: who viewed or changed what, and when
— by young adult, by actor, by record, by action and by date range, in pages or as one CSV file."""

from __future__ import annotations

import csv
import datetime as dt
import enum
import io
import uuid

import asyncpg
import strawberry

from service.api.context import Info
from service.api.enums import AuditAction
from service.api.relay import (
    Connection,
    check_first,
    connection,
    cursor_id,
    expect_id,
    from_global_id,
    to_global_id,
)
from service.api.spreadsheet import safe_cell
from service.audit import repository
from service.audit.days import day_range
from service.audit.repository import EventFilter
from service.kernel.audit import AuditEvent as Event
from service.kernel.audit import write as audit
from service.kernel.errors import AccessDenied, InvalidInput
from service.kernel.principal import Role

EXPORT_LIMIT = 10_000


@strawberry.type(description="One recorded view or change of a record.")
class AuditEvent:
    occurred_at: dt.datetime
    actor_subject: str = strawberry.field(description="The login of who did it.")
    actor_role: str
    action: AuditAction
    subject_type: str
    subject_id: strawberry.ID = strawberry.field(description="The global id of what was viewed or changed.")
    fields: list[str] = strawberry.field(description="The fields changed (names only, never values).")
    request_id: str
    young_adult_id: strawberry.ID | None = strawberry.field(
        default=None, description="The young adult whose record it was part of, if any.")
    operation: str | None = strawberry.field(default=None,
                                             description="The named operation it was seen or changed through.")

    @classmethod
    def from_row(cls, row: asyncpg.Record) -> AuditEvent:
        young_adult = row.get("young_adult_id")
        return cls(occurred_at=row["occurred_at"], actor_subject=row["actor_subject"], actor_role=row["actor_role"],
                   action=AuditAction(row["action"]), subject_type=row["subject_type"],
                   subject_id=strawberry.ID(to_global_id(row["subject_type"], row["subject_id"])),
                   fields=list(row["fields"]), request_id=row["request_id"],
                   young_adult_id=None if young_adult is None else strawberry.ID(
                       to_global_id("YoungAdult", young_adult)), operation=row.get("operation"))


@strawberry.input(description="Which audit events: every part is optional and every part given must hold.")
class AuditEventFilter:
    actor: str | None = strawberry.field(default=None, description="The login (subject) of who did it.")
    young_adult_id: strawberry.ID | None = strawberry.field(
        default=None, description="Events about this young adult's record or any part of it.")
    subject_id: strawberry.ID | None = strawberry.field(default=None, description="Events about this one record.")
    action: AuditAction | None = None
    from_: dt.date | None = strawberry.field(default=None, name="from",
                                             description="From this day (UK time), inclusive.")
    to: dt.date | None = strawberry.field(default=None, description="To this day (UK time), inclusive.")


@strawberry.type(description="An audit extract as CSV (one header line, then one event a line, newest first).")
class AuditExport:
    csv: str
    rows: int
    truncated: bool = strawberry.field(description=f"True when more than {EXPORT_LIMIT} events matched: narrow the "
                                                   "filter (e.g. the dates) and export again.")


def event_filter(given: AuditEventFilter | None) -> tuple[EventFilter, bool]:
    """The repository's filter, and whether a filter that names no record of this tenant was given (then
    nothing matches: another tenant's id answers like a missing one)."""
    if given is None:
        return EventFilter(), False
    since, until = day_range(given.from_, given.to)
    actor = given.actor.strip() if given.actor is not None else None
    if actor is not None and not 1 <= len(actor) <= 255:
        raise InvalidInput("actor must be 1 to 255 characters.", field="actor")
    young_adult = expect_id(given.young_adult_id, "YoungAdult", "youngAdultId") \
        if given.young_adult_id is not None else None
    record = _any_id(given.subject_id) if given.subject_id is not None else None
    unknown = (given.young_adult_id is not None and young_adult is None) or \
        (given.subject_id is not None and record is None)
    return EventFilter(actor=actor, young_adult_id=young_adult, subject_id=record,
                       action=given.action.value if given.action is not None else None,
                       since=since, until=until), unknown


def _any_id(global_id: strawberry.ID) -> uuid.UUID | None:
    decoded = from_global_id(global_id)
    if decoded is None:
        raise InvalidInput("subjectId is not an id this API issued.", field="subjectId")
    return decoded[1]


def row_key(row: asyncpg.Record) -> uuid.UUID:
    """An event lists several subjects: a page's cursor is (event id, position), carried as the uuid whose integer
    value is id << 32 | position."""
    return uuid.UUID(int=row["id"] << 32 | row["n"])


# A position no row has (event ids start at 1): a page after it is empty.
_NOWHERE = (0, 0)
_BIGINT = 2**63


def position(cursor: uuid.UUID | None) -> tuple[int, int] | None:
    """The (event id, position) a cursor's key names; a key out of their range (never issued) names no row."""
    if cursor is None:
        return None
    event, n = cursor.int >> 32, cursor.int & 0xFFFFFFFF
    return (event, n) if event < _BIGINT else _NOWHERE


def platform_position(cursor: uuid.UUID | None) -> int | None:
    """The platform trail's row a cursor's key names (its id); a key out of range names no row."""
    if cursor is None:
        return None
    return cursor.int if cursor.int < _BIGINT else _NOWHERE[0]


def _require_data_protection_role(role: Role) -> None:
    if role is not Role.TENANT_ADMIN:
        raise AccessDenied("Only tenant administrators read the audit trail.")


CSV_HEADER = ("occurredAt", "actor", "actorRole", "action", "subjectType", "subjectId", "youngAdultId", "fields",
              "requestId")


def render_csv(events: list[AuditEvent]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_HEADER)
    for e in events:
        writer.writerow([e.occurred_at.isoformat(), safe_cell(e.actor_subject), e.actor_role, e.action.value,
                         e.subject_type, e.subject_id, e.young_adult_id or "", ";".join(e.fields), e.request_id])
    return out.getvalue()


@strawberry.type
class AuditQuery:
    @strawberry.field(description="Who viewed or changed a young adult's record, newest first (tenant admins).")
    async def audit_trail(self, info: Info, young_adult_id: strawberry.ID, first: int = 50,
                          after: str | None = None) -> Connection[AuditEvent]:
        ctx = info.context
        _require_data_protection_role(ctx.principal.role)
        first = check_first(first)
        raw, before = expect_id(young_adult_id, "YoungAdult", "youngAdultId"), cursor_id(after)
        if raw is None:
            return connection([], first, AuditEvent.from_row, lambda r: r["id"])
        rows = await repository.events(ctx.tenant(), EventFilter(young_adult_id=raw), position(before), first + 1)
        ctx.consults.consulted("AuditTrail", raw, raw)
        return connection(rows, first, AuditEvent.from_row, row_key)

    @strawberry.field(description="Audit events by actor, young adult, record, action and date range, newest first "
                                  "(tenant administrators: the data-protection role).")
    async def audit_events(self, info: Info, filter: AuditEventFilter | None = None, first: int = 50,
                           after: str | None = None) -> Connection[AuditEvent]:
        ctx = info.context
        _require_data_protection_role(ctx.principal.role)
        first = check_first(first)
        where, unknown = event_filter(filter)
        before = cursor_id(after)
        if unknown:
            return connection([], first, AuditEvent.from_row, lambda r: r["id"])
        rows = await repository.events(ctx.tenant(), where, position(before), first + 1)
        if where.young_adult_id is not None:
            ctx.consults.consulted("AuditTrail", where.young_adult_id, where.young_adult_id)
        return connection(rows, first, AuditEvent.from_row, row_key)

    @strawberry.field(description=f"The events `auditEvents` would list for the same filter, as one CSV file (at most "
                                  f"{EXPORT_LIMIT}). The export is itself recorded (action EXPORT).")
    async def audit_events_csv(self, info: Info, filter: AuditEventFilter | None = None) -> AuditExport:
        ctx = info.context
        _require_data_protection_role(ctx.principal.role)
        where, unknown = event_filter(filter)
        rows = [] if unknown else await repository.events(ctx.tenant(), where, None, EXPORT_LIMIT + 1)
        events = [AuditEvent.from_row(r) for r in rows[:EXPORT_LIMIT]]
        given = tuple(sorted(name for name, value in (
            ("actor", where.actor), ("young_adult_id", where.young_adult_id), ("subject_id", where.subject_id),
            ("action", where.action), ("from", where.since), ("to", where.until)) if value is not None))
        # One EXPORT event per extract: about the young adult when the filter names one, else about the extract.
        await audit(ctx.tenant(), ctx.principal, ctx.request_id, [Event(
            AuditAction.EXPORT, "AuditTrail", where.young_adult_id or uuid.uuid4(), where.young_adult_id, given)])
        return AuditExport(csv=render_csv(events), rows=len(events), truncated=len(rows) > EXPORT_LIMIT)


# --- the platform-level trail (platform administrators) ----------------------------------------------------------

@strawberry.enum(description="The roles whose reads the platform trail records.")
class PlatformReader(enum.Enum):
    NATIONAL_ANALYST = "NATIONAL_ANALYST"
    PLATFORM_ADMIN = "PLATFORM_ADMIN"


@strawberry.enum(description="What a platform read was: a query (CONSULT) or a download (EXPORT).")
class PlatformReadAction(enum.Enum):
    CONSULT = "CONSULT"
    EXPORT = "EXPORT"


@strawberry.type(description="One read by a national analyst or platform administrator.")
class PlatformAuditEvent:
    occurred_at: dt.datetime
    actor_subject: str
    actor_role: PlatformReader
    action: PlatformReadAction
    operation: str | None = strawberry.field(description="The operation's name (null when it had none).")
    fields: list[str] = strawberry.field(description="The root fields it read (for a download, its path).")
    tenants: list[str] = strawberry.field(description="The tenants it named, by slug.")
    request_id: str

    @classmethod
    def from_row(cls, row: asyncpg.Record) -> PlatformAuditEvent:
        return cls(occurred_at=row["occurred_at"], actor_subject=row["actor_subject"],
                   actor_role=PlatformReader(row["actor_role"]), action=PlatformReadAction(row["action"]),
                   operation=row["operation"], fields=list(row["fields"]), tenants=list(row["tenants"]),
                   request_id=row["request_id"])


@strawberry.input(description="Which platform reads: every part is optional and every part given must hold.")
class PlatformAuditFilter:
    actor: str | None = None
    role: PlatformReader | None = None
    tenant: str | None = strawberry.field(default=None, description="Reads that named this tenant (slug).")
    from_: dt.date | None = strawberry.field(default=None, name="from",
                                             description="From this day (UK time), inclusive.")
    to: dt.date | None = strawberry.field(default=None, description="To this day (UK time), inclusive.")


def trail_filter(given: PlatformAuditFilter | None) -> repository.TrailFilter:
    if given is None:
        return repository.TrailFilter()
    since, until = day_range(given.from_, given.to)
    return repository.TrailFilter(actor=given.actor.strip() if given.actor is not None else None,
                       role=given.role.value if given.role is not None else None, tenant=given.tenant,
                       since=since, until=until)


@strawberry.type
class PlatformAuditQuery:
    @strawberry.field(description="What national analysts and platform administrators read, newest first "
                                  "(platform administrators).")
    async def platform_audit_trail(self, info: Info, filter: PlatformAuditFilter | None = None, first: int = 50,
                                   after: str | None = None) -> Connection[PlatformAuditEvent]:
        ctx = info.context
        if ctx.principal.role is not Role.PLATFORM_ADMIN:
            raise AccessDenied("Only platform administrators read the platform audit trail.")
        first = check_first(first)
        before = cursor_id(after)
        rows = await repository.platform_events(ctx.control(), trail_filter(filter), platform_position(before),
                                                first + 1)
        return connection(rows, first, PlatformAuditEvent.from_row, lambda r: uuid.UUID(int=r["id"]))
