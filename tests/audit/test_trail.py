"""The audit trail records views and changes, and the application cannot rewrite it."""

from __future__ import annotations

import datetime as dt
import logging

import asyncpg
import pytest
from graphql import GraphQLObjectType

from service.api.audited import undeclared
from service.api.relay import expect_id, to_global_id
from service.app.asgi import create_app
from service.app.schema import MODELS, schema
from service.audit import repository
from service.kernel.database import Database
from service.kernel.principal import Role, Service
from service.kernel.tenancy import tenant_transaction
from tests.audit_rows import by_type
from tests.conftest import CallerFactory, TenantFactory

CREATE = "mutation($i: CreateYoungAdultInput!) { createYoungAdult(input: $i) { youngAdult { id } errors { code } } }"
UPDATE = "mutation($i: UpdateYoungAdultInput!) { updateYoungAdult(input: $i) { youngAdult { id } errors { code } } }"
PAGE = "query($s: ID!) { youngAdults(siteId: $s, first: 10) { edges { node { id } } } }"


async def events(admin: asyncpg.Connection, schema: str) -> list[tuple[str, str, list[str], str]]:
    rows = await admin.fetch(f'SELECT action, actor_role, fields, subject_type FROM "{schema}".audit_event, '
                             "unnest(subject_types) WITH ORDINALITY AS u (subject_type, n) ORDER BY id, n")
    return [(r["action"], r["actor_role"], list(r["fields"]), r["subject_type"]) for r in rows]


async def test_changes_and_views_are_recorded_and_refusals_are_not(
        make_tenant: TenantFactory, login: CallerFactory, admin_conn: asyncpg.Connection) -> None:
    tenant = await make_tenant()
    pom = await login(Role.PRACTITIONER, tenant, service=Service.PRISON, sites=("BSI",))
    site = next(s["id"] for s in (await pom.data("{ sites { id code } }"))["sites"] if s["code"] == "BSI")
    person = {"siteId": site, "givenName": "Sam", "familyName": "Example-Audit", "dateOfBirth": "2003-01-02",
              "careStatus": "RELEVANT"}
    created = (await pom.data(CREATE, {"i": person}))["createYoungAdult"]["youngAdult"]
    refused = await pom.data(UPDATE, {"i": {"id": created["id"], "version": 7, "familyName": "Example-Nope"}})
    assert refused["updateYoungAdult"]["errors"][0]["code"] == "STALE_VERSION"
    await pom.data(UPDATE, {"i": {"id": created["id"], "version": 1, "familyName": "Example-Changed"}})
    await pom.data(PAGE, {"s": site})

    assert await events(admin_conn, tenant.schema) == [
        ("CREATE", "PRACTITIONER",
         ["care_status", "date_of_birth", "entitlement_end_age", "family_name", "given_name"], "YoungAdult"),
        ("CREATE", "PRACTITIONER", ["identified_on", "site_id"], "Enrolment"),
        ("ALTER", "PRACTITIONER", ["family_name"], "YoungAdult"),
        ("CONSULT", "PRACTITIONER", [], "YoungAdult"),
    ]


async def test_runtime_role_cannot_update_or_delete_audit_rows(db: Database, make_tenant: TenantFactory,
                                                               login: CallerFactory) -> None:
    tenant = await make_tenant()
    admin = await login(Role.TENANT_ADMIN, tenant)
    site = (await admin.data("{ sites { id } }"))["sites"][0]["id"]
    await admin.data(PAGE, {"s": site})
    await admin.data(CREATE, {"i": {"siteId": site, "givenName": "A", "familyName": "Example-B",
                                    "dateOfBirth": "2002-02-02", "careStatus": "ELIGIBLE"}})
    assert db.pool is not None
    for statement in ("UPDATE audit_event SET actor_subject = 'someone-else'", "DELETE FROM audit_event",
                      "TRUNCATE audit_event"):
        async with tenant_transaction(db.pool, tenant) as conn:
            assert await conn.fetchval("SELECT count(*) FROM audit_event") == 2  # the young adult, the enrolment
            with pytest.raises(asyncpg.InsufficientPrivilegeError):
                await conn.execute(statement)


async def test_a_page_is_one_event_per_type_listing_its_subjects_and_the_operation(
        make_tenant: TenantFactory, login: CallerFactory, admin_conn: asyncpg.Connection) -> None:
    tenant = await make_tenant()
    pom = await login(Role.PRACTITIONER, tenant, service=Service.PRISON, sites=("BSI",))
    site = next(s["id"] for s in (await pom.data("{ sites { id code } }"))["sites"] if s["code"] == "BSI")
    people = [(await pom.data(CREATE, {"i": {"siteId": site, "givenName": "Sam", "familyName": f"Example-{i}",
                                             "dateOfBirth": "2003-01-02", "careStatus": "RELEVANT"}}))
              ["createYoungAdult"]["youngAdult"]["id"] for i in range(3)]
    await pom.data("query SitePage($s: ID!) { youngAdults(siteId: $s, first: 10) { edges { node { id } } } }",
                   {"s": site})
    rows = await admin_conn.fetch(
        f'SELECT subject_ids, young_adult_ids, operation FROM "{tenant.schema}".audit_event '
        "WHERE action = 'CONSULT'")
    assert len(rows) == 1  # three records shown, one event
    assert rows[0]["operation"] == "SitePage"
    assert rows[0]["subject_ids"] == rows[0]["young_adult_ids"] == sorted(rows[0]["subject_ids"])
    assert {to_global_id("YoungAdult", i) for i in rows[0]["subject_ids"]} == set(people)


async def test_both_questions_are_one_indexed_query(db: Database, make_tenant: TenantFactory,
                                                   login: CallerFactory) -> None:
    """Who saw young adult X (GIN on young_adult_ids), what did user Y see between two instants (actor, time)."""
    tenant = await make_tenant()
    pom = await login(Role.PRACTITIONER, tenant, service=Service.PRISON, sites=("BSI",), subject="pom-1")
    other = await login(Role.PRACTITIONER, tenant, service=Service.PRISON, sites=("BSI",), subject="pom-2")
    site = next(s["id"] for s in (await pom.data("{ sites { id code } }"))["sites"] if s["code"] == "BSI")
    ids = [(await pom.data(CREATE, {"i": {"siteId": site, "givenName": "Sam", "familyName": f"Example-{i}",
                                          "dateOfBirth": "2003-01-02", "careStatus": "RELEVANT"}}))
           ["createYoungAdult"]["youngAdult"]["id"] for i in range(2)]
    await other.data("query SitePage($s: ID!) { youngAdults(siteId: $s, first: 10) { edges { node { id } } } }",
                     {"s": site})
    raw = [expect_id(i, "YoungAdult", "id") for i in ids]
    assert db.pool is not None
    now = dt.datetime.now(dt.UTC)
    who_saw = repository.events_query(repository.EventFilter(young_adult_id=raw[0]), None, 50)
    what_seen = repository.events_query(repository.EventFilter(actor="pom-2", since=now - dt.timedelta(hours=1),
                                                               until=now), None, 50)
    record = repository.events_query(repository.EventFilter(subject_id=raw[1]), None, 50)
    async with tenant_transaction(db.pool, tenant) as conn:
        seen = await conn.fetch(who_saw[0], *who_saw[1])
        assert [(r["action"], r["subject_type"], r["actor_subject"], r["operation"]) for r in seen] == [
            ("CONSULT", "YoungAdult", "pom-2", "SitePage"), ("CREATE", "Enrolment", "pom-1", None),
            ("CREATE", "YoungAdult", "pom-1", None)]
        by_other = await conn.fetch(what_seen[0], *what_seen[1])
        assert sorted(r["subject_id"] for r in by_other) == sorted(raw)  # type: ignore[type-var]
        earlier = repository.events_query(repository.EventFilter(
            actor="pom-2", since=now - dt.timedelta(hours=2), until=now - dt.timedelta(hours=1)), None, 50)
        assert await conn.fetch(earlier[0], *earlier[1]) == []
        about = await conn.fetch(record[0], *record[1])
        assert [(r["action"], r["subject_type"]) for r in about] == [("CONSULT", "YoungAdult"),
                                                                    ("CREATE", "YoungAdult")]
        # Each question is answered from its index (sequential scans off, so a tiny table still shows the plan).
        await conn.execute("SET LOCAL enable_seqscan = off")
        # (A user between two instants may be served by (actor, time) or by (time, id), as the planner judges.)
        for (sql, args), indexes in ((who_saw, ("audit_event_young_adults",)),
                                     (what_seen, ("audit_event_actor", "audit_event_occurred")),
                                     (record, ("audit_event_subjects",))):
            plan = "\n".join(r[0] for r in await conn.fetch("EXPLAIN " + sql, *args))
            assert any(index in plan for index in indexes), plan


async def test_a_type_is_audited_alike_whichever_field_shows_it(
        make_tenant: TenantFactory, login: CallerFactory, admin_conn: asyncpg.Connection) -> None:
    """The declared policy, not the resolver, decides: an enrolment shown through `YoungAdult.enrolments` is
    recorded as through `node()` (it was not, before declarations)."""
    tenant = await make_tenant()
    pom = await login(Role.PRACTITIONER, tenant, service=Service.PRISON, sites=("BSI",))
    site = next(s["id"] for s in (await pom.data("{ sites { id code } }"))["sites"] if s["code"] == "BSI")
    ya = (await pom.data(CREATE, {"i": {"siteId": site, "givenName": "Sam", "familyName": "Example",
                                        "dateOfBirth": "2003-01-02", "careStatus": "RELEVANT"}}
                         ))["createYoungAdult"]["youngAdult"]["id"]
    listed = await pom.data("query Listed($id: ID!) { youngAdult(id: $id) { enrolments { id } } }", {"id": ya})
    enrolment = listed["youngAdult"]["enrolments"][0]["id"]
    await pom.data("query ByNode($id: ID!) { node(id: $id) { id } }", {"id": enrolment})
    rows = await admin_conn.fetch(
        f"SELECT operation, subject_ids FROM {by_type(tenant.schema)} "
        "WHERE action = 'CONSULT' AND subject_type = 'Enrolment' ORDER BY id")
    assert [(r["operation"], [to_global_id("Enrolment", i) for i in r["subject_ids"]]) for r in rows] == [
        ("Listed", [enrolment]), ("ByNode", [enrolment])]


def test_declarations_name_real_fields_and_the_rest_is_listed() -> None:
    """Every declared type and field exists in the schema (nothing declared and unused), and what has no SQL is
    what the start-up line names."""
    graphql_schema = schema._schema
    for model in MODELS.values():
        graphql_type = graphql_schema.get_type(model.name)
        assert isinstance(graphql_type, GraphQLObjectType), model.name
        for name in (*model.fields, *model.disclosed, *model.consulted_fields):
            assert name in graphql_type.fields, f"{model.name}.{name}"
    listed = undeclared(graphql_schema, MODELS)
    assert {"AuditExport", "YoungAdult.dueItems", "YoungAdultMoves", "NetworkMeasures"} <= set(listed)
    assert not {"AuditEvent", "YoungAdult", "YoungAdult.givenName", "Site", "PlanAction.dueOn", "CustodyEpisode",
                "YoungAdult.timeline", "Practitioner", "PlanVersion.requiredServices", "NetworkMember.phone",
                "NetworkMember.contactDetailsVisible"} & set(listed)


async def test_goals_shown_under_their_version_are_covered_by_its_event(
        make_tenant: TenantFactory, login: CallerFactory, admin_conn: asyncpg.Connection) -> None:
    """A plan version's goals and actions are recorded by the version's CONSULT when listed under it, and as
    themselves when reached directly."""
    tenant = await make_tenant()
    s = f'"{tenant.schema}"'
    ya = await admin_conn.fetchval(f"INSERT INTO {s}.young_adult (given_name, family_name, date_of_birth, "
                                   "care_status) VALUES ('Sam', 'Example', '2003-01-02', 'RELEVANT') RETURNING id")
    plan = await admin_conn.fetchval(f"INSERT INTO {s}.integrated_plan (young_adult_id) VALUES ($1) RETURNING id", ya)
    version = await admin_conn.fetchval(f"INSERT INTO {s}.plan_version (plan_id, number, status, created_by) "
                                        "VALUES ($1, 1, 'DRAFT', 'x') RETURNING id", plan)
    goal = await admin_conn.fetchval(f"INSERT INTO {s}.plan_goal (plan_version_id, pathway, description, position) "
                                     "VALUES ($1, 'HEALTH', 'A goal', 1) RETURNING id", version)
    admin = await login(Role.TENANT_ADMIN, tenant)
    listed = await admin.data("query Listed($id: ID!) { youngAdult(id: $id) { plan { currentVersion { "
                              "goals { id actions { id } } } } } }", {"id": to_global_id("YoungAdult", ya)})
    assert listed["youngAdult"]["plan"]["currentVersion"]["goals"][0]["id"] == to_global_id("PlanGoal", goal)
    await admin.data("query Direct($id: ID!) { node(id: $id) { id } }", {"id": to_global_id("PlanGoal", goal)})
    rows = await admin_conn.fetch(f"SELECT operation, subject_type, subject_ids FROM {by_type(tenant.schema)} "
                                  "WHERE action = 'CONSULT' ORDER BY id, part")
    assert sorted((r["operation"], r["subject_type"], r["subject_ids"]) for r in rows) == [  # one event per request
        ("Direct", "PlanGoal", [goal]), ("Listed", "IntegratedPlan", [plan]), ("Listed", "PlanVersion", [version]),
        ("Listed", "YoungAdult", [ya])]


def test_start_up_names_what_has_no_sql_in_one_line(db: Database, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.INFO, logger="service.app.asgi"):
        create_app(db)
    lines = [r.getMessage() for r in caplog.records if "no SQL declared" in r.getMessage()]
    assert len(lines) == 1
    assert "YoungAdult.dueItems" in lines[0]
    assert "NetworkMeasures" in lines[0]
    assert "NetworkMember" not in lines[0]  # its need-to-know fields are declared, and compiled
