"""Compiled documents answer exactly as the resolvers do: the same JSON and the same audit events, for every
caller and page; and where they cannot (an argument the resolver refuses, a role without case data) they step
aside so the resolvers answer."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

import asyncpg
import httpx
import pytest

from service.api.relay import to_global_id
from service.kernel import clock
from service.kernel.database import Database
from service.kernel.principal import Role, Service
from service.kernel.settings import PUBLISHED_OPERATIONS, Settings
from tests.conftest import CallerFactory, ClientFactory, TenantFactory
from tests.messages import count_messages, count_statements
from tests.operations import document

CASELOAD = document("CaseloadPage")


async def seed(admin: asyncpg.Connection, schema: str, site: str, count: int, *, restricted: int = -1) -> None:
    """Young adults at a site, each with an agreed plan and a draft (goals with actions) and network members."""
    s = f'"{schema}"'
    for i in range(count):
        ya = await admin.fetchval(
            f"INSERT INTO {s}.young_adult (given_name, family_name, date_of_birth, care_status, prison_number, "
            "access_restricted) VALUES ($1, $2, $3, 'RELEVANT', $4, $5) RETURNING id",
            f"Sam{i}", f"Example-{i:03d}", dt.date(2003, 2, 28) + dt.timedelta(days=i),
            f"Z{i:04d}AB", i == restricted)
        await admin.execute(f"INSERT INTO {s}.enrolment (young_adult_id, site_id) "
                            f"SELECT $1, id FROM {s}.site WHERE code = $2", ya, site)
        plan = await admin.fetchval(f"INSERT INTO {s}.integrated_plan (young_adult_id) VALUES ($1) RETURNING id", ya)
        for number, status in ((1, "AGREED"), (2, "DRAFT"))[: 1 + i % 2]:
            version = await admin.fetchval(
                f"INSERT INTO {s}.plan_version (plan_id, number, status, created_by) VALUES ($1, $2, $3, 'x') "
                "RETURNING id", plan, number, status)
            for g in range(1 + i % 3):
                goal = await admin.fetchval(
                    f"INSERT INTO {s}.plan_goal (plan_version_id, pathway, description, position) "
                    "VALUES ($1, 'ACCOMMODATION', $2, $3) RETURNING id", version, f"Goal {g} \"quoted\" ü", g)
                for a in range(g + 1):
                    await admin.execute(
                        f"INSERT INTO {s}.plan_action (plan_goal_id, description, owner_service, due_on, position) "
                        "VALUES ($1, $2, 'PRISON', $3, $4)", goal, f"Action {a}", dt.date(2027, 1, 1 + a), a)
        for m in range(i % 4):
            await admin.execute(
                f"INSERT INTO {s}.network_member (young_adult_id, given_name, relationship, known_before, phone) "
                "VALUES ($1, $2, 'RELATIVE', true, '07700 900000')", ya, f"Member{m}")


async def both(compiled: httpx.AsyncClient, plain: httpx.AsyncClient, token: str, variables: dict[str, Any],
               admin: asyncpg.Connection, schema: str) -> tuple[dict[str, Any], str]:
    answers, audits, executed = [], [], []
    for client in (compiled, plain):
        response = await client.post("/graphql", json={"query": CASELOAD, "variables": variables},
                                     headers={"Authorization": f"Bearer {token}"})
        assert response.status_code == 200, response.text
        answers.append(response.json())
        executed.append(response.headers.get("x-executed-by", "resolvers"))
        rows = await admin.fetch(f'SELECT action, subject_types, subject_ids, young_adult_ids, fields, operation '
                                 f'FROM "{schema}".audit_event WHERE request_id = $1', response.headers["x-request-id"])
        audits.append(sorted((r["action"], r["subject_types"], [str(i) for i in r["subject_ids"]],
                              [str(i) for i in r["young_adult_ids"]], r["fields"], r["operation"]) for r in rows))
    assert answers[0] == answers[1]
    assert audits[0] == audits[1]
    assert executed[1] == "resolvers"
    return answers[0], executed[0]


@pytest.fixture
async def plain(client_with: ClientFactory) -> httpx.AsyncClient:
    return await client_with(compiled_documents=False)


async def test_same_answers_and_audit_for_every_page_and_caller(
        make_tenant: TenantFactory, login: CallerFactory, admin_conn: asyncpg.Connection, client: httpx.AsyncClient,
        plain: httpx.AsyncClient) -> None:
    tenant = await make_tenant()
    await seed(admin_conn, tenant.schema, "BSI", 7, restricted=3)
    site = to_global_id("Site", await admin_conn.fetchval(f'SELECT id FROM "{tenant.schema}".site WHERE code = $1',
                                                          "BSI"))
    pom = await login(Role.PRACTITIONER, tenant, service=Service.PRISON, sites=("BSI",))
    admin = await login(Role.TENANT_ADMIN, tenant)
    elsewhere = await login(Role.PRACTITIONER, tenant, service=Service.LEAVING_CARE, sites=("BRM-LC",))

    seen_by: dict[str, list[str]] = {}
    for name, caller in (("pom", pom), ("admin", admin), ("elsewhere", elsewhere)):
        names, after = [], None
        while True:
            body, executed = await both(client, plain, caller.token, {"siteId": site, "first": 3, "after": after},
                                        admin_conn, tenant.schema)
            assert executed == "compiled"
            page = body["data"]["caseload"]
            names += [e["node"]["familyName"] for e in page["edges"]]
            if not page["pageInfo"]["hasNextPage"]:
                break
            after = page["pageInfo"]["endCursor"]
        seen_by[name] = names
    everyone = [f"Example-{i:03d}" for i in range(7)]
    assert seen_by == {"pom": [n for n in everyone if n != "Example-003"], "admin": everyone, "elsewhere": []}

    full, _ = await both(client, plain, admin.token, {"siteId": site}, admin_conn, tenant.schema)
    node = full["data"]["caseload"]["edges"][1]["node"]
    assert node["plan"]["currentVersion"]["status"] == "DRAFT"
    assert [m["givenName"] for m in node["networkMembers"]] == ["Member0"]
    assert "phone" not in node["networkMembers"][0]


async def test_the_scope_the_statement_works_out_is_the_callers_own(
        make_tenant: TenantFactory, login: CallerFactory, admin_conn: asyncpg.Connection, client: httpx.AsyncClient,
        plain: httpx.AsyncClient) -> None:
    """The compiled page works the caller's scope out inside its one statement (from their grant's site codes and
    their subject): tried with callers it must not widen. A practitioner elsewhere sees only the restricted record
    whose team they are on (and not after leaving it); a site manager sees their site without the restricted one; a
    practitioner of another tenant with the same site codes sees nothing of this one."""
    tenant, other = await make_tenant(), await make_tenant()
    await seed(admin_conn, tenant.schema, "BSI", 5, restricted=3)
    site = to_global_id("Site", await admin_conn.fetchval(f'SELECT id FROM "{tenant.schema}".site WHERE code = $1',
                                                          "BSI"))
    s = f'"{tenant.schema}"'
    member = await admin_conn.fetchval(
        f"INSERT INTO {s}.practitioner (subject, given_name, family_name, service, role) "
        "VALUES ('team-pa', 'Pat', 'Adviser', 'LEAVING_CARE', 'PERSONAL_ADVISER') RETURNING id")
    await admin_conn.execute(
        f"INSERT INTO {s}.team_member (young_adult_id, practitioner_id, team_role) "
        f"SELECT id, $1, 'PERSONAL_ADVISER' FROM {s}.young_adult WHERE family_name = 'Example-003'", member)
    callers = {
        "team": await login(Role.PRACTITIONER, tenant, service=Service.LEAVING_CARE, sites=("BRM-LC",),
                            subject="team-pa"),
        "manager": await login(Role.SITE_MANAGER, tenant, service=Service.PRISON, sites=("BSI",)),
        "other tenant": await login(Role.PRACTITIONER, other, service=Service.PRISON, sites=("BSI",)),
    }
    seen = {}
    for name, caller in callers.items():
        body, executed = await both(client, plain, caller.token, {"siteId": site}, admin_conn, tenant.schema)
        assert executed == "compiled"
        seen[name] = [e["node"]["familyName"] for e in body["data"]["caseload"]["edges"]]
    assert seen == {"team": ["Example-003"], "manager": ["Example-000", "Example-001", "Example-002", "Example-004"],
                    "other tenant": []}
    await admin_conn.execute(f"UPDATE {s}.team_member SET ended_on = current_date")
    body, _ = await both(client, plain, callers["team"].token, {"siteId": site}, admin_conn, tenant.schema)
    assert body["data"]["caseload"]["edges"] == []


@pytest.mark.parametrize(("variables", "executed"), [
    ({"first": 0}, None), ({"first": 101}, None), ({"after": "not-a-cursor"}, None), ({"first": "3"}, None),
    ({"siteId": "U2l0ZTpub3BlCg=="}, "compiled"),  # an unknown site filters to nothing, as in the resolver
    ({"after": "Y3Vyc29yOg==\x00"}, None),  # text with a control character: the one text check refuses it
])
async def test_refusals_are_the_resolvers_own(make_tenant: TenantFactory, login: CallerFactory,
                                               admin_conn: asyncpg.Connection, client: httpx.AsyncClient,
                                               plain: httpx.AsyncClient, variables: dict[str, Any],
                                               executed: str | None) -> None:
    tenant = await make_tenant()
    await seed(admin_conn, tenant.schema, "BSI", 2)
    site = to_global_id("Site", await admin_conn.fetchval(f'SELECT id FROM "{tenant.schema}".site WHERE code = $1',
                                                          "BSI"))
    pom = await login(Role.PRACTITIONER, tenant, service=Service.PRISON, sites=("BSI",))
    answers = []
    for c in (client, plain):
        response = await c.post("/graphql", json={"query": CASELOAD, "variables": {"siteId": site, **variables}},
                                headers={"Authorization": f"Bearer {pom.token}"})
        answers.append((response.status_code, response.json()))
        if c is client:
            assert response.headers.get("x-executed-by") == executed
    assert answers[0] == answers[1]


@pytest.mark.parametrize("role", [Role.PLATFORM_ADMIN, Role.NATIONAL_ANALYST])
async def test_roles_without_case_data_are_refused_as_before(login: CallerFactory, client: httpx.AsyncClient,
                                                             role: Role) -> None:
    caller = await login(role)
    site = to_global_id("Site", uuid.uuid4())
    response = await client.post("/graphql", json={"query": CASELOAD, "variables": {"siteId": site}},
                                 headers={"Authorization": f"Bearer {caller.token}"})
    assert response.json()["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    assert "x-executed-by" not in response.headers


async def test_a_page_costs_the_same_statements_whatever_its_size(
        make_tenant: TenantFactory, login: CallerFactory, admin_conn: asyncpg.Connection,
        client: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch) -> None:
    tenant = await make_tenant()
    await seed(admin_conn, tenant.schema, "BSI", 12)
    site = to_global_id("Site", await admin_conn.fetchval(f'SELECT id FROM "{tenant.schema}".site WHERE code = $1',
                                                          "BSI"))
    pom = await login(Role.PRACTITIONER, tenant, service=Service.PRISON, sites=("BSI",))
    counts = count_statements(monkeypatch)
    for first in (2, 12):
        counts.clear()
        body = {"query": CASELOAD, "variables": {"siteId": site, "first": first}}
        response = await client.post("/graphql", json=body, headers={"Authorization": f"Bearer {pom.token}"})
        assert len(response.json()["data"]["caseload"]["edges"]) == first
        assert response.headers["x-executed-by"] == "compiled"
        assert counts == [1]  # the whole answer, the caller's scope worked out inside it


def test_every_published_query_compiles_or_says_why_not() -> None:
    from graphql import OperationDefinitionNode, OperationType, parse

    from service.api.trusted import published_operations
    from service.app.compiled.compiler import NotCompilable, compile_document
    from service.app.compiled.roots import ROOTS
    from service.app.schema import MODELS, schema

    for path in published_operations(PUBLISHED_OPERATIONS).values():
        text = path.read_text()
        operation = next(d for d in parse(text).definitions if isinstance(d, OperationDefinitionNode))
        if operation.operation is not OperationType.QUERY:
            continue
        says_why = any(line.startswith("# Not compiled") for line in text.splitlines())
        try:
            compile_document(text, schema._schema, ROOTS, MODELS)
        except NotCompilable:
            assert says_why, f"{path.name} neither compiles nor says why not"
        else:
            assert not says_why, f"{path.name} compiles but says it does not"


def test_every_compiled_statement_is_prepared_once_per_connection() -> None:
    """asyncpg prepares a statement once per connection (so PostgreSQL parses and plans it once) only up to a size;
    a compiled statement over it would be planned again on every request (the whole record was, at 22 KiB)."""
    from service.app.compiled.compiler import Page
    from service.app.compiled.executor import CompiledDocuments
    from service.app.schema import MODELS, schema
    from service.kernel.database import MAX_CACHEABLE_STATEMENT

    compiled = CompiledDocuments.load(PUBLISHED_OPERATIONS, schema._schema, MODELS).by_hash.values()
    assert {o.operation.name.value for o in compiled if o.operation.name} >= {"CaseloadPage", "YoungAdultRecord"}
    from service.kernel.visibility import Scope

    page = Page("SELECT id, 1 AS ord FROM young_adult", [None] * 12, 1, Scope(None))  # as many parameters as any root
    for operation in compiled:
        assert len(operation.statement(page).encode()) <= MAX_CACHEABLE_STATEMENT


async def test_the_record_reaches_each_row_once_for_its_audit_and_its_governing_site_once(
        make_tenant: TenantFactory, admin_conn: asyncpg.Connection) -> None:
    """The record's statement reads the young adult once for its answer and once for its audit (one walk down the
    relations, not a join path from the page for each of its twelve views), and its plan works the governing site
    out once for its two plan versions' four computed fields (not once per field, as it did when PostgreSQL pulled
    the shared subquery up and wrote it back at each use)."""
    import json

    from service.app.compiled.compiler import Caller, Page, compile_document
    from service.app.compiled.roots import ROOTS
    from service.app.schema import MODELS, schema

    def relations(plan: dict[str, Any]) -> list[str]:
        return [plan.get("Relation Name", ""), *(r for p in plan.get("Plans", ()) for r in relations(p))]

    tenant = await make_tenant()
    text = (PUBLISHED_OPERATIONS / "practitioners" / "YoungAdultRecord.graphql").read_text()
    operation = compile_document(text, schema._schema, ROOTS, MODELS)
    statement = operation.statement(Page("SELECT ya.id, 1 AS ord FROM young_adult ya WHERE ya.id = ANY($1::uuid[])",
                                         [[uuid.uuid4()]], 1, Caller(None)))
    assert statement.count("JOIN young_adult") == 2
    async with admin_conn.transaction():
        await admin_conn.execute(f'SET LOCAL search_path = "{tenant.schema}"; '
                                 "SET LOCAL plan_cache_mode = force_generic_plan")
        (plan,) = json.loads(await admin_conn.fetchval(
            f"EXPLAIN (FORMAT JSON) {statement}", [uuid.uuid4()], "subject", "PRACTITIONER", "request",
            "YoungAdultRecord", "{}", clock.today(), None))
    assert relations(plan["Plan"]).count("site_transfer") == 1
    assert len(operation.computed) == 4


async def test_a_record_costs_the_same_round_trips_whatever_it_holds(
        make_tenant: TenantFactory, login: CallerFactory, admin_conn: asyncpg.Connection,
        client: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch) -> None:
    """The compiled record, every message sent to the server counted (as tests/api/test_lean_request.py counts a
    page's): the grant, the practice rules for the computed fields (read once however many versions show them, as
    the login role before the transaction), BEGIN (with the tenant's role and the plan mode), the answer (which works
    the caller's scope out itself), COMMIT; for a young adult with a plan of one version or two."""
    tenant = await make_tenant()
    await seed(admin_conn, tenant.schema, "BSI", 2)
    pom = await login(Role.PRACTITIONER, tenant, service=Service.PRISON, sites=("BSI",))
    sent = count_messages(monkeypatch)
    rows = await admin_conn.fetch(f'SELECT id FROM "{tenant.schema}".young_adult ORDER BY family_name')
    answers = []
    for row in (*rows, *rows):  # the first requests prepare their statements; the next ones reuse them
        sent.clear()
        body = {"query": document("YoungAdultRecord"), "variables": {"id": to_global_id("YoungAdult", row["id"])}}
        response = await client.post("/graphql", json=body, headers={"Authorization": f"Bearer {pom.token}"})
        assert response.headers["x-executed-by"] == "compiled"
        assert response.json()["data"]["youngAdult"]["plan"]["currentVersion"]["requiredServices"]
        answers.append(list(sent))
    assert answers[2] == answers[3] == ["SELECT", "BEGIN;", "WITH", "COMMIT;"]


async def test_the_rules_read_with_the_grant_are_those_in_force_on_the_day(
        make_tenant: TenantFactory, login: CallerFactory, admin_conn: asyncpg.Connection, settings: Settings,
        client: httpx.AsyncClient, plain: httpx.AsyncClient, client_with: ClientFactory,
        monkeypatch: pytest.MonkeyPatch) -> None:
    """The record's computed fields need the practice rules, which ride in the grant lookup's statement
    (service.app.auth.RULES): the rules in force today at the young adult's site, a site's change over the
    tenant's, nothing dated tomorrow; the same answer as the resolvers, which read them on their own, and the same
    with the rate limits taken in that statement too."""
    limited = await client_with(rate_limit_principal=100, rate_limit_tenant=100)
    tenant = await make_tenant()
    await seed(admin_conn, tenant.schema, "BSI", 1)
    today = clock.today(settings.time_zone)
    for site, value, day in ((None, '["PROBATION", "PRISON"]', today - dt.timedelta(days=3)),
                             ("BSI", '["LEAVING_CARE", "PRISON"]', today),
                             ("BSI", '["PROBATION"]', today + dt.timedelta(days=1)),
                             (None, '["LEAVING_CARE"]', today + dt.timedelta(days=1))):
        await admin_conn.execute(
            "INSERT INTO control.rule_change (batch_id, tenant_id, site_code, rule, value, effective_from, "
            "author_subject, reason) VALUES (gen_random_uuid(), $1, $2, 'plan_signoff_services', $3::jsonb, $4, "
            "'test', 'test')", tenant.id, site, value, day)
    young_adult = await admin_conn.fetchval(f'SELECT id FROM "{tenant.schema}".young_adult')
    pom = await login(Role.PRACTITIONER, tenant, service=Service.PRISON, sites=("BSI",))
    body = {"query": document("YoungAdultRecord"), "variables": {"id": to_global_id("YoungAdult", young_adult)}}
    sent = count_messages(monkeypatch)
    answers = []
    for c in (client, plain, limited):
        sent.clear()
        response = await c.post("/graphql", json=body, headers={"Authorization": f"Bearer {pom.token}"})
        answers.append(response.json())
        if c is not plain:
            assert response.headers["x-executed-by"] == "compiled"
            assert sent.count("SELECT") == 1  # the grant, with the rules read in its statement
            assert sent[0] == "SELECT"
    version = answers[0]["data"]["youngAdult"]["plan"]["currentVersion"]
    assert version["requiredServices"] == ["PRISON", "LEAVING_CARE"]  # in sign-off order
    assert answers[0] == answers[1] == answers[2]


async def test_the_record_runs_with_the_plan_prepared_once(
        make_tenant: TenantFactory, login: CallerFactory, admin_conn: asyncpg.Connection, db: Database,
        client: httpx.AsyncClient) -> None:
    """RootField.generic_plan: the record's statement is planned once per connection, not on every execution
    (PostgreSQL's own choice, a custom plan each time, costs more to plan than to run). The tests' pool has one
    connection, whose prepared statements say which plans they ran."""
    tenant = await make_tenant()
    await seed(admin_conn, tenant.schema, "BSI", 2)
    pom = await login(Role.PRACTITIONER, tenant, service=Service.PRISON, sites=("BSI",))
    rows = await admin_conn.fetch(f'SELECT id FROM "{tenant.schema}".young_adult ORDER BY family_name')
    pool = await db.open_pool()
    assert pool.get_size() == 1

    async def plans() -> tuple[int, int]:
        # Every tenant's record statement (a tenant may have its own: executor.OwnStatements), summed: only this
        # test's tenant runs one in between.
        async with pool.acquire() as conn:
            found = await conn.fetch(
                "SELECT generic_plans, custom_plans FROM pg_prepared_statements "
                "WHERE statement LIKE 'WITH %' AND statement LIKE '%licence_condition%'")
        return sum(r["generic_plans"] for r in found), sum(r["custom_plans"] for r in found)

    counts = []
    for requests in (rows[:1], (*rows, *rows, *rows)):  # the first prepares the statement
        for row in requests:
            body = {"query": document("YoungAdultRecord"),
                    "variables": {"id": to_global_id("YoungAdult", row["id"])}}
            response = await client.post("/graphql", json=body, headers={"Authorization": f"Bearer {pom.token}"})
            assert response.headers["x-executed-by"] == "compiled"
        counts.append(await plans())
    assert (counts[1][0] - counts[0][0], counts[1][1] - counts[0][1]) == (6, 0)


@pytest.mark.parametrize("text", ['{"\x01" : 0, "inputs" : {"site" : null}}',
                                  '{"\\u0001" : 0, "inputs" : {"site" : null}}'])
async def test_text_written_like_a_computed_fields_stand_in_is_shown_as_written(
        make_tenant: TenantFactory, login: CallerFactory, admin_conn: asyncpg.Connection,
        client: httpx.AsyncClient, plain: httpx.AsyncClient, text: str) -> None:
    """The executor finds the record's computed fields in the statement's JSON by their stand-ins
    (compiler.COMPUTED_MARK); a goal whose text is written like one is shown as written, and the whole answer is
    the ordinary executor's."""
    tenant = await make_tenant()
    await seed(admin_conn, tenant.schema, "BSI", 2)
    s = f'"{tenant.schema}"'
    await admin_conn.execute(f"UPDATE {s}.plan_goal SET description = $1", text)
    young_adult = await admin_conn.fetchval(f"SELECT id FROM {s}.young_adult ORDER BY family_name DESC LIMIT 1")
    pom = await login(Role.PRACTITIONER, tenant, service=Service.PRISON, sites=("BSI",))
    body = {"query": document("YoungAdultRecord"), "variables": {"id": to_global_id("YoungAdult", young_adult)}}
    answers = []
    for c in (client, plain):
        response = await c.post("/graphql", json=body, headers={"Authorization": f"Bearer {pom.token}"})
        answers.append(response.json())
    version = answers[0]["data"]["youngAdult"]["plan"]["currentVersion"]
    assert version["goals"][0]["description"] == text
    assert version["requiredServices"] == ["PRISON", "PROBATION", "LEAVING_CARE"]
    assert answers[0] == answers[1]


COMMITMENTS = document("NetworkCommitmentsForYoungAdult")


@pytest.mark.parametrize(("variables", "executed"), [
    ({}, "compiled"),
    ({"goalLineageId": "3f1c2a10-0000-4000-8000-000000000000"}, "compiled"),  # no such lineage: an empty list
    ({"youngAdultId": "bm90LWFuLWlk"}, None),  # not a global id
    ({"youngAdultId": to_global_id("Site", uuid.uuid4())}, None),  # an id of another type
    ({"youngAdultId": to_global_id("YoungAdult", uuid.uuid4())}, None),  # no such young adult
    ({"restricted": True}, None),  # a young adult the caller may not see
    ({"goalLineageId": "not-a-uuid"}, None),
    ({"actionLineageId": "x\x00"}, None),
])
async def test_roots_by_young_adult_refuse_as_the_resolvers_do(
        make_tenant: TenantFactory, login: CallerFactory, admin_conn: asyncpg.Connection, client: httpx.AsyncClient,
        plain: httpx.AsyncClient, variables: dict[str, Any], executed: str | None) -> None:
    tenant = await make_tenant()
    await seed(admin_conn, tenant.schema, "BSI", 3, restricted=2)
    s = f'"{tenant.schema}"'
    rows = await admin_conn.fetch(f"SELECT id, access_restricted FROM {s}.young_adult ORDER BY family_name")
    await admin_conn.execute(f"INSERT INTO {s}.network_commitment (member_id, goal_lineage_id, description) "
                             f"SELECT id, gen_random_uuid(), 'Sundays' FROM {s}.network_member")
    pom = await login(Role.PRACTITIONER, tenant, service=Service.PRISON, sites=("BSI",))
    chosen = rows[2 if variables.pop("restricted", False) else 1]["id"]
    body = {"youngAdultId": to_global_id("YoungAdult", chosen), **variables}
    answers = []
    for c in (client, plain):
        response = await c.post("/graphql", json={"query": COMMITMENTS, "variables": body},
                                headers={"Authorization": f"Bearer {pom.token}"})
        answers.append((response.status_code, response.json()))
        if c is client:
            assert response.headers.get("x-executed-by") == executed
    assert answers[0] == answers[1]
    if executed is None:
        assert answers[0][1]["errors"]


async def test_a_root_by_young_adult_costs_the_same_statements_whatever_its_size(
        make_tenant: TenantFactory, login: CallerFactory, admin_conn: asyncpg.Connection,
        client: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch) -> None:
    tenant = await make_tenant()
    await seed(admin_conn, tenant.schema, "BSI", 4)  # young adults with 0, 1, 2 and 3 network members
    s = f'"{tenant.schema}"'
    young_adults = [r["id"] for r in await admin_conn.fetch(f"SELECT id FROM {s}.young_adult ORDER BY family_name")]
    pom = await login(Role.PRACTITIONER, tenant, service=Service.PRISON, sites=("BSI",))
    counts = count_statements(monkeypatch)
    for i in (1, 3):
        counts.clear()
        body = {"query": document("NetworkMembers"),
                "variables": {"youngAdultId": to_global_id("YoungAdult", young_adults[i])}}
        response = await client.post("/graphql", json=body, headers={"Authorization": f"Bearer {pom.token}"})
        assert len(response.json()["data"]["networkMembers"]) == i
        assert response.headers["x-executed-by"] == "compiled"
        assert counts == [3]  # the caller's scope, the young adult's visibility, then the whole answer
