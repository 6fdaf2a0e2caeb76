"""The audit trail as one event per request and action (and disclosed fields), each subject with its own type.

t0008 wrote one event per request, action, subject type and fields: a young adult's record wrote about ten rows
(one per kind of part shown), each paying for the table's five indexes in the request's transaction. The subject
type now travels with each subject (``subject_types``, in the order of ``subject_ids`` and ``young_adult_ids``),
so a read writes one CONSULT event, and one DISCLOSE event per set of need-to-know fields shown. The two questions
the trail answers stay one indexed query each (who saw young adult X: GIN on ``young_adult_ids``; what did user Y
see between two dates: ``(actor_subject, occurred_at)``), and so do the others (t0008).

Existing events are carried over as they are (each lists subjects of its one type), so their ids, times and the
keys of their rows (event id, position) are unchanged. The runtime role may still only INSERT and SELECT.

Revision ID: t0009
Revises: t0008
Create Date: 2026-12-01
"""

from alembic import op

revision = "t0009"
down_revision = "t0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # The column changes type in place (no dropped column left behind: a new tenant made from the baseline has the
    # same columns as one migrated revision by revision).
    op.execute("ALTER TABLE audit_event ALTER COLUMN subject_type TYPE text[] "
               "USING array_fill(subject_type, ARRAY[cardinality(subject_ids)])")
    op.execute("ALTER TABLE audit_event RENAME COLUMN subject_type TO subject_types")
    op.execute("ALTER TABLE audit_event ADD CONSTRAINT audit_event_subject_types "
               "CHECK (cardinality(subject_types) = cardinality(subject_ids))")


def downgrade() -> None:
    # One event per subject type again: an event listing several types becomes one per type (its subjects in the
    # same order), at the same time, the first type keeping the event's id.
    op.execute("ALTER TABLE audit_event DROP CONSTRAINT audit_event_subject_types")
    op.execute("""
        WITH parts AS (
            SELECT e.id, u.subject_type, array_agg(u.subject_id ORDER BY u.n) AS subject_ids,
                   array_agg(u.young_adult_id ORDER BY u.n) AS young_adult_ids,
                   row_number() OVER (PARTITION BY e.id ORDER BY min(u.n)) AS part
            FROM audit_event e,
                 unnest(e.subject_ids, e.young_adult_ids, e.subject_types) WITH ORDINALITY
                 AS u (subject_id, young_adult_id, subject_type, n)
            GROUP BY e.id, u.subject_type),
        firsts AS (
            UPDATE audit_event e SET subject_types = ARRAY[p.subject_type], subject_ids = p.subject_ids,
                   young_adult_ids = p.young_adult_ids
            FROM parts p WHERE p.id = e.id AND p.part = 1)
        INSERT INTO audit_event (occurred_at, actor_subject, actor_role, action, subject_types, subject_ids,
                                 young_adult_ids, fields, request_id, operation)
        SELECT e.occurred_at, e.actor_subject, e.actor_role, e.action, ARRAY[p.subject_type], p.subject_ids,
               p.young_adult_ids, e.fields, e.request_id, e.operation
        FROM parts p JOIN audit_event e ON e.id = p.id WHERE p.part > 1 ORDER BY p.id, p.part
    """)
    op.execute("ALTER TABLE audit_event ALTER COLUMN subject_types TYPE text USING subject_types[1]")
    op.execute("ALTER TABLE audit_event RENAME COLUMN subject_types TO subject_type")
