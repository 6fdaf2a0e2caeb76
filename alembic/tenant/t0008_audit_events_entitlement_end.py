"""The audit trail as one event per request, action and kind of subject, listing its subjects; and the young
adult's entitlement end date as a generated column, its one definition.

A caseload page of fifty used to write about 550 rows (one per record shown); it now writes one per type shown.
Each event keeps ``subject_ids`` and, in the same order, ``young_adult_ids`` (the young adult each subject belongs
to, null for a subject outside any record). The two questions the trail answers are each one indexed query:

* who saw young adult X, when, through which operation: ``young_adult_ids @> ARRAY[X]`` (GIN index);
* what did user Y see between two dates: ``actor_subject = Y AND occurred_at BETWEEN …`` (btree index);
* everything about one record: ``subject_ids @> ARRAY[R]`` (GIN index); every export, or any action, and date
  ranges: the btree indexes t0004 made, made again on the new table.

Existing rows are carried over grouped the same way (one event per request, actor, action, subject type and
fields, at the first of its rows' times, keeping the smallest id), so the old trail reads as the new one would have
been written. The runtime role may still only INSERT and SELECT.

``young_adult.entitlement_end_date`` is the birthday at the entitlement end age; someone born on 29 February
reaches it on 1 March in a common year (PostgreSQL's date arithmetic gives 28 February, hence the added day).
Both executors read the column; nothing restates the rule.

Revision ID: t0008
Revises: t0007
Create Date: 2026-11-30
"""

from alembic import op

revision = "t0008"
down_revision = "t0007"
branch_labels = None
depends_on = None

REVOKE = """
    DO $$ BEGIN
        EXECUTE format('REVOKE UPDATE, DELETE, TRUNCATE ON audit_event FROM %I',
                       current_setting('always_hope.runtime_role'));
    END $$
"""


ENTITLEMENT_END = """
    (date_of_birth + make_interval(years => entitlement_end_age))::date
    + (extract(day FROM date_of_birth)
       <> extract(day FROM date_of_birth + make_interval(years => entitlement_end_age)))::int
"""


def upgrade() -> None:
    op.execute(f"ALTER TABLE young_adult ADD COLUMN entitlement_end_date date NOT NULL "
               f"GENERATED ALWAYS AS ({ENTITLEMENT_END}) STORED")
    op.execute("ALTER TABLE audit_event RENAME TO audit_event_row")
    op.execute("ALTER INDEX audit_event_pkey RENAME TO audit_event_row_pkey")
    op.execute("""
        CREATE TABLE audit_event (
            id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
            occurred_at timestamptz NOT NULL DEFAULT clock_timestamp(),
            actor_subject text NOT NULL,
            actor_role text NOT NULL,
            action text NOT NULL CHECK (action IN ('CONSULT', 'CREATE', 'ALTER', 'DISCLOSE', 'EXPORT', 'ERASE')),
            subject_type text NOT NULL,
            subject_ids uuid[] NOT NULL,
            young_adult_ids uuid[] NOT NULL,
            fields text[] NOT NULL DEFAULT '{}',
            request_id text NOT NULL,
            operation text,
            CHECK (cardinality(subject_ids) > 0 AND cardinality(subject_ids) = cardinality(young_adult_ids))
        )
    """)
    op.execute("""
        INSERT INTO audit_event (id, occurred_at, actor_subject, actor_role, action, subject_type, subject_ids,
                                 young_adult_ids, fields, request_id)
        OVERRIDING SYSTEM VALUE
        SELECT min(id), min(occurred_at), actor_subject, actor_role, action, subject_type,
               array_agg(subject_id ORDER BY subject_id, id), array_agg(young_adult_id ORDER BY subject_id, id),
               fields, request_id
        FROM audit_event_row
        GROUP BY request_id, actor_subject, actor_role, action, subject_type, fields
    """)
    op.execute("""
        SELECT setval(pg_get_serial_sequence('audit_event', 'id'),
                      greatest((SELECT max(id) FROM audit_event_row), 1),
                      (SELECT max(id) FROM audit_event_row) IS NOT NULL)
    """)
    op.execute("DROP TABLE audit_event_row")
    op.execute("CREATE INDEX audit_event_young_adults ON audit_event USING gin (young_adult_ids)")
    op.execute("CREATE INDEX audit_event_subjects ON audit_event USING gin (subject_ids)")
    op.execute("CREATE INDEX audit_event_actor ON audit_event (actor_subject, occurred_at)")
    op.execute("CREATE INDEX audit_event_occurred ON audit_event (occurred_at, id)")
    op.execute("CREATE INDEX audit_event_action ON audit_event (action, occurred_at)")
    op.execute(REVOKE)


def downgrade() -> None:
    op.execute("ALTER TABLE young_adult DROP COLUMN entitlement_end_date")
    op.execute("ALTER TABLE audit_event RENAME TO audit_event_grouped")
    op.execute("ALTER INDEX audit_event_pkey RENAME TO audit_event_grouped_pkey")
    for index in ("actor", "occurred", "action"):
        op.execute(f"ALTER INDEX audit_event_{index} RENAME TO audit_event_grouped_{index}")
    op.execute("""
        CREATE TABLE audit_event (
            id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
            occurred_at timestamptz NOT NULL DEFAULT clock_timestamp(),
            actor_subject text NOT NULL,
            actor_role text NOT NULL,
            action text NOT NULL CHECK (action IN ('CONSULT', 'CREATE', 'ALTER', 'DISCLOSE', 'EXPORT', 'ERASE')),
            subject_type text NOT NULL,
            subject_id uuid NOT NULL,
            young_adult_id uuid,
            fields text[] NOT NULL DEFAULT '{}',
            request_id text NOT NULL
        )
    """)
    op.execute("""
        INSERT INTO audit_event (occurred_at, actor_subject, actor_role, action, subject_type, subject_id,
                                 young_adult_id, fields, request_id)
        SELECT e.occurred_at, e.actor_subject, e.actor_role, e.action, e.subject_type, s.subject_id,
               s.young_adult_id, e.fields, e.request_id
        FROM audit_event_grouped e, unnest(e.subject_ids, e.young_adult_ids) WITH ORDINALITY
             AS s (subject_id, young_adult_id, n)
        ORDER BY e.id, s.n
    """)
    op.execute("DROP TABLE audit_event_grouped")
    op.execute("CREATE INDEX audit_event_young_adult ON audit_event (young_adult_id, occurred_at)")
    op.execute("CREATE INDEX audit_event_actor ON audit_event (actor_subject, occurred_at)")
    op.execute("CREATE INDEX audit_event_occurred ON audit_event (occurred_at, id)")
    op.execute("CREATE INDEX audit_event_action ON audit_event (action, occurred_at)")
    op.execute("CREATE INDEX audit_event_subject ON audit_event (subject_id, occurred_at)")
    op.execute(REVOKE)
