"""National reporting at scale: published figures stored at refresh time, and what each tenant's rollup was
computed from.

``national_figure`` holds every figure of the platform-floor disclosure pattern (service/reporting/disclosure.py)
as it is shown: a suppressed value is stored as NULL with its reason, never as a number, so the national role reads
only what may be published. A national query at the default policy is one indexed read of this table.

``metric_refresh.watermark`` is the tenant's change counter (tenant revision t0007) that its stored rollups reflect;
``metric_refresh.digest`` a hash of each metric's rollup rows, so publishing recomputes only metrics that moved.

Revision ID: c0008
Revises: c0004
Create Date: 2026-11-30
"""

from alembic import op

revision = "c0008"
down_revision = "c0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("""
        CREATE TABLE control.national_figure (
            metric text NOT NULL,
            grain text NOT NULL CHECK (grain IN ('MONTH', 'QUARTER', 'YEAR')),
            period_start date NOT NULL,
            -- 'N', 'K/<kind>', 'T/<tenant id>' or 'S/<tenant id>/<site code>'
            entity text NOT NULL,
            entity_kind text NOT NULL CHECK (entity_kind IN ('N', 'K', 'T', 'S')),
            tenant_id uuid REFERENCES control.tenant (id) ON DELETE CASCADE,
            value double precision,
            reason text,
            numerator bigint,
            numerator_reason text,
            denominator bigint,
            denominator_reason text,
            PRIMARY KEY (metric, grain, period_start, entity),
            CHECK ((entity_kind IN ('T', 'S')) = (tenant_id IS NOT NULL)),
            CHECK (reason IS NULL OR value IS NULL),
            CHECK (numerator_reason IS NULL OR numerator IS NULL),
            CHECK (denominator_reason IS NULL OR denominator IS NULL)
        )
    """)
    op.execute("CREATE INDEX national_figure_series ON control.national_figure (metric, entity, grain, period_start)")
    op.execute("ALTER TABLE control.metric_refresh ADD COLUMN watermark bigint, "
               "ADD COLUMN digest jsonb NOT NULL DEFAULT '{}'")


def downgrade() -> None:
    op.execute("ALTER TABLE control.metric_refresh DROP COLUMN watermark, DROP COLUMN digest")
    op.execute("DROP TABLE control.national_figure")
