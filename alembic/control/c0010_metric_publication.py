"""Each metric's publication counter: which publication of a metric's figures ``control.national_figure`` holds.

A publisher that remembers what it last wrote of a metric (the refresh leader, service/reporting/publication.py)
writes only the figures that changed since, but only when the stored figures are still the ones it wrote: the
counter moves with every publication, by any process, in the transaction that writes the figures, so a publisher
whose remembered counter differs from the stored one (another process published meanwhile, or it never published)
replaces the metric's figures whole.

Revision ID: c0010
Revises: c0009
Create Date: 2026-12-01
"""

from alembic import op

revision = "c0010"
down_revision = "c0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("""
        CREATE TABLE control.metric_publication (
            metric text PRIMARY KEY,
            publication bigint NOT NULL,
            figures bigint NOT NULL,
            published_at timestamptz NOT NULL
        )
    """)


def downgrade() -> None:
    op.execute("DROP TABLE control.metric_publication")
