"""Equivalence, generated from the declarations: for every declared field, a small document around it runs through
both executors for several callers on awkward data, and the JSON and the audit events must be identical.

The documents reach each declared type from the compiled root (the caseload's young adults) by the first path of
declared relations, selecting ``id`` (or ``__typename``, for a type without one) on the way and the field under test
at the end. They are published to the compiled app as its operations, so each one is compiled (checked) and the
other app resolves it field by field. The single-record root (``youngAdult(id:)``) is compared with one generated
document selecting every declared field at once, and with the published record documents, for every young adult,
a missing one and an id of another type.
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

from service.api.model import Many, One
from service.api.relay import to_global_id
from service.app.schema import MODELS
from service.kernel.principal import Role, Service
from tests.api.test_compiled import seed
from tests.conftest import CallerFactory, ClientFactory, TenantFactory
from tests.operations import document

ROOT = "YoungAdult"


def paths() -> dict[str, list[tuple[str, str]]]:
    """Each declared type reachable from the root, with the first path of relation fields that reaches it (each
    step: the type it leaves, the field)."""
    found: dict[str, list[tuple[str, str]]] = {ROOT: []}
    queue = deque([ROOT])
    while queue:
        type_name = queue.popleft()
        for name, spec in MODELS[type_name].fields.items():
            if isinstance(spec, Many | One) and spec.type_name not in found:
                found[spec.type_name] = [*found[type_name], (type_name, name)]
                queue.append(spec.type_name)
    return found


def key(type_name: str) -> str:
    """What a document selects on the way through a type: its id, or its name when it has none."""
    return "id" if "id" in MODELS[type_name].fields else "__typename"


def documents() -> dict[str, str]:
    """Operation name -> document, one per declared field of every reachable type."""
    out = {}
    for type_name, path in paths().items():
        for name, spec in MODELS[type_name].fields.items():
            leaf = f"{name} {{ {key(spec.type_name)} }}" if isinstance(spec, Many | One) else name
            body = leaf if name == key(type_name) else f"{key(type_name)} {leaf}"
            for parent, step in reversed(path):
                body = f"{key(parent)} {step} {{ {body} }}"
            operation = f"Probe_{type_name}_{name}"
            out[operation] = (f"query {operation}($siteId: ID!, $first: Int!) {{ caseload(filter: {{siteId: $siteId}}, "
                              f"first: $first) {{ edges {{ cursor node {{ {body} }} }} "
                              "pageInfo { hasNextPage endCursor } } }\n")
    return out


def test_every_declared_field_gets_a_document() -> None:
    """Nothing declared escapes the generated comparison (a type no path reaches would be declared and unused)."""
    reached = paths()
    compiled_types = {m.name for m in MODELS.values() if m.table is not None}
    assert set(reached) == compiled_types
    assert len(documents()) == sum(len(MODELS[t].fields) for t in reached)


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


async def run(client: httpx.AsyncClient, token: str, query: str, variables: Mapping[str, object],
              admin: asyncpg.Connection, schema: str) -> tuple[object, list[tuple[object, ...]], str | None]:
    response = await client.post("/graphql", json={"query": query, "variables": variables},
                                 headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 200, response.text
    rows = await admin.fetch(
        f'SELECT action, subject_type, subject_ids, young_adult_ids, fields, operation FROM "{schema}".audit_event '
        "WHERE request_id = $1", response.headers["x-request-id"])
    return response.json(), sorted(tuple(r) for r in rows), response.headers.get("x-executed-by")


@pytest.fixture
async def published(tmp_path: Path) -> Path:
    for operation, text in documents().items():
        (tmp_path / f"{operation}.graphql").write_text(text)
    return tmp_path


async def test_both_executors_agree_on_every_declared_field(
        make_tenant: TenantFactory, login: CallerFactory, admin_conn: asyncpg.Connection,
        client_with: ClientFactory, published: Path) -> None:
    tenant = await make_tenant()
    await seed(admin_conn, tenant.schema, "BSI", 6, restricted=2)
    await awkward(admin_conn, tenant.schema)
    tokens = await callers(admin_conn, tenant.schema, login, tenant)
    compiled = await client_with(operations_dir=published)
    plain = await client_with(operations_dir=published, compiled_documents=False)
    site = to_global_id("Site", await admin_conn.fetchval(
        f'SELECT id FROM "{tenant.schema}".site WHERE code = $1', "BSI"))
    shown: dict[str, set[int]] = {}
    for operation, text in documents().items():
        for who, token in tokens.items():
            for first in (4, 50) if who == "admin" else (50,):  # a short page too: cursors and hasNextPage
                variables = {"siteId": site, "first": first}
                ours, our_audit, executed = await run(compiled, token, text, variables, admin_conn, tenant.schema)
                theirs, their_audit, _ = await run(plain, token, text, variables, admin_conn, tenant.schema)
                assert executed == "compiled", operation
                assert ours == theirs, (operation, who, first)
                assert our_audit == their_audit, (operation, who, first)
                shown.setdefault(who, set()).add(len(ours["data"]["caseload"]["edges"]))  # type: ignore[index]
    # The callers see different records (so the comparison covers visibility, not one view five times).
    assert shown["admin"] == {4, 9}
    assert shown["site"] == {9}
    assert shown["off_team"] == {8}
    assert shown["team_elsewhere"] == {1}


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
