"""Practice rules: every change a new, append-only version; named templates a new tenant starts from.

``rule_change`` is the whole history. A change sets (or, with a NULL value, clears) one rule at the tenant level
(site_code NULL) or for one site, from ``effective_from`` on. Changes saved together share ``batch_id`` and are
written in one transaction, so a batch is all there or not at all. What is in force for a site on a day is computed
from this table at request time (the latest change with effective_from on or before that day, site before tenant
before the catalogue default), so a future-dated change takes effect on its date with no job and no restart.

Templates are copied into a tenant's rule_change rows at onboarding, never referenced: editing a template later
changes no tenant. Their values are written out in full here for that reason.

Revision ID: c0002
Revises: c0001
Create Date: 2026-11-23
"""

import json

from alembic import op

revision = "c0002"
down_revision = "c0001"
branch_labels = None
depends_on = None

# The catalogue defaults as of this revision (service/rules/catalogue.py), frozen into the 'defaults' template.
DEFAULTS = {
    "eligible_age_range": {"min": 18, "max": 25},
    "accepted_care_statuses": ["ELIGIBLE", "RELEVANT", "FORMER_RELEVANT", "QUALIFYING", "OTHER_CARE_EXPERIENCED"],
    "min_months_to_release_at_referral": 6,
    "first_planning_meeting_working_days": 20,
    "plan_review_interval_weeks": 13,
    "pre_release_meeting_weeks": 12,
    "handover_alert_weeks": 4,
    "post_release_weekly_review_weeks": 4,
    "pa_visit_interval_weeks": 8,
    "plan_signoff_services": ["PRISON", "PROBATION", "LEAVING_CARE"],
    "network_vetting_services": ["PROBATION", "LEAVING_CARE"],
    "committed_network_members_before_release": 3,
    "lifelong_links_referral_days": 28,
    "coordinator_caseload_cap": 10,
    "consent_reconfirmation_months": 12,
    "outcome_time_points": ["RELEASE_DAY", "MONTH_3", "MONTH_6", "MONTH_12"],
    "record_retention_years": 6,
    "due_soon_days": 14,
}
# The West Midlands pilot (DESIGN.md §1 and §5): statutory care leavers aged 18–25; Birmingham refers at least
# 6 months before release, Coventry 9; the prisons review plans every 6 (Brinsford) and 8 (Swinfen Hall) weeks.
WEST_MIDLANDS_PILOT = {
    "tenant": {**DEFAULTS,
               "accepted_care_statuses": ["ELIGIBLE", "RELEVANT", "FORMER_RELEVANT"]},
    "sites": {
        "BRM-LC": {"min_months_to_release_at_referral": 6},
        "COV-LC": {"min_months_to_release_at_referral": 9},
        "BSI": {"plan_review_interval_weeks": 6},
        "SHI": {"plan_review_interval_weeks": 8},
    },
}
TEMPLATES = {
    "defaults": ("The catalogue defaults, written out so later changes to the defaults do not move this tenant.",
                 {"tenant": DEFAULTS, "sites": {}}),
    "west-midlands-pilot": ("The values the West Midlands pilot ran with.", WEST_MIDLANDS_PILOT),
}


def upgrade() -> None:
    op.execute("""
        CREATE TABLE control.rule_change (
            id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
            batch_id uuid NOT NULL,
            tenant_id uuid NOT NULL REFERENCES control.tenant (id) ON DELETE CASCADE,
            site_code text CHECK (site_code ~ '^[A-Z0-9][A-Z0-9-]{0,19}$'),
            rule text NOT NULL CHECK (rule ~ '^[a-z][a-z0-9_]{0,62}$'),
            value jsonb,
            effective_from date NOT NULL,
            author_subject text NOT NULL CHECK (length(author_subject) BETWEEN 1 AND 255),
            reason text NOT NULL CHECK (length(reason) BETWEEN 1 AND 1000),
            created_at timestamptz NOT NULL DEFAULT now(),
            UNIQUE (batch_id, site_code, rule)
        )
    """)
    op.execute("CREATE INDEX rule_change_in_force ON control.rule_change "
               "(tenant_id, site_code, rule, effective_from DESC, created_at DESC)")
    op.execute("CREATE INDEX rule_change_history ON control.rule_change (tenant_id, created_at DESC, id DESC)")
    op.execute("""
        CREATE TABLE control.rule_template (
            name text PRIMARY KEY CHECK (name ~ '^[a-z][a-z0-9]*(-[a-z0-9]+)*$'),
            description text NOT NULL,
            rule_values jsonb NOT NULL CHECK (jsonb_typeof(rule_values -> 'tenant') = 'object'
                                           AND jsonb_typeof(rule_values -> 'sites') = 'object'),
            created_at timestamptz NOT NULL DEFAULT now(),
            updated_at timestamptz NOT NULL DEFAULT now()
        )
    """)
    for name, (description, values) in TEMPLATES.items():
        literal, text = (s.replace("'", "''") for s in (json.dumps(values), description))
        op.execute(f"INSERT INTO control.rule_template (name, description, rule_values) "
                   f"VALUES ('{name}', '{text}', '{literal}'::jsonb)")


def downgrade() -> None:
    op.execute("DROP TABLE control.rule_template, control.rule_change")
