"""Declaration (service/api/model.py) of the audit trail as tenant administrators read it: one row per (event,
subject), an event listing its subjects (service/kernel/audit.py). Such a row has no id of its own: a page lists it
by the uuid whose integer value is (event id << 32 | the subject's position in its event), the key of its cursor
(service/audit/api.py), and the row is reached from that key through the event's primary key. Reading the trail is
not itself a CONSULT of the rows shown (an administrator's read of one young adult's trail is recorded as a view of
that trail, by the root: service/app/compiled/roots.py and service/audit/api.py)."""

from __future__ import annotations

from service.api.model import Scalar, TypeModel, cols, global_id, timestamp
from service.api.relay import global_id_sql_of

# The page's key of an (event, subject) row, from the event's id and the subject's position (both bigint), and back.
ROW_KEY = "(lpad(to_hex({id}), 24, '0') || lpad(to_hex({n}), 8, '0'))::uuid"
_HEX = "replace({key}::text, '-', '')"
EVENT_OF_KEY = "('x' || substr(" + _HEX + ", 9, 16))::bit(64)::bigint"
POSITION_OF_KEY = "('x' || right(" + _HEX + ", 8))::bit(32)::int"

# The row whose key the page's row {s} holds (a LATERAL subquery over it: the compiler reaches every root row by
# its key, and this row's key is computed).
ROW = ("LATERAL (SELECT {s}.id, e.occurred_at, e.actor_subject, e.actor_role, e.action, u.subject_type, u.subject_id, "
       "u.young_adult_id, e.fields, e.request_id, e.operation FROM audit_event e CROSS JOIN LATERAL "
       "unnest(e.subject_ids, e.young_adult_ids, e.subject_types) WITH ORDINALITY "
       "AS u (subject_id, young_adult_id, subject_type, n) "
       f"WHERE e.id = {EVENT_OF_KEY.format(key='{s}.id')} AND u.n = {POSITION_OF_KEY.format(key='{s}.id')})")

AUDIT_EVENT = TypeModel("AuditEvent", ROW, {
    "occurredAt": timestamp("occurred_at"),
    **cols(actorSubject="actor_subject", actorRole="actor_role", action="action", subjectType="subject_type",
           requestId="request_id", operation="operation"),
    "subjectId": Scalar(global_id_sql_of("{t}.subject_type", "{t}.subject_id")),
    "youngAdultId": global_id("YoungAdult", "{t}.young_adult_id"),
    "fields": Scalar("to_json({t}.fields)"),
})

MODELS = (AUDIT_EVENT,)
