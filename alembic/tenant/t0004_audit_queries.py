"""Indexes for the data-protection role's audit queries: by action, by record and by date range, newest first.

By actor and by young adult are served by the indexes t0002 made ((actor_subject, occurred_at) and
(young_adult_id, occurred_at)); every audit query orders by (occurred_at, id) descending and pages on that key.

Revision ID: t0004
Revises: t0002
Create Date: 2026-11-30
"""

from alembic import op

revision = "t0004"
down_revision = "t0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("CREATE INDEX audit_event_occurred ON audit_event (occurred_at, id)")
    op.execute("CREATE INDEX audit_event_action ON audit_event (action, occurred_at)")
    op.execute("CREATE INDEX audit_event_subject ON audit_event (subject_id, occurred_at)")


def downgrade() -> None:
    op.execute("DROP INDEX audit_event_subject, audit_event_action, audit_event_occurred")
