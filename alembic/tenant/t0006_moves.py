"""Moves: site transfers, release handovers, and the traces of a transfer between tenants.

- ``site_transfer``: a move between two sites of the tenant, effective on a date; the receiving enrolment starts
  and the sending one ends on that date (service/moves/).
- ``handover``: the release handover as recorded, with its checklist (the items confirmed) and the new lead.
- On ``young_adult``: ``transfer_id`` (the tenant transfer that brought this copy in; unique, so a retried import can
  never make a second copy), where it came from and when; and, on the sending side, where and when it moved.
- ``provenance``: for every row that arrived by a tenant transfer, where it came from and when it was recorded there.
- ``network_member.shared``: false for a member who did not consent to their details moving ("a member not shared").
- A record that moved away is read-only: a trigger on every table of a young adult's record refuses writes to a
  record whose ``moved_on`` is set, whatever the SQL (SQLSTATE AH017), by anyone but the schema's owner (which
  migrates and restores exports).

Revision ID: t0006
Revises: t0005
Create Date: 2026-11-30
"""

from alembic import op

revision = "t0006"
down_revision = "t0005"
branch_labels = None
depends_on = None

STAMPS = """
    version integer NOT NULL DEFAULT 1,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now()
"""
SERVICES = "'PRISON', 'PROBATION', 'LEAVING_CARE', 'LIFELONG_LINKS'"

# Tables of a young adult's record, and how a row finds its young adult: (table, key column, SQL from key to id).
DIRECT = ("enrolment", "team_member", "custody_episode", "assessment", "integrated_plan", "meeting",
          "lifelong_links_case", "network_member", "consent", "outcome_observation", "site_transfer", "handover")
THROUGH = (
    ("young_adult", "id", "SELECT $1"),
    ("enrolment_status_change", "enrolment_id", "SELECT young_adult_id FROM enrolment WHERE id = $1"),
    ("licence_condition", "custody_episode_id", "SELECT young_adult_id FROM custody_episode WHERE id = $1"),
    ("recall_event", "custody_episode_id", "SELECT young_adult_id FROM custody_episode WHERE id = $1"),
    ("assessment_need", "assessment_id", "SELECT young_adult_id FROM assessment WHERE id = $1"),
    ("plan_version", "plan_id", "SELECT young_adult_id FROM integrated_plan WHERE id = $1"),
    ("plan_goal", "plan_version_id", "SELECT p.young_adult_id FROM plan_version v "
                                     "JOIN integrated_plan p ON p.id = v.plan_id WHERE v.id = $1"),
    ("plan_signoff", "plan_version_id", "SELECT p.young_adult_id FROM plan_version v "
                                        "JOIN integrated_plan p ON p.id = v.plan_id WHERE v.id = $1"),
    ("plan_action", "plan_goal_id", "SELECT p.young_adult_id FROM plan_goal g JOIN plan_version v "
                                    "ON v.id = g.plan_version_id JOIN integrated_plan p ON p.id = v.plan_id "
                                    "WHERE g.id = $1"),
    ("meeting_attendee", "meeting_id", "SELECT young_adult_id FROM meeting WHERE id = $1"),
    ("lifelong_links_stage_change", "case_id", "SELECT young_adult_id FROM lifelong_links_case WHERE id = $1"),
    ("lifelong_links_objective", "case_id", "SELECT young_adult_id FROM lifelong_links_case WHERE id = $1"),
    ("network_member_status_change", "member_id", "SELECT young_adult_id FROM network_member WHERE id = $1"),
    ("vetting_signoff", "member_id", "SELECT young_adult_id FROM network_member WHERE id = $1"),
    ("network_commitment", "member_id", "SELECT young_adult_id FROM network_member WHERE id = $1"),
)


def upgrade() -> None:
    op.execute(f"""
        CREATE TABLE site_transfer (
            id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
            young_adult_id uuid NOT NULL REFERENCES young_adult (id),
            from_enrolment_id uuid NOT NULL REFERENCES enrolment (id),
            to_enrolment_id uuid NOT NULL UNIQUE REFERENCES enrolment (id),
            effective_on date NOT NULL,
            reason text NOT NULL CHECK (length(reason) BETWEEN 1 AND 500),
            recorded_by text NOT NULL,
            {STAMPS}
        )
    """)
    op.execute("CREATE INDEX site_transfer_young_adult ON site_transfer (young_adult_id, effective_on)")
    op.execute(f"""
        CREATE TABLE handover (
            id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
            young_adult_id uuid NOT NULL REFERENCES young_adult (id),
            custody_episode_id uuid REFERENCES custody_episode (id),
            handed_over_on date NOT NULL,
            from_service text NOT NULL CHECK (from_service IN ({SERVICES})),
            to_services text[] NOT NULL CHECK (cardinality(to_services) >= 1),
            from_lead_id uuid REFERENCES practitioner (id),
            to_lead_id uuid NOT NULL REFERENCES practitioner (id),
            checklist text[] NOT NULL DEFAULT '{{}}',
            recorded_by text NOT NULL,
            {STAMPS}
        )
    """)
    op.execute("CREATE INDEX handover_young_adult ON handover (young_adult_id, handed_over_on)")
    op.execute("""
        ALTER TABLE young_adult
            ADD COLUMN transfer_id uuid UNIQUE,
            ADD COLUMN arrived_from text,
            ADD COLUMN arrived_on date,
            ADD COLUMN moved_to text,
            ADD COLUMN moved_on date,
            ADD COLUMN moved_by_transfer_id uuid
    """)
    op.execute("ALTER TABLE network_member ADD COLUMN shared boolean NOT NULL DEFAULT true")
    op.execute("""
        CREATE TABLE provenance (
            item_type text NOT NULL,
            item_id uuid NOT NULL,
            young_adult_id uuid NOT NULL REFERENCES young_adult (id),
            transfer_id uuid NOT NULL,
            from_tenant text NOT NULL,
            recorded_at timestamptz,
            received_at timestamptz NOT NULL DEFAULT now(),
            PRIMARY KEY (item_type, item_id)
        )
    """)
    op.execute("CREATE INDEX provenance_young_adult ON provenance (young_adult_id)")
    # SET search_path FROM CURRENT pins the tenant schema the migration runs in.
    op.execute("""
        CREATE FUNCTION refuse_moved_record() RETURNS trigger LANGUAGE plpgsql SET search_path FROM CURRENT AS $$
        DECLARE
            r jsonb := to_jsonb(CASE WHEN TG_OP = 'DELETE' THEN OLD ELSE NEW END);
            ya uuid;
        BEGIN
            -- The schema's owner (migrations, a restore of an export) writes rows as they are; only the runtime
            -- role, and so every request and job, is held to the closed record.
            IF current_user = (SELECT pg_get_userbyid(relowner) FROM pg_class WHERE oid = TG_RELID) THEN
                RETURN CASE WHEN TG_OP = 'DELETE' THEN OLD ELSE NEW END;
            END IF;
            IF TG_OP = 'UPDATE' AND TG_TABLE_NAME <> 'young_adult' THEN
                r := to_jsonb(OLD);
            END IF;
            IF TG_NARGS = 0 THEN
                ya := (r ->> 'young_adult_id')::uuid;
            ELSE
                EXECUTE TG_ARGV[1] INTO ya USING (r ->> TG_ARGV[0])::uuid;
            END IF;
            IF EXISTS (SELECT 1 FROM young_adult WHERE id = ya AND moved_on IS NOT NULL) THEN
                RAISE EXCEPTION 'this record is closed: the young adult moved to another tenant'
                    USING ERRCODE = 'AH017';
            END IF;
            RETURN CASE WHEN TG_OP = 'DELETE' THEN OLD ELSE NEW END;
        END $$
    """)
    for table in DIRECT:
        op.execute(f"CREATE TRIGGER {table}_moved BEFORE INSERT OR UPDATE OR DELETE ON {table} "
                   "FOR EACH ROW EXECUTE FUNCTION refuse_moved_record()")
    for table, column, sql in THROUGH:
        quoted = sql.replace("'", "''")
        op.execute(f"CREATE TRIGGER {table}_moved BEFORE INSERT OR UPDATE OR DELETE ON {table} "
                   f"FOR EACH ROW EXECUTE FUNCTION refuse_moved_record('{column}', '{quoted}')")


def downgrade() -> None:
    for table in (*DIRECT, *(t for t, _c, _s in THROUGH)):
        op.execute(f"DROP TRIGGER {table}_moved ON {table}")
    op.execute("DROP FUNCTION refuse_moved_record()")
    op.execute("DROP TABLE provenance")
    op.execute("ALTER TABLE network_member DROP COLUMN shared")
    op.execute("ALTER TABLE young_adult DROP COLUMN transfer_id, DROP COLUMN arrived_from, DROP COLUMN arrived_on, "
               "DROP COLUMN moved_to, DROP COLUMN moved_on, DROP COLUMN moved_by_transfer_id")
    op.execute("DROP TABLE handover, site_transfer")
