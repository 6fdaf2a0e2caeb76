"""Meetings record whether the young adult attended (network members attend through ``meeting_attendee``).

Expand only: a new column with a default, so a service that does not know it keeps working.

Revision ID: t0005
Revises: t0004
Create Date: 2026-11-30
"""

from alembic import op

revision = "t0005"
down_revision = "t0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("ALTER TABLE meeting ADD COLUMN young_adult_attended boolean NOT NULL DEFAULT false")


def downgrade() -> None:
    op.execute("ALTER TABLE meeting DROP COLUMN young_adult_attended")
