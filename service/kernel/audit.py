"""Recording audit events.

Changes are written at once, inside the mutation's savepoint, so a refused change leaves no event. Views
("consult") are collected during the request and written in one statement when the operation ends, so auditing a
page of fifty records costs one INSERT, not fifty. The runtime role may INSERT and SELECT audit rows only; UPDATE,
DELETE and TRUNCATE are revoked in the migration that creates the table.
"""

from __future__ import annotations

import enum
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field

from service.kernel.principal import Principal
from service.kernel.session import TenantSession


class AuditAction(enum.StrEnum):
    CONSULT = "CONSULT"
    CREATE = "CREATE"
    ALTER = "ALTER"
    DISCLOSE = "DISCLOSE"
    EXPORT = "EXPORT"
    ERASE = "ERASE"


@dataclass(frozen=True, slots=True)
class AuditEvent:
    action: AuditAction
    subject_type: str
    subject_id: uuid.UUID
    young_adult_id: uuid.UUID | None
    fields: tuple[str, ...] = ()


INSERT = """
    INSERT INTO audit_event (actor_subject, actor_role, action, subject_type, subject_id, young_adult_id, fields,
                             request_id)
    SELECT $1, $2, e.action, e.subject_type, e.subject_id, e.young_adult_id,
           coalesce(string_to_array(nullif(e.fields, ''), ','), '{}'), $3
    FROM unnest($4::text[], $5::text[], $6::uuid[], $7::uuid[], $8::text[])
         AS e (action, subject_type, subject_id, young_adult_id, fields)
"""


async def write(session: TenantSession, principal: Principal, request_id: str, events: Iterable[AuditEvent]) -> None:
    """Write events now, in one statement (inside the caller's transaction or savepoint)."""
    batch = list(events)
    if not batch:
        return
    await session.fetch(
        INSERT, principal.subject, principal.role.value, request_id,
        [e.action.value for e in batch], [e.subject_type for e in batch], [e.subject_id for e in batch],
        [e.young_adult_id for e in batch], [",".join(e.fields) for e in batch])


@dataclass
class ConsultLog:
    """Views seen during one request (consulted records, disclosed need-to-know fields), written once when the
    operation ends (deduplicated)."""

    pending: dict[tuple[AuditAction, str, uuid.UUID, tuple[str, ...]], AuditEvent] = field(default_factory=dict)

    def consulted(self, subject_type: str, subject_id: uuid.UUID, young_adult_id: uuid.UUID | None,
                  fields: tuple[str, ...] = ()) -> None:
        key = (AuditAction.CONSULT, subject_type, subject_id, fields)
        if key not in self.pending:
            self.pending[key] = AuditEvent(AuditAction.CONSULT, subject_type, subject_id, young_adult_id, fields)

    def disclosed(self, subject_type: str, subject_id: uuid.UUID, young_adult_id: uuid.UUID | None,
                  field_name: str) -> None:
        """A need-to-know field was shown: one DISCLOSE event per record, naming every such field shown."""
        key = (AuditAction.DISCLOSE, subject_type, subject_id, ())
        seen = self.pending.get(key)
        fields = tuple(sorted({field_name, *(seen.fields if seen else ())}))
        self.pending[key] = AuditEvent(AuditAction.DISCLOSE, subject_type, subject_id, young_adult_id, fields)

    async def flush(self, session: TenantSession, principal: Principal, request_id: str) -> None:
        events, self.pending = list(self.pending.values()), {}
        await write(session, principal, request_id, events)
