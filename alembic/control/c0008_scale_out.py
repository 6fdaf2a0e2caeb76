"""A thousand tenants and several replicas: published national figures, what each tenant's rollup was computed
from, the scheduled refresh's shared clock, and rate-limit buckets shared by every replica.

``national_figure`` holds every figure of the platform-floor disclosure pattern (service/reporting/disclosure.py)
as it is shown: a suppressed value is stored as NULL with its reason, never as a number, so the national role reads
only what may be published. A national query at the default policy is one indexed read of this table.

``metric_refresh.watermark`` is the tenant's change counter (tenant revision t0007) that its stored rollups reflect;
``metric_refresh.digest`` a hash of each metric's rollup rows, so publishing recomputes only metrics that moved.

``reporting_schedule`` is one row: when the scheduled refresh last started, whichever replica ran it, so a replica
that takes over as leader waits out the interval instead of running again at once.

``rate_bucket`` holds the token buckets of the per-user and per-tenant rate limits (service/app/ratelimit.py).
It is UNLOGGED: buckets are not worth a WAL record per request, and after a crash they start full, which is what a
bucket untouched for a minute is anyway. ``take_tokens`` updates both of a request's buckets in one statement.

Revision ID: c0008
Revises: c0007
Create Date: 2026-11-30
"""

from alembic import op

revision = "c0008"
down_revision = "c0007"
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
    op.execute("""
        CREATE TABLE control.reporting_schedule (
            id boolean PRIMARY KEY DEFAULT true CHECK (id),
            last_started_at timestamptz NOT NULL,
            runs bigint NOT NULL DEFAULT 1,
            leader text NOT NULL
        )
    """)
    op.execute("""
        CREATE UNLOGGED TABLE control.rate_bucket (
            key text PRIMARY KEY,
            tokens double precision NOT NULL,
            updated_at timestamptz NOT NULL
        )
    """)
    # One bucket: refill for the time elapsed (capped at capacity), then take a token if a whole one is there.
    # Returns 0 when granted, else the seconds until a token is available (nothing taken). The row lock taken by
    # the upsert makes concurrent requests on any replica take turns on the same bucket.
    op.execute("""
        CREATE FUNCTION control.take_token(bucket text, capacity double precision, per_second double precision,
                                           at timestamptz) RETURNS double precision
        LANGUAGE plpgsql AS $$
        DECLARE
            available double precision;
        BEGIN
            INSERT INTO control.rate_bucket AS b (key, tokens, updated_at) VALUES (bucket, capacity, at)
            ON CONFLICT (key) DO UPDATE SET
                tokens = least(capacity, b.tokens + greatest(0, extract(epoch FROM at - b.updated_at)) * per_second),
                updated_at = greatest(b.updated_at, at)
            RETURNING tokens INTO available;
            IF available >= 1 THEN
                UPDATE control.rate_bucket SET tokens = tokens - 1 WHERE key = bucket;
                RETURN 0;
            END IF;
            RETURN (1 - available) / per_second;
        END $$
    """)
    # A request's two buckets (either may be NULL: that limit is off). The user's first; a request the tenant's
    # bucket refuses gives the user's token back, so refused requests do not use up a user's allowance.
    op.execute("""
        CREATE FUNCTION control.take_tokens(user_bucket text, user_capacity double precision,
                                            tenant_bucket text, tenant_capacity double precision,
                                            at timestamptz DEFAULT NULL, OUT refused text, OUT wait double precision)
        LANGUAGE plpgsql AS $$
        DECLARE
            now_ timestamptz := coalesce(at, clock_timestamp());
        BEGIN
            refused := NULL;
            wait := 0;
            IF user_bucket IS NOT NULL THEN
                wait := control.take_token(user_bucket, user_capacity, user_capacity / 60, now_);
                IF wait > 0 THEN
                    refused := 'user';
                    RETURN;
                END IF;
            END IF;
            IF tenant_bucket IS NOT NULL THEN
                wait := control.take_token(tenant_bucket, tenant_capacity, tenant_capacity / 60, now_);
                IF wait > 0 THEN
                    refused := 'tenant';
                    UPDATE control.rate_bucket SET tokens = least(user_capacity, tokens + 1) WHERE key = user_bucket;
                END IF;
            END IF;
            -- Buckets untouched for two minutes are full again: the same as no row. Keep the table small.
            IF random() < 0.001 THEN
                DELETE FROM control.rate_bucket WHERE updated_at < now_ - interval '2 minutes';
            END IF;
        END $$
    """)


def downgrade() -> None:
    op.execute("DROP FUNCTION control.take_tokens(text, double precision, text, double precision, timestamptz)")
    op.execute("DROP FUNCTION control.take_token(text, double precision, double precision, timestamptz)")
    op.execute("DROP TABLE control.rate_bucket, control.reporting_schedule")
    op.execute("ALTER TABLE control.metric_refresh DROP COLUMN watermark, DROP COLUMN digest")
    op.execute("DROP TABLE control.national_figure")
