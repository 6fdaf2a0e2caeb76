"""Equivalence, generated from the declarations: for every declared field, a small document around it runs through
both executors for several callers on awkward data, and the JSON and the audit events must be identical.

The documents reach each declared type from a compiled root (the caseload's young adults, or a young adult's
network members, meetings, commitments, Lifelong Links case or consents, the tenant's sites, or its audit trail) by
the first path of
declared relations, selecting ``id`` (or ``__typename``, for a type without one) on the way and the field under test
at the end. They are published to the compiled app as its operations, so each one is compiled (checked) and the
other app resolves it field by field. A root by young adult is asked about young adults the caller sees and does
not see: the compiled app answers the first, and steps aside for the second (the resolvers refuse it). The
single-record root (``youngAdult(id:)``) is compared with one generated document selecting every declared field at
once, and with the published record documents, for every young adult, a missing one and an id of another type.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections import deque
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest

from service.api.model import Many, One, Scalar
from service.api.relay import to_global_id
from service.app.compiled.roots import ROOTS
from service.app.schema import MODELS
from service.audit.api import row_key
from service.kernel.principal import Role, Service
from tests.api.test_compiled import seed
from tests.conftest import CallerFactory, ClientFactory, TenantFactory
from tests.operations import document

ROOT = "YoungAdult"
CASELOAD = "caseload"
BY_YOUNG_ADULT = ("networkMembers", "networkMeetings", "commitmentsForYoungAdult", "lifelongLinksCase", "consents")
# Each compiled root but the single record (compared below): the document around a selection of its node type.
WRAPPERS = {
    CASELOAD: "query {op}($siteId: ID!, $first: Int!) {{ caseload(filter: {{siteId: $siteId}}, first: $first) "
              "{{ edges {{ cursor node {{ {body} }} }} pageInfo {{ hasNextPage endCursor }} }} }}\n",
    **{root: f"query {{op}}($youngAdultId: ID!) {{{{ {root}(youngAdultId: $youngAdultId) {{{{ {{body}} }}}} }}}}\n"
       for root in BY_YOUNG_ADULT},
    "sites": "query {op} {{ sites {{ {body} }} }}\n",
    **{root: f"query {{op}}(${arg}: {kind}, $first: Int!, $after: String) {{{{ {root}({arg}: ${arg}, first: $first, "
             "after: $after) {{ edges {{ cursor node {{ {body} }} }} pageInfo {{ hasNextPage endCursor }} }} }}\n"
       for root, arg, kind in (("auditEvents", "filter", "AuditEventFilter"), ("auditTrail", "youngAdultId", "ID!"))},
}
AUDIT = ("auditEvents", "auditTrail")
NODE_TYPES = {r.name: r.node_type for r in ROOTS}
Path_ = list[tuple[str, str]]


def paths() -> dict[str, tuple[str, Path_]]:
    """Each declared type reachable from a compiled root, with the first root and path of relation fields that
    reach it (each step: the type it leaves, the field; roots in the order of WRAPPERS, so the caseload reaches what
    it can)."""
    found: dict[str, tuple[str, Path_]] = {}
    for root in WRAPPERS:
        start = NODE_TYPES[root]
        if start in found:
            continue
        found[start] = (root, [])
        queue = deque([start])
        while queue:
            type_name = queue.popleft()
            for name, spec in MODELS[type_name].fields.items():
                if isinstance(spec, Many | One) and spec.type_name not in found:
                    found[spec.type_name] = (root, [*found[type_name][1], (type_name, name)])
                    queue.append(spec.type_name)
    return found


def key(type_name: str) -> str:
    """What a document selects on the way through a type: its id, or its name when it has none."""
    return "id" if "id" in MODELS[type_name].fields else "__typename"


def documents() -> dict[str, tuple[str, str]]:
    """Operation name -> (root, document), one per declared field (need-to-know ones included) of every reachable
    type, and one per root by young adult (and ``sites``) selecting every scalar of its node type."""
    out = {}
    for type_name, (root, path) in paths().items():
        model = MODELS[type_name]
        for name in (*model.fields, *model.disclosed):
            spec = model.fields.get(name)
            leaf = f"{name} {{ {key(spec.type_name)} }}" if isinstance(spec, Many | One) else name
            body = leaf if name == key(type_name) else f"{key(type_name)} {leaf}"
            for parent, step in reversed(path):
                body = f"{key(parent)} {step} {{ {body} }}"
            operation = f"Probe_{type_name}_{name}"
            out[operation] = (root, WRAPPERS[root].format(op=operation, body=body))
    for root in (*BY_YOUNG_ADULT, "sites", "auditTrail"):
        model = MODELS[NODE_TYPES[root]]
        body = " ".join([*(n for n, f in model.fields.items() if isinstance(f, Scalar)), *model.disclosed])
        operation = f"Probe_{root}"
        out[operation] = (root, WRAPPERS[root].format(op=operation, body=body))
    return out


def test_every_declared_field_gets_a_document() -> None:
    """Nothing declared escapes the generated comparison (a type no path reaches would be declared and unused),
    and every compiled root is exercised (the single record below)."""
    reached = paths()
    compiled_types = {m.name for m in MODELS.values() if m.table is not None}
    assert set(reached) == compiled_types
    generated = documents()
    assert {root for root, _ in generated.values()} | {"youngAdult"} == {*WRAPPERS, "youngAdult"} \
        == {r.name for r in ROOTS}
    assert len(generated) == sum(len(MODELS[t].fields) + len(MODELS[t].disclosed) for t in reached) \
        + len(BY_YOUNG_ADULT) + 2


def everything(type_name: str = ROOT, seen: tuple[str, ...] = ()) -> str:
    """A selection of every declared field below ``type_name`` (a type already on the way is not entered again)."""
    parts = []
    for name, spec in MODELS[type_name].fields.items():
        if not isinstance(spec, Many | One):
            parts.append(name)
        elif spec.type_name not in (*seen, type_name):
            parts.append(f"{name} {{ {everything(spec.type_name, (*seen, type_name))} }}")
    return " ".join(parts)


async def awkward(admin: asyncpg.Connection, schema: str) -> None:
    """Beyond seed(): a leap-day birth with a 21 end age, a plan with no versions, an agreed version with no goals
    beside a draft, a young adult with no plan, enrolled at two sites, and a closed site; and, for the record's
    other parts, on two young adults (one restricted): custody with a licence condition and a recall, a release,
    assessments with and without an assessor, a current and an ended team member, status history, sign-offs (one
    without a practitioner), agreement times with and without fractional seconds, and a meeting attended by a
    practitioner and by a network member who never consented."""
    s = f'"{schema}"'
    assessor = await admin.fetchval(
        f"INSERT INTO {s}.practitioner (given_name, family_name, service, role) "
        "VALUES ('Ada', 'Assessor', 'PROBATION', 'COM') RETURNING id")
    for family in ("Example-000", "Example-002"):
        ya = await admin.fetchval(f"SELECT id FROM {s}.young_adult WHERE family_name = $1", family)
        enrolment = await admin.fetchval(f"SELECT id FROM {s}.enrolment WHERE young_adult_id = $1", ya)
        await admin.execute(
            f"INSERT INTO {s}.enrolment_status_change (enrolment_id, status, changed_on, changed_by, reason) VALUES "
            "($1, 'REFERRED', DATE '2025-01-02', 'x', NULL), ($1, 'CONSENTED', DATE '2025-01-02', 'x', 'Agreed ü')",
            enrolment)
        episode = await admin.fetchval(
            f"INSERT INTO {s}.custody_episode (young_adult_id, prison_site_id, reception_date, sentence_type, crd, "
            f"ard, sed) SELECT $1, id, DATE '2024-02-29', 'DETERMINATE', DATE '2026-06-01', DATE '2026-05-01', "
            f"DATE '2027-01-01' FROM {s}.site WHERE code = 'BSI' RETURNING id", ya)
        await admin.execute(f"INSERT INTO {s}.licence_condition (custody_episode_id, description, starts_on) "
                            "VALUES ($1, 'Reside at the approved address', DATE '2026-05-01'), ($1, 'Curfew', NULL)",
                            episode)
        await admin.execute(f"INSERT INTO {s}.recall_event (custody_episode_id, recalled_on, reason) "
                            "VALUES ($1, DATE '2026-07-01', 'Breach')", episode)
        await admin.execute(
            f"INSERT INTO {s}.custody_episode (young_adult_id, reception_date, sentence_type, ped, "
            "actual_release_date, release_type) VALUES ($1, DATE '2022-01-01', 'REMAND', DATE '2022-06-01', "
            "DATE '2022-07-01', 'COURT')", ya)
        for who, on in ((assessor, dt.date(2025, 3, 1)), (None, dt.date(2025, 4, 1))):
            assessment = await admin.fetchval(
                f"INSERT INTO {s}.assessment (young_adult_id, source, assessed_on, assessor_id, summary) "
                "VALUES ($1, 'OASYS', $2, $3, 'Summary') RETURNING id", ya, on, who)
            await admin.execute(f"INSERT INTO {s}.assessment_need (assessment_id, pathway, level, note) VALUES "
                                "($1, 'HEALTH', 'LOW', NULL), ($1, 'ACCOMMODATION', 'HIGH', 'None yet')",
                                assessment)
        await admin.execute(f"INSERT INTO {s}.team_member (young_adult_id, practitioner_id, team_role, started_on, "
                            "ended_on) VALUES ($1, $2, 'COMMUNITY_OFFENDER_MANAGER', DATE '2025-01-01', "
                            "DATE '2025-06-01'), ($1, $2, 'KEY_WORKER', DATE '2025-02-01', NULL)", ya, assessor)
        agreed = await admin.fetchval(
            f"UPDATE {s}.plan_version v SET agreed_at = TIMESTAMPTZ '2025-05-05 10:00:00+01' "
            f"FROM {s}.integrated_plan p WHERE p.id = v.plan_id AND p.young_adult_id = $1 AND v.status = 'AGREED' "
            "RETURNING v.id", ya)
        await admin.execute(
            f"INSERT INTO {s}.plan_signoff (plan_version_id, service, practitioner_id, signed_by, signed_at) VALUES "
            "($1, 'PRISON', $2, 'x', TIMESTAMPTZ '2025-05-04 09:00:00.123456+00'), "
            "($1, 'PROBATION', NULL, 'x', TIMESTAMPTZ '2025-05-05 09:00:00+00')", agreed, assessor)
        member = await admin.fetchval(
            f"INSERT INTO {s}.network_member (young_adult_id, given_name, family_name, relationship, known_before) "
            "VALUES ($1, 'Nocon', 'Sent', 'FRIEND', false) RETURNING id", ya)
        meeting = await admin.fetchval(
            f"INSERT INTO {s}.meeting (young_adult_id, kind, held_on, outcome, agreed_plan_version_id, "
            "young_adult_attended) VALUES ($1, 'INTEGRATED_PLANNING', DATE '2025-05-05', 'Agreed', $2, true) "
            "RETURNING id", ya, agreed)
        await admin.execute(f"INSERT INTO {s}.meeting_attendee (meeting_id, practitioner_id, network_member_id) "
                            "VALUES ($1, $2, NULL), ($1, NULL, $3)", meeting, assessor, member)
    await admin.execute(f"INSERT INTO {s}.site (code, name, kind, closed_at) VALUES ('OLD', 'Closed', 'PRISON', now())")
    births = ((dt.date(2004, 2, 29), 21), (dt.date(2000, 2, 29), 25), (dt.date(2003, 3, 1), 21))
    for i, (born, age) in enumerate(births):
        ya = await admin.fetchval(
            f"INSERT INTO {s}.young_adult (given_name, family_name, date_of_birth, care_status, entitlement_end_age) "
            "VALUES ('Leap', $1, $2, 'QUALIFYING', $3) RETURNING id", f"Awkward-{i}", born, age)
        for code in ("BSI", "OLD")[: 1 + (i == 2)]:
            await admin.execute(f"INSERT INTO {s}.enrolment (young_adult_id, site_id, status, referred_on) "
                                f"SELECT $1, id, 'REFERRED', DATE '2026-01-31' FROM {s}.site WHERE code = $2", ya, code)
        if i == 0:
            await admin.execute(f"INSERT INTO {s}.integrated_plan (young_adult_id) VALUES ($1)", ya)
        elif i == 1:
            plan = await admin.fetchval(f"INSERT INTO {s}.integrated_plan (young_adult_id) VALUES ($1) RETURNING id",
                                        ya)
            await admin.execute(f"INSERT INTO {s}.plan_version (plan_id, number, status, created_by) VALUES "
                                "($1, 1, 'SUPERSEDED', 'x'), ($1, 2, 'AGREED', 'x'), ($1, 3, 'DRAFT', 'x')", plan)


async def callers(admin: asyncpg.Connection, schema: str, login: CallerFactory,
                  tenant: object) -> dict[str, str]:
    """Tokens: a practitioner on the restricted record's team, one at the same site off its team, one elsewhere
    whose only way in is that team, a Lifelong Links coordinator at the site, and a tenant administrator."""
    s = f'"{schema}"'
    restricted = await admin.fetchval(f"SELECT id FROM {s}.young_adult WHERE access_restricted")
    out = {}
    for name, service, site in (("site", Service.PRISON, "BSI"), ("off_team", Service.PRISON, "BSI"),
                                ("team_elsewhere", Service.LEAVING_CARE, "BRM-LC"),
                                ("coordinator", Service.LIFELONG_LINKS, "BSI")):
        subject = f"{name}-{schema[-8:]}"
        out[name] = (await login(Role.PRACTITIONER, tenant, service=service, sites=(site,), subject=subject)).token
        if name in ("site", "team_elsewhere"):
            practitioner = await admin.fetchval(
                f"INSERT INTO {s}.practitioner (subject, given_name, family_name, service, role) "
                "VALUES ($1, 'P', 'Example', $2, 'POM') RETURNING id", subject, service.value)
            await admin.execute(f"INSERT INTO {s}.team_member (young_adult_id, practitioner_id, team_role) "
                                "VALUES ($1, $2, $3)", restricted, practitioner,
                                "OFFENDER_MANAGER" if name == "site" else "PERSONAL_ADVISER")
    out["admin"] = (await login(Role.TENANT_ADMIN, tenant)).token
    return out


async def network(admin: asyncpg.Connection, schema: str) -> list[str]:
    """The support network on awkward data; returns the young adults the roots by young adult are asked about.

    The restricted record (its team: the site practitioner, and the practitioner elsewhere as personal adviser, who
    so has need-to-know) has an open case coordinated by the coordinator (need-to-know too), members with contact
    details and consent, with consent withdrawn (details hidden from everyone), and without consent or details;
    an active and an ended commitment; a meeting attended by practitioners, its members and another young adult's
    member; vetting sign-offs, status changes, stages and objectives, consents of several kinds. Another young
    adult has a closed case and a consent naming the restricted record's member; a third has nothing at all."""
    s = f'"{schema}"'
    suffix = schema[-8:]
    coordinator = await admin.fetchval(
        f"INSERT INTO {s}.practitioner (subject, given_name, family_name, service, role) "
        "VALUES ($1, 'C', 'Coordinator', 'LIFELONG_LINKS', 'LIFELONG_LINKS_COORDINATOR') RETURNING id",
        f"coordinator-{suffix}")
    await admin.execute(f"INSERT INTO {s}.practitioner_site (practitioner_id, site_id) "
                        f"SELECT $1, id FROM {s}.site WHERE code = 'BSI'", coordinator)
    site_practitioner = await admin.fetchval(f"SELECT id FROM {s}.practitioner WHERE subject = $1", f"site-{suffix}")
    await admin.execute(f"INSERT INTO {s}.practitioner_site (practitioner_id, site_id) "
                        f"SELECT $1, id FROM {s}.site WHERE code = 'BSI'", site_practitioner)
    restricted = await admin.fetchval(f"SELECT id FROM {s}.young_adult WHERE access_restricted")
    other = await admin.fetchval(f"SELECT id FROM {s}.young_adult WHERE family_name = 'Example-001'")
    coordinated = await admin.fetchval(f"SELECT id FROM {s}.young_adult WHERE family_name = 'Example-003'")
    bare = await admin.fetchval(f"SELECT id FROM {s}.young_adult WHERE family_name = 'Awkward-2'")

    async def case(young_adult: object, stage: str, score: str | None) -> object:
        found = await admin.fetchval(
            f"INSERT INTO {s}.lifelong_links_case (young_adult_id, coordinator_id, stage, referred_on, "
            "connection_score_start) VALUES ($1, $2, $3, DATE '2026-01-05', $4::numeric) RETURNING id",
            young_adult, coordinator, stage, score)
        reached = (("REFERRED", 5), ("EXPLORING", 9), *((("CLOSED", 20),) if stage == "CLOSED" else ()))
        for stage_reached, day in reached:
            await admin.execute(f"INSERT INTO {s}.lifelong_links_stage_change (case_id, stage, entered_on, "
                                "changed_by) VALUES ($1, $2, $3, 'x')", found, stage_reached, dt.date(2026, 1, day))
        return found

    open_case = await case(restricted, "EXPLORING", "42.5")
    await case(other, "CLOSED", None)
    await admin.execute(f"UPDATE {s}.network_member SET case_id = $2 WHERE young_adult_id = $1", coordinated,
                        await case(coordinated, "EXPLORING", "100"))  # the coordinator's need-to-know
    await admin.execute(f"INSERT INTO {s}.lifelong_links_objective (case_id, description, met, assessed_on) VALUES "
                        "($1, 'Christmas', true, DATE '2026-01-10'), ($1, 'Letters', NULL, NULL)", open_case)
    members = []
    for given, phone, email, address, consent in (
            ("Aunt", "07700 900001", "aunt@example.org", None, "ACTIVE"),
            ("Cousin", None, None, "1 High Street", "WITHDRAWN"),
            ("Teacher", None, None, None, None)):
        member = await admin.fetchval(
            f"INSERT INTO {s}.network_member (young_adult_id, case_id, given_name, relationship, known_before, "
            "phone, email, address, status) VALUES ($1, $2, $3, 'RELATIVE', $4, $5, $6, $7, 'FOUND') RETURNING id",
            restricted, open_case, given, consent is None, phone, email, address)
        members.append(member)
        await admin.execute(f"INSERT INTO {s}.network_member_status_change (member_id, status, changed_on, "
                            "changed_by) VALUES ($1, 'IDENTIFIED', DATE '2026-01-06', 'x'), "
                            "($1, 'FOUND', DATE '2026-01-08', 'x')", member)
        if consent is not None:
            await admin.execute(
                f"INSERT INTO {s}.consent (young_adult_id, network_member_id, purpose, granted_on, withdrawn_on, "
                "recorded_by) VALUES ($1, $2, 'CONTACT', DATE '2026-01-07', $3, 'x')", restricted, member,
                dt.date(2026, 1, 12) if consent == "WITHDRAWN" else None)
    await admin.execute(f"INSERT INTO {s}.vetting_signoff (member_id, service, practitioner_id, signed_by, outcome, "
                        "signed_on) VALUES ($1, 'PRISON', $2, 'x', 'CLEARED', DATE '2026-01-09'), "
                        "($1, 'LEAVING_CARE', NULL, 'y', 'NOT_CLEARED', DATE '2026-01-09')", members[0],
                        site_practitioner)
    await admin.execute(f"INSERT INTO {s}.network_commitment (member_id, goal_lineage_id, action_lineage_id, "
                        "description, starts_on, ends_on, status) VALUES "
                        "($1, gen_random_uuid(), NULL, 'Sundays', DATE '2026-01-15', NULL, 'ACTIVE'), "
                        "($1, gen_random_uuid(), gen_random_uuid(), 'Lifts', NULL, DATE '2026-01-20', 'ENDED')",
                        members[0])
    elsewhere = await admin.fetchval(f"SELECT id FROM {s}.network_member WHERE young_adult_id = $1 LIMIT 1", other)
    meeting = await admin.fetchval(f"INSERT INTO {s}.meeting (young_adult_id, kind, held_on, outcome) "
                                   "VALUES ($1, 'LIFELONG_LINKS', DATE '2026-01-25', 'Agreed') RETURNING id",
                                   restricted)
    await admin.execute(f"INSERT INTO {s}.meeting (young_adult_id, kind, held_on) "
                        "VALUES ($1, 'REVIEW', DATE '2026-01-26')", restricted)  # not a network meeting
    for practitioner, member in ((coordinator, None), (None, members[1]), (site_practitioner, None),
                                 (None, members[0]), (None, elsewhere)):
        await admin.execute(f"INSERT INTO {s}.meeting_attendee (meeting_id, practitioner_id, network_member_id) "
                            "VALUES ($1, $2, $3)", meeting, practitioner, member)
    await admin.execute(f"INSERT INTO {s}.consent (young_adult_id, network_member_id, purpose, organisation, "
                        "granted_on, recorded_by) VALUES ($1, NULL, 'SHARING', 'Family Rights Group', "
                        "DATE '2026-01-06', 'x'), ($1, NULL, 'PARTICIPATION', NULL, DATE '2026-01-06', 'x'), "
                        "($2, $3, 'PARTICIPATION', NULL, DATE '2026-01-07', 'x')", restricted, other, members[0])
    return [to_global_id("YoungAdult", y) for y in (restricted, other, coordinated, bare)]


BAD_FILTER: dict[str, object] = {"subjectId": "not an id"}


async def newest(admin: asyncpg.Connection, schema: str) -> str:
    """The cursor of the newest (event, subject) row of the trail."""
    row = await admin.fetchrow(f'SELECT id, cardinality(subject_ids) AS n FROM "{schema}".audit_event '
                               "ORDER BY occurred_at DESC, id DESC LIMIT 1")
    assert row is not None
    return to_global_id("cursor", row_key(row))


def audit_cases(root: str, after: str, young_adults: list[str], site: str) -> list[dict[str, object]]:
    """Pages of the trail before ``after``: every filter alone, some together, ones matching nothing, pages short
    and long, and arguments the resolver refuses (a filter naming no id it issued) or answers empty (an id of
    another type)."""
    if root == "auditTrail":
        return [{"youngAdultId": y, "first": first, "after": after} for y in (*young_adults, site) for first in (3, 50)]
    today = dt.datetime.now(dt.UTC).date()
    day = dt.timedelta(days=1)
    filters: list[dict[str, object] | None] = [
        None, {"youngAdultId": young_adults[0]}, {"youngAdultId": to_global_id("YoungAdult", uuid.uuid4())},
        {"youngAdultId": site}, {"action": "DISCLOSE"}, {"action": "CONSULT", "youngAdultId": young_adults[1]},
        {"actor": "nobody"}, {"from": (today - day).isoformat(), "to": (today + day).isoformat()},
        {"from": "2001-01-01", "to": "2001-01-31"}, BAD_FILTER]
    return [{"filter": f, "first": first, "after": after} for f in filters for first in (2, 50)]


async def run(client: httpx.AsyncClient, token: str, query: str, variables: Mapping[str, object],
              admin: asyncpg.Connection, schema: str) -> tuple[object, list[tuple[object, ...]], str | None]:
    response = await client.post("/graphql", json={"query": query, "variables": variables},
                                 headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 200, response.text
    rows = await admin.fetch(
        f'SELECT action, subject_types, subject_ids, young_adult_ids, fields, operation FROM "{schema}".audit_event '
        "WHERE request_id = $1", response.headers["x-request-id"])
    return response.json(), sorted(tuple(r) for r in rows), response.headers.get("x-executed-by")


@pytest.fixture
async def published(tmp_path: Path) -> Path:
    for operation, (_, text) in documents().items():
        (tmp_path / f"{operation}.graphql").write_text(text)
    return tmp_path


async def test_both_executors_agree_on_every_declared_field(
        make_tenant: TenantFactory, login: CallerFactory, admin_conn: asyncpg.Connection,
        client_with: ClientFactory, published: Path) -> None:
    tenant = await make_tenant()
    await seed(admin_conn, tenant.schema, "BSI", 6, restricted=2)
    await awkward(admin_conn, tenant.schema)
    tokens = await callers(admin_conn, tenant.schema, login, tenant)
    young_adults = await network(admin_conn, tenant.schema)
    compiled = await client_with(operations_dir=published)
    plain = await client_with(operations_dir=published, compiled_documents=False)
    site = to_global_id("Site", await admin_conn.fetchval(
        f'SELECT id FROM "{tenant.schema}".site WHERE code = $1', "BSI"))
    shown: dict[str, set[int]] = {}
    answered: dict[str, int] = {}
    disclosed: set[str] = set()
    trail: list[int] = []
    anchor: str | None = None
    for operation, (root, text) in documents().items():
        if root in AUDIT and anchor is None:
            # The trail pages start after the newest event so far: both executors then list the same events,
            # although each request adds its own (the view of a young adult's trail) on top.
            anchor = await newest(admin_conn, tenant.schema)
        for who, token in tokens.items():
            cases: list[dict[str, object]]
            if root in AUDIT:
                assert anchor is not None
                cases = audit_cases(root, anchor, young_adults, site)
            elif root == CASELOAD:  # a short page too: cursors and hasNextPage
                cases = [{"siteId": site, "first": first}
                                                  for first in ((4, 50) if who == "admin" else (50,))]
            elif root in BY_YOUNG_ADULT:
                cases = [{"youngAdultId": y} for y in young_adults]
            else:
                cases = [{}]
            for variables in cases:
                ours, our_audit, executed = await run(compiled, token, text, variables, admin_conn, tenant.schema)
                theirs, their_audit, _ = await run(plain, token, text, variables, admin_conn, tenant.schema)
                refused = "errors" in ours  # type: ignore[operator]
                assert executed == (None if refused else "compiled"), (operation, who, variables)
                assert ours == theirs, (operation, who, variables)
                assert our_audit == their_audit, (operation, who, variables)
                disclosed |= {who for row in our_audit if row[0] == "DISCLOSE"}
                if root == CASELOAD:
                    shown.setdefault(who, set()).add(len(ours["data"]["caseload"]["edges"]))  # type: ignore[index]
                elif root in AUDIT:
                    if not refused:
                        trail.append(len(ours["data"][root]["edges"]))  # type: ignore[index]
                    assert refused == (who != "admin" or variables.get("filter") == BAD_FILTER), (who, variables)
                elif not refused:
                    answered[who] = answered.get(who, 0) + 1
    # The callers see different records (so the comparison covers visibility, not one view five times).
    assert shown["admin"] == {4, 9}
    assert shown["site"] == {9}
    assert shown["off_team"] == {8}
    assert shown["team_elsewhere"] == {1}
    # Need-to-know compiled: the personal adviser and the coordinator were shown contact details, nobody else.
    assert disclosed == {"team_elsewhere", "coordinator"}
    # The trail's pages held events (full and short pages), and some filters matched none.
    assert max(trail) == 50
    assert 0 in trail
    assert len(set(trail)) > 3
    # The roots by young adult answered and refused by caller (the site practitioner is on the restricted team).
    assert answered["off_team"] < answered["site"] == answered["admin"]
    assert answered["team_elsewhere"] < answered["off_team"]


async def test_the_record_root_agrees_for_every_young_adult(
        make_tenant: TenantFactory, login: CallerFactory, admin_conn: asyncpg.Connection,
        client_with: ClientFactory, tmp_path: Path) -> None:
    """``youngAdult(id:)``: every declared field at once, and the published record documents, for every young adult
    (visible or not to the caller), a missing one and an id of another type, through both executors."""
    probe = f"query RecordProbe($id: ID!) {{ youngAdult(id: $id) {{ {everything()} }} }}\n"
    texts = {"RecordProbe": probe, "YoungAdultRecord": document("YoungAdultRecord"),
             "PlanHistory": document("PlanHistory")}
    for operation, text in texts.items():
        (tmp_path / f"{operation}.graphql").write_text(text)
    tenant = await make_tenant()
    await seed(admin_conn, tenant.schema, "BSI", 4, restricted=2)
    await awkward(admin_conn, tenant.schema)
    tokens = await callers(admin_conn, tenant.schema, login, tenant)
    compiled = await client_with(operations_dir=tmp_path)
    plain = await client_with(operations_dir=tmp_path, compiled_documents=False)
    rows = await admin_conn.fetch(f'SELECT id, family_name FROM "{tenant.schema}".young_adult ORDER BY family_name')
    ids = [to_global_id("YoungAdult", r["id"]) for r in rows]
    awkward_one = next(i for i, r in zip(ids, rows, strict=True) if r["family_name"] == "Example-000")
    ids += [to_global_id("YoungAdult", uuid.uuid4()), to_global_id("Site", rows[0]["id"])]
    found: dict[str, int] = {}
    full: Any = None
    for operation, text in texts.items():
        variable = "youngAdultId" if operation == "PlanHistory" else "id"
        for who, token in tokens.items():
            for young_adult in ids:
                variables = {variable: young_adult}
                ours, our_audit, executed = await run(compiled, token, text, variables, admin_conn, tenant.schema)
                theirs, their_audit, _ = await run(plain, token, text, variables, admin_conn, tenant.schema)
                assert isinstance(theirs, dict)
                assert "errors" not in theirs, (operation, who)
                assert executed == ("compiled" if young_adult != ids[-1] else None), (operation, who)
                assert ours == theirs, (operation, who, young_adult)
                assert our_audit == their_audit, (operation, who, young_adult)
                record = theirs["data"]["youngAdult"]
                found[who] = found.get(who, 0) + (record is not None)
                if (operation, who, young_adult) == ("YoungAdultRecord", "admin", awkward_one):
                    full = record
    # each caller sees a different part of the tenant
    assert found == {"admin": 3 * 7, "site": 3 * 7, "off_team": 3 * 6, "team_elsewhere": 3 * 1, "coordinator": 3 * 6}
    # and the awkward record fills every list of the published record (an empty-list match proves little)
    assert all(full[k] for k in ("enrolments", "team", "custodyEpisodes", "assessments", "meetings", "timeline"))
    episode, meeting, agreed = full["custodyEpisodes"][0], full["meetings"][0], full["plan"]["agreedVersion"]
    assert all((full["enrolments"][0]["statusHistory"], episode["licenceConditions"], episode["recalls"],
                agreed["signoffs"], agreed["requiredServices"], meeting["agreedPlanVersion"]))
    assert [a["networkMember"] for a in meeting["attendees"] if a["networkMember"]]
