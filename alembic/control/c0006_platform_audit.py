"""The platform-level audit trail: what national analysts and platform administrators read.

Their requests never reach a tenant schema, so they leave nothing in a tenant's ``audit_event``; each of their
read operations is recorded here instead (service/audit/platform.py): who, in which role, which operation and root
fields, and which tenants it named. Append-only: the app role may insert and select, never update or delete (granted
in ``tenants.provisioning.ensure_app_role``). No row holds personal data about a young adult.

Revision ID: c0006
Revises: c0004
Create Date: 2026-11-30
"""

from alembic import op

revision = "c0006"
down_revision = "c0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("""
        CREATE TABLE control.platform_audit_event (
            id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
            occurred_at timestamptz NOT NULL DEFAULT clock_timestamp(),
            actor_subject text NOT NULL,
            actor_role text NOT NULL CHECK (actor_role IN ('NATIONAL_ANALYST', 'PLATFORM_ADMIN')),
            action text NOT NULL CHECK (action IN ('CONSULT', 'EXPORT')),
            operation text,
            fields text[] NOT NULL,
            tenants text[] NOT NULL DEFAULT '{}',
            request_id text NOT NULL
        )
    """)
    op.execute("CREATE INDEX platform_audit_event_occurred ON control.platform_audit_event (occurred_at, id)")
    op.execute("CREATE INDEX platform_audit_event_actor ON control.platform_audit_event (actor_subject, occurred_at)")
    op.execute("CREATE INDEX platform_audit_event_tenants ON control.platform_audit_event USING gin (tenants)")


def downgrade() -> None:
    op.execute("DROP TABLE control.platform_audit_event")
