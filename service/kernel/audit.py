"""Recording audit events.

Changes are written at once, inside the mutation's savepoint, so a refused change leaves no event. Views
("consult") are collected during the request and written in one statement when the operation ends, so auditing a
page of fifty records costs one INSERT of one CONSULT event listing its subjects and their types (t0009), not 550
rows. The runtime role may INSERT and SELECT audit rows only; UPDATE, DELETE and TRUNCATE are revoked in the
migrations that create the table (t0002, t0008).
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


def insert(source: str, first_param: int) -> str:
    """The one INSERT of the audit trail, used by the resolvers' flush and by compiled statements alike.

    ``source`` is a query whose rows are (action, subject_type, subject_id, young_adult_id, fields text[], n):
    one per subject shown or changed, ``n`` ordering the events. They become one event per action and fields (a
    read: one CONSULT event, and a DISCLOSE event per set of need-to-know fields shown), each subject once, with its
    type and its young adult in the same order: by id, then type (an order neither executor's order of work
    changes; the same id may be two subjects, a young adult and their timeline). Parameters ``$first_param`` to
    ``$first_param + 3`` are the actor's subject, their role, the request id and the operation name (null when the
    document has none).

    One event rather than one per subject type (t0009): every row the request writes pays for the table's indexes
    in its transaction, and a young adult's record showed ten types. Each subject is counted once by grouping on its
    id first, and each event's subjects are ordered by id first, then type: PostgreSQL sorts on the keys in the
    order written, and ids settle nearly every comparison at once, where the action, type and fields (the same for
    most rows) were compared first for every pair (a page of 50 lists 550 subjects; ordering an event's subjects by
    type first made its audit 4.3 ms instead of 2.7; measured with bench/audit_cost.py).
    """
    n = first_param
    order = "ORDER BY d.subject_id, d.subject_type"
    return f"""
        INSERT INTO audit_event (actor_subject, actor_role, action, subject_types, subject_ids, young_adult_ids,
                                 fields, request_id, operation)
        SELECT ${n}, ${n + 1}, d.action, array_agg(d.subject_type {order}), array_agg(d.subject_id {order}),
               array_agg(d.young_adult_id {order}), d.fields, ${n + 2}, ${n + 3}
        FROM (SELECT s.action, s.subject_type, s.subject_id, s.young_adult_id, s.fields, min(s.n) AS n
              FROM ({source}) AS s (action, subject_type, subject_id, young_adult_id, fields, n)
              GROUP BY 3, 1, 2, 4, 5) AS d
        GROUP BY d.action, d.fields
        ORDER BY min(d.n)"""


_FROM_ARRAYS = insert(
    "SELECT e.action, e.subject_type, e.subject_id, e.young_adult_id, "
    "coalesce(string_to_array(nullif(e.fields, ''), ','), '{}'), e.n "
    "FROM unnest($5::text[], $6::text[], $7::uuid[], $8::uuid[], $9::text[]) WITH ORDINALITY "
    "AS e (action, subject_type, subject_id, young_adult_id, fields, n)", 1)


async def write(session: TenantSession, principal: Principal, request_id: str, events: Iterable[AuditEvent],
                operation: str | None = None) -> None:
    """Write events now, in one statement (inside the caller's transaction or savepoint)."""
    batch = list(events)
    if not batch:
        return
    await session.fetch(
        _FROM_ARRAYS, principal.subject, principal.role.value, request_id, operation,
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

    async def flush(self, session: TenantSession, principal: Principal, request_id: str,
                    operation: str | None) -> None:
        events, self.pending = list(self.pending.values()), {}
        await write(session, principal, request_id, events, operation)
