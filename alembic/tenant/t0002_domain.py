"""The case model: custody and key dates, assessments, the integrated plan, meetings, the team, the Lifelong Links
case and support network, consent, outcomes, and the append-only audit trail.

Conventions: uuid keys, ``version`` on every mutable row, created/updated stamps. Plan goals and actions are
copied into each new plan version; ``lineage_id`` is shared by the copies of one goal or action, so network
commitments and history can follow "the same goal" across versions. No foreign key leaves the schema.

Revision ID: t0002
Revises: t0001
Create Date: 2026-11-23
"""

from alembic import op

revision = "t0002"
down_revision = "t0001"
branch_labels = None
depends_on = None

STAMPS = """
    version integer NOT NULL DEFAULT 1,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now()
"""
PATHWAYS = ("'ACCOMMODATION', 'EDUCATION_TRAINING_EMPLOYMENT', 'HEALTH', 'DRUGS_ALCOHOL', 'FINANCE_BENEFIT_DEBT', "
            "'CHILDREN_FAMILIES_COMMUNITIES', 'ATTITUDES_THINKING_BEHAVIOUR'")
SERVICES = "'PRISON', 'PROBATION', 'LEAVING_CARE', 'LIFELONG_LINKS'"


def upgrade() -> None:
    # --- people: the team around a young adult, enrolment history -------------------------------------------
    op.execute(f"""
        CREATE TABLE team_member (
            id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
            young_adult_id uuid NOT NULL REFERENCES young_adult (id),
            practitioner_id uuid NOT NULL REFERENCES practitioner (id),
            team_role text NOT NULL CHECK (team_role IN ('OFFENDER_MANAGER', 'KEY_WORKER', 'COMMUNITY_OFFENDER_MANAGER',
                                                         'PERSONAL_ADVISER', 'LIFELONG_LINKS_COORDINATOR')),
            started_on date NOT NULL DEFAULT current_date,
            ended_on date,
            CHECK (ended_on IS NULL OR ended_on >= started_on),
            {STAMPS}
        )
    """)
    op.execute("CREATE UNIQUE INDEX team_member_current ON team_member (young_adult_id, team_role) "
               "WHERE ended_on IS NULL")
    op.execute("CREATE INDEX team_member_practitioner ON team_member (practitioner_id) WHERE ended_on IS NULL")
    op.execute("""
        CREATE TABLE enrolment_status_change (
            id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
            enrolment_id uuid NOT NULL REFERENCES enrolment (id),
            status text NOT NULL CHECK (status IN ('IDENTIFIED', 'REFERRED', 'CONSENTED', 'ACTIVE', 'EXITED')),
            changed_on date NOT NULL,
            changed_by text NOT NULL,
            reason text,
            created_at timestamptz NOT NULL DEFAULT now()
        )
    """)
    op.execute("CREATE INDEX enrolment_status_change_enrolment ON enrolment_status_change (enrolment_id, changed_on)")

    # --- custody and key dates ------------------------------------------------------------------------------
    op.execute(f"""
        CREATE TABLE custody_episode (
            id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
            young_adult_id uuid NOT NULL REFERENCES young_adult (id),
            prison_site_id uuid REFERENCES site (id),
            reception_date date NOT NULL,
            sentence_type text NOT NULL CHECK (sentence_type IN ('DETERMINATE', 'INDETERMINATE', 'REMAND')),
            sentence_start date,
            crd date, ard date, ped date, hdced date, sed date, led date, tused date,
            handover_date date,
            -- DESIGN §4: PED if any, else the earlier of ARD and CRD (least() ignores nulls).
            earliest_release_date date GENERATED ALWAYS AS (coalesce(ped, least(ard, crd))) STORED,
            actual_release_date date,
            release_type text CHECK (release_type IN ('CONDITIONAL', 'AUTOMATIC', 'PAROLE', 'HOME_DETENTION_CURFEW',
                                                      'END_OF_SENTENCE', 'COURT', 'OTHER')),
            CHECK ((actual_release_date IS NULL) = (release_type IS NULL)),
            {STAMPS}
        )
    """)
    op.execute("CREATE INDEX custody_episode_young_adult ON custody_episode (young_adult_id, reception_date)")
    op.execute(f"""
        CREATE TABLE licence_condition (
            id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
            custody_episode_id uuid NOT NULL REFERENCES custody_episode (id),
            description text NOT NULL,
            starts_on date,
            ends_on date,
            {STAMPS}
        )
    """)
    op.execute(f"""
        CREATE TABLE recall_event (
            id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
            custody_episode_id uuid NOT NULL REFERENCES custody_episode (id),
            recalled_on date NOT NULL,
            returned_to_custody_on date,
            reason text,
            {STAMPS}
        )
    """)

    # --- strand 1: assessments, the integrated plan, sign-off, meetings -------------------------------------
    op.execute(f"""
        CREATE TABLE assessment (
            id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
            young_adult_id uuid NOT NULL REFERENCES young_adult (id),
            source text NOT NULL CHECK (source IN ('OASYS', 'LA_NEEDS_ASSESSMENT', 'PATHWAY_PLAN_REVIEW',
                                                   'IMMEDIATE_NEEDS_SCREEN')),
            assessed_on date NOT NULL,
            assessor_id uuid REFERENCES practitioner (id),
            summary text,
            {STAMPS}
        )
    """)
    op.execute("CREATE INDEX assessment_young_adult ON assessment (young_adult_id, assessed_on)")
    op.execute(f"""
        CREATE TABLE assessment_need (
            assessment_id uuid NOT NULL REFERENCES assessment (id),
            pathway text NOT NULL CHECK (pathway IN ({PATHWAYS})),
            level text NOT NULL CHECK (level IN ('NONE', 'LOW', 'MEDIUM', 'HIGH')),
            note text,
            PRIMARY KEY (assessment_id, pathway)
        )
    """)
    op.execute(f"""
        CREATE TABLE integrated_plan (
            id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
            young_adult_id uuid NOT NULL UNIQUE REFERENCES young_adult (id),
            {STAMPS}
        )
    """)
    op.execute(f"""
        CREATE TABLE plan_version (
            id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
            plan_id uuid NOT NULL REFERENCES integrated_plan (id),
            number integer NOT NULL CHECK (number >= 1),
            status text NOT NULL DEFAULT 'DRAFT' CHECK (status IN ('DRAFT', 'AGREED', 'SUPERSEDED')),
            created_by text NOT NULL,
            agreed_at timestamptz,
            {STAMPS},
            UNIQUE (plan_id, number)
        )
    """)
    op.execute("CREATE UNIQUE INDEX plan_version_one_open ON plan_version (plan_id) WHERE status = 'DRAFT'")
    op.execute(f"""
        CREATE TABLE plan_goal (
            id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
            plan_version_id uuid NOT NULL REFERENCES plan_version (id),
            lineage_id uuid NOT NULL DEFAULT gen_random_uuid(),
            pathway text NOT NULL CHECK (pathway IN ({PATHWAYS})),
            description text NOT NULL CHECK (length(description) BETWEEN 1 AND 2000),
            position integer NOT NULL DEFAULT 0,
            {STAMPS},
            UNIQUE (plan_version_id, lineage_id)
        )
    """)
    op.execute(f"""
        CREATE TABLE plan_action (
            id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
            plan_goal_id uuid NOT NULL REFERENCES plan_goal (id),
            lineage_id uuid NOT NULL DEFAULT gen_random_uuid(),
            description text NOT NULL CHECK (length(description) BETWEEN 1 AND 2000),
            owner_service text NOT NULL CHECK (owner_service IN ({SERVICES})),
            owner_id uuid REFERENCES practitioner (id),
            due_on date,
            status text NOT NULL DEFAULT 'NOT_STARTED'
                CHECK (status IN ('NOT_STARTED', 'IN_PROGRESS', 'DONE', 'BLOCKED', 'DECLINED')),
            position integer NOT NULL DEFAULT 0,
            {STAMPS}
        )
    """)
    op.execute("CREATE INDEX plan_action_goal ON plan_action (plan_goal_id)")
    op.execute(f"""
        CREATE TABLE plan_signoff (
            plan_version_id uuid NOT NULL REFERENCES plan_version (id),
            service text NOT NULL CHECK (service IN ({SERVICES})),
            practitioner_id uuid REFERENCES practitioner (id),
            signed_by text NOT NULL,
            signed_at timestamptz NOT NULL DEFAULT now(),
            PRIMARY KEY (plan_version_id, service)
        )
    """)
    op.execute(f"""
        CREATE TABLE meeting (
            id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
            young_adult_id uuid NOT NULL REFERENCES young_adult (id),
            kind text NOT NULL CHECK (kind IN ('INTEGRATED_PLANNING', 'THREE_WAY', 'PRE_RELEASE', 'REVIEW',
                                               'LIFELONG_LINKS')),
            held_on date NOT NULL,
            outcome text,
            agreed_plan_version_id uuid REFERENCES plan_version (id),
            {STAMPS}
        )
    """)
    op.execute("CREATE INDEX meeting_young_adult ON meeting (young_adult_id, held_on)")

    # --- strand 2: the Lifelong Links case and the support network ------------------------------------------
    op.execute(f"""
        CREATE TABLE lifelong_links_case (
            id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
            young_adult_id uuid NOT NULL REFERENCES young_adult (id),
            coordinator_id uuid REFERENCES practitioner (id),
            stage text NOT NULL DEFAULT 'REFERRED' CHECK (stage IN ('REFERRED', 'EXPLORING', 'SEARCHING',
                'CONTACTING', 'MEETING_HELD', 'PLAN_AGREED', 'REVIEWED', 'CLOSED')),
            referred_on date NOT NULL,
            connection_score_start numeric(4, 1),
            connection_score_follow_up numeric(4, 1),
            {STAMPS}
        )
    """)
    op.execute("CREATE UNIQUE INDEX lifelong_links_case_open ON lifelong_links_case (young_adult_id) "
               "WHERE stage <> 'CLOSED'")
    op.execute("""
        CREATE TABLE lifelong_links_stage_change (
            case_id uuid NOT NULL REFERENCES lifelong_links_case (id),
            stage text NOT NULL,
            entered_on date NOT NULL,
            changed_by text NOT NULL,
            created_at timestamptz NOT NULL DEFAULT now(),
            PRIMARY KEY (case_id, stage)
        )
    """)
    op.execute(f"""
        CREATE TABLE lifelong_links_objective (
            id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
            case_id uuid NOT NULL REFERENCES lifelong_links_case (id),
            description text NOT NULL CHECK (length(description) BETWEEN 1 AND 2000),
            met boolean,
            assessed_on date,
            {STAMPS}
        )
    """)
    op.execute(f"""
        CREATE TABLE network_member (
            id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
            young_adult_id uuid NOT NULL REFERENCES young_adult (id),
            case_id uuid REFERENCES lifelong_links_case (id),
            given_name text NOT NULL CHECK (length(given_name) BETWEEN 1 AND 100),
            family_name text CHECK (length(family_name) <= 100),
            relationship text NOT NULL CHECK (relationship IN ('RELATIVE', 'FORMER_FOSTER_CARER',
                'FORMER_RESIDENTIAL_CARER', 'TEACHER', 'PROFESSIONAL', 'FRIEND', 'MENTOR', 'OTHER')),
            relationship_detail text,
            known_before boolean NOT NULL,
            status text NOT NULL DEFAULT 'IDENTIFIED' CHECK (status IN ('IDENTIFIED', 'FOUND', 'CONTACTED', 'AGREED',
                                                                        'DECLINED', 'COMMITTED', 'ACTIVE', 'LAPSED')),
            vetting_outcome text NOT NULL DEFAULT 'NOT_STARTED'
                CHECK (vetting_outcome IN ('NOT_STARTED', 'PENDING', 'CLEARED', 'NOT_CLEARED')),
            privacy_notice_on date,
            -- need-to-know: only the coordinator and the young adult's personal adviser may read these
            phone text,
            email text,
            address text,
            {STAMPS}
        )
    """)
    op.execute("CREATE INDEX network_member_young_adult ON network_member (young_adult_id)")
    op.execute("""
        CREATE TABLE network_member_status_change (
            id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
            member_id uuid NOT NULL REFERENCES network_member (id),
            status text NOT NULL,
            changed_on date NOT NULL,
            changed_by text NOT NULL,
            created_at timestamptz NOT NULL DEFAULT now()
        )
    """)
    op.execute("CREATE INDEX network_member_status_change_member ON network_member_status_change (member_id)")
    op.execute(f"""
        CREATE TABLE vetting_signoff (
            member_id uuid NOT NULL REFERENCES network_member (id),
            service text NOT NULL CHECK (service IN ({SERVICES})),
            practitioner_id uuid REFERENCES practitioner (id),
            signed_by text NOT NULL,
            outcome text NOT NULL CHECK (outcome IN ('CLEARED', 'NOT_CLEARED')),
            signed_on date NOT NULL,
            PRIMARY KEY (member_id, service)
        )
    """)
    op.execute("""
        CREATE TABLE meeting_attendee (
            id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
            meeting_id uuid NOT NULL REFERENCES meeting (id),
            practitioner_id uuid REFERENCES practitioner (id),
            network_member_id uuid REFERENCES network_member (id),
            CHECK ((practitioner_id IS NULL) <> (network_member_id IS NULL))
        )
    """)
    op.execute("CREATE UNIQUE INDEX meeting_attendee_once ON meeting_attendee "
               "(meeting_id, coalesce(practitioner_id, network_member_id))")
    op.execute(f"""
        CREATE TABLE network_commitment (
            id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
            member_id uuid NOT NULL REFERENCES network_member (id),
            goal_lineage_id uuid,
            action_lineage_id uuid,
            description text NOT NULL CHECK (length(description) BETWEEN 1 AND 2000),
            starts_on date,
            ends_on date,
            status text NOT NULL DEFAULT 'ACTIVE' CHECK (status IN ('ACTIVE', 'ENDED')),
            {STAMPS}
        )
    """)
    op.execute("CREATE INDEX network_commitment_member ON network_commitment (member_id)")

    # --- outcomes and records -------------------------------------------------------------------------------
    op.execute(f"""
        CREATE TABLE consent (
            id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
            young_adult_id uuid NOT NULL REFERENCES young_adult (id),
            network_member_id uuid REFERENCES network_member (id),
            purpose text NOT NULL CHECK (purpose IN ('PARTICIPATION', 'CONTACT', 'SHARING', 'AGGREGATE_REPORTING')),
            organisation text,
            granted_on date NOT NULL,
            withdrawn_on date,
            recorded_by text NOT NULL,
            CHECK (purpose <> 'SHARING' OR organisation IS NOT NULL),
            CHECK (withdrawn_on IS NULL OR withdrawn_on >= granted_on),
            {STAMPS}
        )
    """)
    op.execute("CREATE INDEX consent_subject ON consent (young_adult_id, network_member_id, purpose)")
    op.execute(f"""
        CREATE TABLE outcome_observation (
            id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
            young_adult_id uuid NOT NULL REFERENCES young_adult (id),
            custody_episode_id uuid REFERENCES custody_episode (id),
            time_point text NOT NULL CHECK (time_point IN ('RELEASE_DAY', 'MONTH_3', 'MONTH_6', 'MONTH_12')),
            observed_on date NOT NULL,
            accommodation text CHECK (accommodation IN ('SETTLED', 'TEMPORARY', 'ROUGH_SLEEPING', 'CUSTODY',
                                                        'UNKNOWN')),
            in_education_training_employment boolean,
            recalled boolean,
            network_contacts_last_30_days integer CHECK (network_contacts_last_30_days >= 0),
            {STAMPS},
            UNIQUE (custody_episode_id, time_point)
        )
    """)

    # --- the audit trail: append-only for the runtime role --------------------------------------------------
    op.execute("""
        CREATE TABLE audit_event (
            id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
            occurred_at timestamptz NOT NULL DEFAULT clock_timestamp(),
            actor_subject text NOT NULL,
            actor_role text NOT NULL,
            action text NOT NULL CHECK (action IN ('CONSULT', 'CREATE', 'ALTER', 'DISCLOSE', 'EXPORT', 'ERASE')),
            subject_type text NOT NULL,
            subject_id uuid NOT NULL,
            young_adult_id uuid,
            fields text[] NOT NULL DEFAULT '{}',
            request_id text NOT NULL
        )
    """)
    op.execute("CREATE INDEX audit_event_young_adult ON audit_event (young_adult_id, occurred_at)")
    op.execute("CREATE INDEX audit_event_actor ON audit_event (actor_subject, occurred_at)")
    op.execute("""
        DO $$ BEGIN
            EXECUTE format('REVOKE UPDATE, DELETE, TRUNCATE ON audit_event FROM %I',
                           current_setting('always_hope.runtime_role'));
        END $$
    """)


def downgrade() -> None:
    op.execute("""
        DROP TABLE audit_event, outcome_observation, consent, network_commitment, meeting_attendee, vetting_signoff,
            network_member_status_change, network_member, lifelong_links_objective, lifelong_links_stage_change,
            lifelong_links_case, meeting, plan_signoff, plan_action, plan_goal, plan_version, integrated_plan,
            assessment_need, assessment, recall_event, licence_condition, custody_episode, enrolment_status_change,
            team_member
    """)
