"""National reporting: per-tenant metric rollups, the sites they break down by, and when each tenant was refreshed.

These are the only rows the national analysts' database role may read (with the ``reporting_tenant`` view, which
shows a tenant's slug, name and kind but not its schema or roles). Every row is an aggregate: counts, a median and,
for median metrics, the distribution as (value, count) pairs so that national medians can be computed exactly. No
row names or identifies a person. Grants are made by ``tenants.provisioning.ensure_reporting_roles``, which knows the
deployment's role names.

Revision ID: c0004
Revises: c0003
Create Date: 2026-11-23
"""

from alembic import op

revision = "c0004"
down_revision = "c0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("""
        CREATE TABLE control.metric_rollup (
            tenant_id uuid NOT NULL REFERENCES control.tenant (id) ON DELETE CASCADE,
            metric text NOT NULL CHECK (metric ~ '^[a-z0-9_]{1,60}$'),
            grain text NOT NULL CHECK (grain IN ('MONTH', 'QUARTER', 'YEAR')),
            period_start date NOT NULL,
            -- '' is the whole tenant; otherwise the code of the site the records are attributed to
            site_code text NOT NULL,
            numerator bigint CHECK (numerator >= 0),
            denominator bigint NOT NULL CHECK (denominator >= 0),
            median double precision,
            dist_values double precision[],
            dist_counts integer[],
            computed_at timestamptz NOT NULL,
            PRIMARY KEY (tenant_id, metric, grain, period_start, site_code),
            CHECK (numerator IS NULL OR numerator <= denominator),
            CHECK (cardinality(dist_values) IS NOT DISTINCT FROM cardinality(dist_counts))
        )
    """)
    op.execute("CREATE INDEX metric_rollup_national ON control.metric_rollup (metric, grain, period_start) "
               "WHERE site_code = ''")
    op.execute("""
        CREATE TABLE control.metric_site (
            tenant_id uuid NOT NULL REFERENCES control.tenant (id) ON DELETE CASCADE,
            site_code text NOT NULL,
            site_name text NOT NULL,
            site_kind text NOT NULL,
            PRIMARY KEY (tenant_id, site_code)
        )
    """)
    op.execute("""
        CREATE TABLE control.metric_refresh (
            tenant_id uuid PRIMARY KEY REFERENCES control.tenant (id) ON DELETE CASCADE,
            refreshed_at timestamptz NOT NULL,
            as_of date NOT NULL,
            rollup_rows integer NOT NULL,
            duration_ms integer NOT NULL
        )
    """)
    op.execute("""
        CREATE VIEW control.reporting_tenant AS
        SELECT id, slug, name, kind, status FROM control.tenant
    """)


def downgrade() -> None:
    op.execute("DROP VIEW control.reporting_tenant")
    op.execute("DROP TABLE control.metric_refresh, control.metric_site, control.metric_rollup")
