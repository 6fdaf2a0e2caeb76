"""Transfers of a young adult between tenants (and the new handover_checklist rule in the "defaults" template).

Transfers of a young adult between tenants: the request, its decision and the hand-off of the package.

The only place the two tenants meet. Neither tenant's runtime role can read it (only the application login role,
outside any tenant transaction): the sending side's job writes the package here as the sending tenant, the receiving
side's job reads it and writes the copy as the receiving tenant, each in a transaction of its own. The package is
cleared when the transfer completes, so case data rests here only while a hand-off is under way.

Revision ID: c0007
Revises: c0006
Create Date: 2026-11-30
"""

from alembic import op

revision = "c0007"
down_revision = "c0006"
branch_labels = None
depends_on = None


# The handover_checklist rule's default (service/rules/catalogue.py), added to the frozen "defaults" template.
HANDOVER_CHECKLIST = ('["ACCOMMODATION_CONFIRMED", "FIRST_APPOINTMENT_BOOKED", "LICENCE_CONDITIONS_SHARED", '
                      '"NETWORK_TOLD"]')


def upgrade() -> None:
    op.execute("UPDATE control.rule_template SET rule_values = jsonb_set(rule_values, '{tenant,handover_checklist}', "
               f"'{HANDOVER_CHECKLIST}'::jsonb) WHERE name = 'defaults'")
    op.execute("""
        CREATE TABLE control.tenant_transfer (
            id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
            from_tenant_id uuid NOT NULL REFERENCES control.tenant (id) ON DELETE CASCADE,
            to_tenant_id uuid NOT NULL REFERENCES control.tenant (id) ON DELETE CASCADE,
            -- the young adult's id in the sending tenant; the receiving tenant's copy is received_young_adult_id
            young_adult_id uuid NOT NULL,
            state text NOT NULL DEFAULT 'REQUESTED'
                CHECK (state IN ('REQUESTED', 'ACCEPTED', 'DECLINED', 'WITHDRAWN', 'COMPLETED')),
            consented_on date NOT NULL,
            note text CHECK (length(note) <= 1000),
            requested_by text NOT NULL,
            requested_at timestamptz NOT NULL DEFAULT now(),
            decided_by text,
            decided_at timestamptz,
            decline_reason text CHECK (length(decline_reason) <= 1000),
            to_site_code text,
            package jsonb,
            exported_at timestamptz,
            imported_at timestamptz,
            received_young_adult_id uuid,
            completed_at timestamptz,
            version integer NOT NULL DEFAULT 1,
            CHECK (from_tenant_id <> to_tenant_id),
            CHECK (state <> 'DECLINED' OR decline_reason IS NOT NULL),
            CHECK (state NOT IN ('ACCEPTED', 'COMPLETED') OR to_site_code IS NOT NULL)
        )
    """)
    # One open request per young adult at a time.
    op.execute("CREATE UNIQUE INDEX tenant_transfer_open ON control.tenant_transfer (from_tenant_id, young_adult_id) "
               "WHERE state IN ('REQUESTED', 'ACCEPTED')")
    op.execute("CREATE INDEX tenant_transfer_to ON control.tenant_transfer (to_tenant_id, state)")
    op.execute("CREATE INDEX tenant_transfer_pending ON control.tenant_transfer (state) WHERE state = 'ACCEPTED'")


def downgrade() -> None:
    op.execute("UPDATE control.rule_template SET rule_values = rule_values #- '{tenant,handover_checklist}' "
               "WHERE name = 'defaults'")
    op.execute("DROP TABLE control.tenant_transfer")
