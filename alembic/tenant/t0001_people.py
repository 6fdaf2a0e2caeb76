"""People and organisations: sites, practitioners, young adults, enrolments.

Runs as the tenant's owner role with search_path set to the tenant schema, so names are unqualified.

Revision ID: t0001
Revises:
Create Date: 2026-11-23
"""

from alembic import op

revision = "t0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("""
        CREATE TABLE site (
            id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
            code text NOT NULL UNIQUE CHECK (code ~ '^[A-Z0-9][A-Z0-9-]{0,19}$'),
            name text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
            kind text NOT NULL CHECK (kind IN ('PRISON', 'PROBATION', 'LEAVING_CARE', 'LIFELONG_LINKS', 'VCSE')),
            closed_at timestamptz,
            version integer NOT NULL DEFAULT 1,
            created_at timestamptz NOT NULL DEFAULT now(),
            updated_at timestamptz NOT NULL DEFAULT now()
        )
    """)
    op.execute("""
        CREATE TABLE practitioner (
            id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
            subject text UNIQUE,
            given_name text NOT NULL,
            family_name text NOT NULL,
            service text NOT NULL CHECK (service IN ('PRISON', 'PROBATION', 'LEAVING_CARE', 'LIFELONG_LINKS')),
            role text NOT NULL CHECK (role IN ('POM', 'KEY_WORKER', 'COM', 'PERSONAL_ADVISER',
                                               'LIFELONG_LINKS_COORDINATOR', 'MANAGER')),
            version integer NOT NULL DEFAULT 1,
            created_at timestamptz NOT NULL DEFAULT now(),
            updated_at timestamptz NOT NULL DEFAULT now()
        )
    """)
    op.execute("""
        CREATE TABLE practitioner_site (
            practitioner_id uuid NOT NULL REFERENCES practitioner (id) ON DELETE CASCADE,
            site_id uuid NOT NULL REFERENCES site (id),
            PRIMARY KEY (practitioner_id, site_id)
        )
    """)
    op.execute("CREATE INDEX practitioner_site_site ON practitioner_site (site_id)")
    op.execute("""
        CREATE TABLE young_adult (
            id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
            given_name text NOT NULL CHECK (length(given_name) BETWEEN 1 AND 100),
            family_name text NOT NULL CHECK (length(family_name) BETWEEN 1 AND 100),
            date_of_birth date NOT NULL,
            prison_number text,
            probation_crn text,
            la_reference text,
            care_status text NOT NULL CHECK (care_status IN ('ELIGIBLE', 'RELEVANT', 'FORMER_RELEVANT', 'QUALIFYING',
                                                             'OTHER_CARE_EXPERIENCED')),
            responsible_local_authority text,
            entitlement_end_age smallint NOT NULL DEFAULT 25 CHECK (entitlement_end_age IN (21, 25)),
            access_restricted boolean NOT NULL DEFAULT false,
            version integer NOT NULL DEFAULT 1,
            created_at timestamptz NOT NULL DEFAULT now(),
            updated_at timestamptz NOT NULL DEFAULT now()
        )
    """)
    op.execute("CREATE UNIQUE INDEX young_adult_prison_number ON young_adult (prison_number)")
    op.execute("CREATE INDEX young_adult_name ON young_adult (family_name, given_name, id)")
    op.execute("""
        CREATE TABLE enrolment (
            id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
            young_adult_id uuid NOT NULL REFERENCES young_adult (id),
            site_id uuid NOT NULL REFERENCES site (id),
            status text NOT NULL DEFAULT 'IDENTIFIED'
                CHECK (status IN ('IDENTIFIED', 'REFERRED', 'CONSENTED', 'ACTIVE', 'EXITED')),
            identified_on date NOT NULL DEFAULT current_date,
            referred_on date,
            consented_on date,
            exited_on date,
            exit_reason text,
            version integer NOT NULL DEFAULT 1,
            created_at timestamptz NOT NULL DEFAULT now(),
            updated_at timestamptz NOT NULL DEFAULT now(),
            UNIQUE (young_adult_id, site_id)
        )
    """)
    op.execute("CREATE INDEX enrolment_site ON enrolment (site_id, young_adult_id)")


def downgrade() -> None:
    op.execute("DROP TABLE enrolment, young_adult, practitioner_site, practitioner, site")
