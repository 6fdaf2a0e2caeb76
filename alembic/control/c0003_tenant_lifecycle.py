"""Tenant lifecycle: the rule template a tenant was onboarded from, its lifecycle history, and deletion records.

Revision ID: c0003
Revises: c0002
Create Date: 2026-11-23
"""

from alembic import op

revision = "c0003"
down_revision = "c0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Expand only: a nullable column and new tables, so a service at c0001 keeps working during the upgrade.
    op.execute("ALTER TABLE control.tenant ADD COLUMN rule_template text")
    # Every lifecycle step of a tenant, kept after the tenant is deleted (no foreign key), with who asked for it.
    # Nothing here is case data: slugs, statuses, subjects of platform staff, times.
    op.execute("""
        CREATE TABLE control.tenant_event (
            id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
            tenant_id uuid NOT NULL,
            slug text NOT NULL,
            action text NOT NULL CHECK (action IN ('PROVISIONED', 'ACTIVATED', 'SUSPENDED', 'REACTIVATED',
                                                   'ARCHIVED', 'EXPORTED', 'RESTORED', 'DELETED')),
            from_status text,
            to_status text,
            actor text NOT NULL,
            occurred_at timestamptz NOT NULL DEFAULT now()
        )
    """)
    op.execute("CREATE INDEX tenant_event_tenant ON control.tenant_event (tenant_id, occurred_at)")
    op.execute("""
        CREATE TABLE control.tenant_deletion (
            tenant_id uuid PRIMARY KEY,
            slug text NOT NULL,
            name text NOT NULL,
            kind text NOT NULL,
            schema_revision text,
            deleted_by text NOT NULL,
            deleted_at timestamptz NOT NULL DEFAULT now()
        )
    """)
    op.execute("CREATE INDEX tenant_deletion_slug ON control.tenant_deletion (slug)")


def downgrade() -> None:
    op.execute("DROP TABLE control.tenant_deletion, control.tenant_event")
    op.execute("ALTER TABLE control.tenant DROP COLUMN rule_template")
