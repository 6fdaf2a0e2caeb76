"""The audit trail as tenant administrators read it: who viewed or changed a young adult's record, and when."""

from __future__ import annotations

import datetime as dt
import enum
import uuid

import asyncpg
import strawberry

from service.api.context import Info
from service.api.relay import Connection, check_first, connection, cursor_id, expect_id, to_global_id
from service.audit import repository
from service.kernel.errors import AccessDenied
from service.kernel.principal import Role


@strawberry.enum
class AuditActionKind(enum.Enum):
    CONSULT = "CONSULT"
    CREATE = "CREATE"
    ALTER = "ALTER"
    DISCLOSE = "DISCLOSE"
    EXPORT = "EXPORT"
    ERASE = "ERASE"


@strawberry.type(description="One recorded view or change of a record.")
class AuditEvent:
    occurred_at: dt.datetime
    actor_subject: str = strawberry.field(description="The login of who did it.")
    actor_role: str
    action: AuditActionKind
    subject_type: str
    subject_id: strawberry.ID = strawberry.field(description="The global id of what was viewed or changed.")
    fields: list[str] = strawberry.field(description="The fields changed (names only, never values).")
    request_id: str

    @classmethod
    def from_row(cls, row: asyncpg.Record) -> AuditEvent:
        return cls(occurred_at=row["occurred_at"], actor_subject=row["actor_subject"], actor_role=row["actor_role"],
                   action=AuditActionKind(row["action"]), subject_type=row["subject_type"],
                   subject_id=strawberry.ID(to_global_id(row["subject_type"], row["subject_id"])),
                   fields=list(row["fields"]), request_id=row["request_id"])


@strawberry.type
class AuditQuery:
    @strawberry.field(description="Who viewed or changed a young adult's record, newest first (tenant admins).")
    async def audit_trail(self, info: Info, young_adult_id: strawberry.ID, first: int = 50,
                          after: str | None = None) -> Connection[AuditEvent]:
        ctx = info.context
        if ctx.principal.role is not Role.TENANT_ADMIN:
            raise AccessDenied("Only tenant administrators read the audit trail.")
        first = check_first(first)
        raw, before = expect_id(young_adult_id, "YoungAdult", "youngAdultId"), cursor_id(after)
        if raw is None:
            return connection([], first, AuditEvent.from_row, lambda r: r["id"])
        rows = await repository.events_for(ctx.tenant(), raw, None if before is None else before.int, first + 1)
        ctx.consults.consulted("AuditTrail", raw, raw)
        # audit ids are integers; the cursor carries one as the uuid with that integer value
        return connection(rows, first, AuditEvent.from_row, lambda r: uuid.UUID(int=r["id"]))
