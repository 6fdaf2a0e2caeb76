"""National figures read by slice: one grain, a period range and some entity kinds.

A national table reads the figures of one kind of entity (the nation and every tenant, or the nation and the kinds)
for one period. The primary key orders by entity within a period, so the tenants' figures sat among their sites'
(three times as many) and every one was a separate heap page; this index leads with the kind, and publication
writes a metric's figures in the same order (publication._order), so a slice is a few adjacent pages.

Revision ID: c0009
Revises: c0008
Create Date: 2026-12-01
"""

from alembic import op

revision = "c0009"
down_revision = "c0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("CREATE INDEX national_figure_slice ON control.national_figure "
               "(metric, grain, entity_kind, period_start, entity)")


def downgrade() -> None:
    op.execute("DROP INDEX control.national_figure_slice")
