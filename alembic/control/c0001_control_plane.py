"""Control plane: tenants, users and their grants, migration state.

Revision ID: c0001
Revises:
Create Date: 2026-11-23
"""

from alembic import op

revision = "c0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("""
        CREATE TABLE control.tenant (
            id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
            slug text NOT NULL UNIQUE CHECK (slug ~ '^[a-z][a-z0-9]*(-[a-z0-9]+)*$' AND length(slug) BETWEEN 3 AND 40),
            name text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
            kind text NOT NULL CHECK (kind IN ('REGION', 'COHORT')),
            status text NOT NULL DEFAULT 'ACTIVE'
                CHECK (status IN ('PROVISIONING', 'ACTIVE', 'SUSPENDED', 'ARCHIVED')),
            schema_name text NOT NULL UNIQUE,
            runtime_role text NOT NULL UNIQUE,
            owner_role text NOT NULL UNIQUE,
            schema_revision text,
            version integer NOT NULL DEFAULT 1,
            created_at timestamptz NOT NULL DEFAULT now(),
            updated_at timestamptz NOT NULL DEFAULT now()
        )
    """)
    # A user of the platform, identified by the token's subject, with the one grant that says what they may do.
    # Platform administrators and national analysts belong to no tenant.
    op.execute("""
        CREATE TABLE control.app_user (
            id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
            tenant_id uuid REFERENCES control.tenant (id) ON DELETE CASCADE,
            subject text NOT NULL CHECK (length(subject) BETWEEN 1 AND 255),
            display_name text NOT NULL DEFAULT '',
            role text NOT NULL CHECK (role IN ('PRACTITIONER', 'SITE_MANAGER', 'TENANT_ADMIN',
                                               'NATIONAL_ANALYST', 'PLATFORM_ADMIN')),
            service text CHECK (service IN ('PRISON', 'PROBATION', 'LEAVING_CARE', 'LIFELONG_LINKS')),
            site_codes text[] NOT NULL DEFAULT '{}',
            active boolean NOT NULL DEFAULT true,
            version integer NOT NULL DEFAULT 1,
            created_at timestamptz NOT NULL DEFAULT now(),
            updated_at timestamptz NOT NULL DEFAULT now(),
            CONSTRAINT app_user_subject_unique UNIQUE NULLS NOT DISTINCT (tenant_id, subject),
            CONSTRAINT app_user_tenant_matches_role CHECK (
                (role IN ('NATIONAL_ANALYST', 'PLATFORM_ADMIN')) = (tenant_id IS NULL)),
            CONSTRAINT app_user_service_for_practitioners CHECK (role <> 'PRACTITIONER' OR service IS NOT NULL)
        )
    """)
    op.execute("""
        CREATE TABLE control.tenant_migration (
            tenant_id uuid NOT NULL REFERENCES control.tenant (id) ON DELETE CASCADE,
            started_at timestamptz NOT NULL DEFAULT now(),
            finished_at timestamptz,
            from_revision text,
            to_revision text,
            outcome text NOT NULL CHECK (outcome IN ('RUNNING', 'SUCCEEDED', 'FAILED')),
            error text,
            PRIMARY KEY (tenant_id, started_at)
        )
    """)


def downgrade() -> None:
    op.execute("DROP TABLE control.tenant_migration, control.app_user, control.tenant")
