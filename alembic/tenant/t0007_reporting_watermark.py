"""A change counter for national reporting: the refresh recomputes a tenant only when it has moved.

``reporting_watermark`` holds one row, created by the first change. A statement-level trigger on every table the
reporting rollups read (service/reporting/compute.py) adds one to it in the writing transaction, so the counter is
transactional: a refresh that reads it in the same snapshot as the data it aggregates never records a counter that
is ahead of its figures. One statement costs one row update whatever it touches; concurrent writers of one tenant
take turns on that row only between their update and their commit. Tables the rollups do not read (the audit trail,
plans' goals and actions, …) carry no trigger, so reading a record does not make a tenant "changed".

Revision ID: t0007
Revises: t0006
Create Date: 2026-11-30
"""

from alembic import op

revision = "t0007"
down_revision = "t0006"
branch_labels = None
depends_on = None

# Keep in step with the tables compute.py reads.
ROLLUP_TABLES = ("site", "enrolment", "consent", "network_member", "network_member_status_change", "integrated_plan",
                 "plan_version", "custody_episode", "meeting", "meeting_attendee", "practitioner", "recall_event",
                 "lifelong_links_case", "lifelong_links_stage_change", "lifelong_links_objective",
                 "outcome_observation", "site_transfer", "young_adult")


def upgrade() -> None:
    op.execute("""
        CREATE TABLE reporting_watermark (
            id boolean PRIMARY KEY DEFAULT true CHECK (id),
            changes bigint NOT NULL
        )
    """)
    # SET search_path FROM CURRENT pins the function to this tenant's schema whatever the caller's path.
    op.execute("""
        CREATE FUNCTION bump_reporting_watermark() RETURNS trigger LANGUAGE plpgsql
        SET search_path FROM CURRENT AS $$
        BEGIN
            INSERT INTO reporting_watermark (id, changes) VALUES (true, 1)
            ON CONFLICT (id) DO UPDATE SET changes = reporting_watermark.changes + 1;
            RETURN NULL;
        END $$
    """)
    # One statement for all the triggers: provisioning runs this for every new tenant, one round trip each.
    tables = ", ".join(f"'{t}'" for t in ROLLUP_TABLES)
    op.execute(f"""
        DO $$ DECLARE t text; BEGIN
            FOREACH t IN ARRAY ARRAY[{tables}] LOOP
                EXECUTE format('CREATE TRIGGER reporting_watermark AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE '
                               'ON %I FOR EACH STATEMENT EXECUTE FUNCTION bump_reporting_watermark()', t);
            END LOOP;
        END $$
    """)


def downgrade() -> None:
    for table in ROLLUP_TABLES:
        op.execute(f"DROP TRIGGER reporting_watermark ON {table}")
    op.execute("DROP FUNCTION bump_reporting_watermark()")
    op.execute("DROP TABLE reporting_watermark")
