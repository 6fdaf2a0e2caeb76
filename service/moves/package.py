"""The transfer package: what of a young adult's record moves to another tenant, read as the sending tenant and
written as the receiving one. Both run inside a transaction the caller (the hand-off job) opened as that tenant's
runtime role; nothing here can see the other tenant.

What moves (each part a list of rows as JSON, in foreign-key order): the record, custody episodes with their key
dates, licence conditions and recalls, assessments and needs, the integrated plan with every version (the agreed one
and its history), goals, actions and sign-offs, the Lifelong Links case at its stage with its stage history and
objectives, the network — a member's details only when the member consented to sharing them with the receiving
tenant (a SHARING consent naming it), otherwise "a member not shared" with no details —, and consents. Columns that
point at the sending tenant's own people or sites (offender manager, assessor, action owner, signer, coordinator,
prison site) are left out: they mean nothing on the other side. What stays behind is listed in the README.
"""

from __future__ import annotations

import json
import re
import uuid
from datetime import date, datetime
from typing import Any

from service.kernel.tenancy import Connection

NOT_SHARED = "A member not shared"

# Members whose details may move: a SHARING consent naming the receiving tenant ($2), not withdrawn.
_SHARED = ("EXISTS (SELECT 1 FROM consent c WHERE c.network_member_id = m.id AND c.purpose = 'SHARING' "
           "AND lower(c.organisation) = lower($2) AND c.withdrawn_on IS NULL)")
_EPISODES = "SELECT id FROM custody_episode WHERE young_adult_id = $1"
_PLAN_VERSIONS = ("SELECT v.id FROM plan_version v JOIN integrated_plan p ON p.id = v.plan_id "
                  "WHERE p.young_adult_id = $1")
_CASES = "SELECT id FROM lifelong_links_case WHERE young_adult_id = $1"
_SHARED_MEMBERS = f"SELECT m.id FROM network_member m WHERE m.young_adult_id = $1 AND {_SHARED}"

# (table, SQL giving one JSON object per row; $1 the young adult, $2 the receiving tenant's name), in insert order.
PARTS: tuple[tuple[str, str], ...] = (
    ("custody_episode", "SELECT to_jsonb(t) - 'prison_site_id' FROM custody_episode t WHERE young_adult_id = $1"),
    ("licence_condition", f"SELECT to_jsonb(t) FROM licence_condition t WHERE custody_episode_id IN ({_EPISODES})"),
    ("recall_event", f"SELECT to_jsonb(t) FROM recall_event t WHERE custody_episode_id IN ({_EPISODES})"),
    ("assessment", "SELECT to_jsonb(t) - 'assessor_id' FROM assessment t WHERE young_adult_id = $1"),
    ("assessment_need", "SELECT to_jsonb(t) FROM assessment_need t WHERE assessment_id IN "
                        "(SELECT id FROM assessment WHERE young_adult_id = $1)"),
    ("integrated_plan", "SELECT to_jsonb(t) FROM integrated_plan t WHERE young_adult_id = $1"),
    ("plan_version", f"SELECT to_jsonb(t) FROM plan_version t WHERE id IN ({_PLAN_VERSIONS})"),
    ("plan_goal", f"SELECT to_jsonb(t) FROM plan_goal t WHERE plan_version_id IN ({_PLAN_VERSIONS})"),
    ("plan_action", "SELECT to_jsonb(t) - 'owner_id' FROM plan_action t WHERE plan_goal_id IN "
                    f"(SELECT id FROM plan_goal WHERE plan_version_id IN ({_PLAN_VERSIONS}))"),
    ("plan_signoff", "SELECT to_jsonb(t) - 'practitioner_id' FROM plan_signoff t "
                     f"WHERE plan_version_id IN ({_PLAN_VERSIONS})"),
    ("lifelong_links_case", "SELECT to_jsonb(t) - 'coordinator_id' FROM lifelong_links_case t "
                            "WHERE young_adult_id = $1"),
    ("lifelong_links_stage_change", f"SELECT to_jsonb(t) FROM lifelong_links_stage_change t "
                                    f"WHERE case_id IN ({_CASES})"),
    ("lifelong_links_objective", f"SELECT to_jsonb(t) FROM lifelong_links_objective t WHERE case_id IN ({_CASES})"),
    ("network_member", f"""
        SELECT CASE WHEN {_SHARED} THEN to_jsonb(m)
               ELSE jsonb_build_object('id', m.id, 'young_adult_id', m.young_adult_id, 'case_id', m.case_id,
                                       'given_name', '{NOT_SHARED}', 'relationship', 'OTHER',
                                       'known_before', false, 'shared', false, 'status', 'IDENTIFIED',
                                       'vetting_outcome', 'NOT_STARTED', 'version', 1, 'created_at', m.created_at,
                                       'updated_at', m.created_at) END
        FROM network_member m WHERE m.young_adult_id = $1"""),
    ("network_member_status_change", f"SELECT to_jsonb(t) FROM network_member_status_change t "
                                     f"WHERE member_id IN ({_SHARED_MEMBERS})"),
    ("vetting_signoff", "SELECT to_jsonb(t) - 'practitioner_id' FROM vetting_signoff t "
                        f"WHERE member_id IN ({_SHARED_MEMBERS})"),
    ("network_commitment", f"SELECT to_jsonb(t) FROM network_commitment t WHERE member_id IN ({_SHARED_MEMBERS})"),
    ("consent", "SELECT to_jsonb(t) FROM consent t WHERE young_adult_id = $1 AND (network_member_id IS NULL "
                f"OR network_member_id IN ({_SHARED_MEMBERS}))"),
)
# Parts with a row id of their own get a provenance row each, shown in the API under these names.
ITEM_TYPES = {"young_adult": "YoungAdult", "custody_episode": "CustodyEpisode",
              "licence_condition": "LicenceCondition", "recall_event": "RecallEvent", "assessment": "Assessment",
              "integrated_plan": "IntegratedPlan", "plan_version": "PlanVersion", "plan_goal": "PlanGoal",
              "plan_action": "PlanAction", "lifelong_links_case": "LifelongLinksCase",
              "lifelong_links_objective": "LifelongLinksObjective", "network_member": "NetworkMember",
              "network_commitment": "NetworkCommitment", "consent": "Consent"}
_RECORD_DROPPED = ("transfer_id", "arrived_from", "arrived_on", "moved_to", "moved_on", "moved_by_transfer_id")
_IDENTIFIER = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")
_STATUS_ORDER = ("IDENTIFIED", "REFERRED", "CONSENTED", "ACTIVE")


def _json(value: Any) -> Any:
    return json.loads(value) if isinstance(value, str) else value


async def read(conn: Connection, young_adult_id: uuid.UUID, receiving_name: str) -> dict[str, Any] | None:
    """The package of one young adult, or None when the record is not there (or has already moved away)."""
    record = await conn.fetchval(
        "SELECT to_jsonb(t) - $2::text[] FROM young_adult t WHERE id = $1 AND moved_on IS NULL",
        young_adult_id, list(_RECORD_DROPPED))
    if record is None:
        return None
    programme = await conn.fetchrow(
        "SELECT min(referred_on) AS referred_on, min(consented_on) AS consented_on, "
        "array_agg(DISTINCT status) AS statuses FROM enrolment WHERE young_adult_id = $1 AND status <> 'EXITED'",
        young_adult_id)
    statuses = [s for s in (programme["statuses"] if programme else None) or () if s in _STATUS_ORDER]
    parts = {table: [_json(r[0]) for r in await conn.fetch(sql, young_adult_id,
                                                            *((receiving_name,) if "$2" in sql else ()))]
             for table, sql in PARTS}
    return {"young_adult": _json(record), "parts": parts,
            "enrolment": {"status": max(statuses, key=_STATUS_ORDER.index, default="IDENTIFIED"),
                          "referred_on": None if programme is None else _iso(programme["referred_on"]),
                          "consented_on": None if programme is None else _iso(programme["consented_on"])}}


def _iso(day: date | None) -> str | None:
    return None if day is None else day.isoformat()


async def _columns(conn: Connection, table: str) -> set[str]:
    """The columns of the receiving table that take a value (not generated ones, such as the derived earliest
    release date, which the receiving side computes itself)."""
    rows = await conn.fetch("SELECT attname FROM pg_attribute WHERE attrelid = to_regclass($1) AND attnum > 0 "
                            "AND NOT attisdropped AND attgenerated = '' AND attidentity = ''", table)
    return {r["attname"] for r in rows}


async def _insert(conn: Connection, table: str, rows: list[dict[str, Any]]) -> None:
    """Insert rows given as JSON objects, naming only columns the receiving table has (the keys come from the
    sending tenant's catalogue, and are checked as identifiers before they reach SQL)."""
    if not rows:
        return
    present = await _columns(conn, table)
    names = sorted({k for row in rows for k in row} & present)
    assert all(_IDENTIFIER.fullmatch(n) for n in names)
    assert _IDENTIFIER.fullmatch(table)
    columns = ", ".join(names)
    await conn.fetch(f"INSERT INTO {table} ({columns}) SELECT {columns} "
                     f"FROM jsonb_populate_recordset(NULL::{table}, $1::jsonb)", json.dumps(rows))


async def write(conn: Connection, package: dict[str, Any], transfer_id: uuid.UUID, from_tenant: str,
                site_code: str, arrived_on: date) -> uuid.UUID:
    """Write the package as a live record at ``site_code``, once: a second call for the same transfer finds the
    copy (young_adult.transfer_id is unique) and writes nothing."""
    found = await conn.fetchval("SELECT id FROM young_adult WHERE transfer_id = $1", transfer_id)
    if isinstance(found, uuid.UUID):
        return found
    site_id = await conn.fetchval("SELECT id FROM site WHERE code = $1", site_code)
    record = dict(package["young_adult"])
    record.update(transfer_id=str(transfer_id), arrived_from=from_tenant, arrived_on=arrived_on.isoformat(),
                  version=1)
    await _insert(conn, "young_adult", [record])
    young_adult_id = uuid.UUID(record["id"])
    programme = package["enrolment"]
    await conn.fetch(
        "INSERT INTO enrolment (young_adult_id, site_id, status, identified_on, referred_on, consented_on) "
        "VALUES ($1, $2, $3, $4, $5::text::date, $6::text::date)", young_adult_id, site_id, programme["status"],
        arrived_on, programme["referred_on"], programme["consented_on"])
    provenance: list[tuple[str, str, Any]] = [("YoungAdult", record["id"], record.get("created_at"))]
    for table, _sql in PARTS:
        rows = package["parts"].get(table, [])
        await _insert(conn, table, rows)
        if table in ITEM_TYPES:
            provenance.extend((ITEM_TYPES[table], r["id"], r.get("created_at")) for r in rows)
    await conn.fetch(
        "INSERT INTO provenance (item_type, item_id, young_adult_id, transfer_id, from_tenant, recorded_at) "
        "SELECT p.item_type, p.item_id, $4, $5, $6, p.recorded_at "
        "FROM unnest($1::text[], $2::uuid[], $3::timestamptz[]) AS p (item_type, item_id, recorded_at)",
        [p[0] for p in provenance], [uuid.UUID(p[1]) for p in provenance],
        [None if p[2] is None else _timestamp(p[2]) for p in provenance], young_adult_id, transfer_id, from_tenant)
    return young_adult_id


def _timestamp(value: str) -> datetime:
    return datetime.fromisoformat(value)


async def close(conn: Connection, young_adult_id: uuid.UUID, transfer_id: uuid.UUID, to_tenant: str,
                moved_on: date) -> bool:
    """Close the sending record: enrolments exit and the team ends on the day of the move, and the record says where
    the person went (after which the database refuses any change to it). False when it was closed already."""
    moved = await conn.fetchval("SELECT moved_on FROM young_adult WHERE id = $1", young_adult_id)
    if moved is not None:
        return False
    reason = f"Moved to {to_tenant}"
    await conn.fetch(
        "WITH e AS (UPDATE enrolment SET status = 'EXITED', exited_on = greatest($2, identified_on), exit_reason = $3, "
        "      version = version + 1, updated_at = now() WHERE young_adult_id = $1 AND status <> 'EXITED' "
        "      RETURNING id, exited_on) "
        "INSERT INTO enrolment_status_change (enrolment_id, status, changed_on, changed_by, reason) "
        "SELECT id, 'EXITED', exited_on, $4, $3 FROM e", young_adult_id, moved_on, reason, f"transfer:{transfer_id}")
    await conn.fetch("UPDATE team_member SET ended_on = greatest($2, started_on), version = version + 1, "
                     "updated_at = now() WHERE young_adult_id = $1 AND ended_on IS NULL", young_adult_id, moved_on)
    await conn.fetch("UPDATE young_adult SET moved_to = $2, moved_on = $3, moved_by_transfer_id = $4, "
                     "version = version + 1, updated_at = now() WHERE id = $1", young_adult_id, to_tenant, moved_on,
                     transfer_id)
    return True
