"""The one request path (issue 12): each defect the two executors, the four ways to the database and the server's
local date produced, reproduced; and the unit of work's promises — one connection, all or nothing, one day."""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from typing import Any

import asyncpg
import httpx
import pytest

from service.api.relay import to_global_id
from service.kernel import clock
from service.kernel.database import Database
from service.kernel.principal import Role, Service
from tests.api.test_compiled import seed
from tests.conftest import CallerFactory, ClientFactory, TenantFactory
from tests.operations import document

CASELOAD = document("CaseloadPage")
RECORD = """query Record($id: ID!) {
  youngAdult(id: $id) { id givenName plan { currentVersion { number goals { description } } } }
}"""
CHANGE = """mutation Change($input: ChangePracticeRulesInput!) {
  changePracticeRules(input: $input) { batchId errors { code field message } }
}"""
HISTORY = "{ practiceRuleHistory(rule: \"plan_review_interval_weeks\") { edges { node { rule value } } } }"


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def change(value: int) -> dict[str, Any]:
    return {"input": {"reason": "Partnership board decision",
                      "changes": [{"rule": "plan_review_interval_weeks", "value": value}]}}


async def site_id(admin: asyncpg.Connection, schema: str, code: str) -> str:
    return to_global_id("Site", await admin.fetchval(f'SELECT id FROM "{schema}".site WHERE code = $1', code))


async def test_a_compiled_statement_that_times_out_answers_timeout_not_a_bare_500(
        client_with: ClientFactory, make_tenant: TenantFactory, login: CallerFactory,
        admin_conn: asyncpg.Connection) -> None:
    client = await client_with(statement_timeout_ms=300)
    tenant = await make_tenant()
    await seed(admin_conn, tenant.schema, "BSI", 3)
    caller = await login(Role.PRACTITIONER, tenant, service=Service.PRISON, sites=("BSI",))
    variables = {"siteId": await site_id(admin_conn, tenant.schema, "BSI"), "first": 10}
    async with admin_conn.transaction():
        await admin_conn.execute(f'LOCK TABLE "{tenant.schema}".plan_goal IN ACCESS EXCLUSIVE MODE')
        response = await asyncio.wait_for(client.post(
            "/graphql", json={"query": CASELOAD, "variables": variables}, headers=bearer(caller.token)), timeout=30)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["data"] is None
    assert body["errors"][0]["extensions"] == {"code": "TIMEOUT"}
    after = await client.post("/graphql", json={"query": CASELOAD, "variables": variables},
                              headers=bearer(caller.token))
    assert after.headers["x-executed-by"] == "compiled"
    assert "errors" not in after.json()


async def test_a_resolver_statement_that_fails_after_a_consult_answers_timeout_and_commits_nothing(
        client_with: ClientFactory, make_tenant: TenantFactory, login: CallerFactory,
        admin_conn: asyncpg.Connection, caplog: pytest.LogCaptureFixture) -> None:
    client = await client_with(statement_timeout_ms=300)
    tenant = await make_tenant()
    await seed(admin_conn, tenant.schema, "BSI", 1)
    ya = await admin_conn.fetchval(f'SELECT id FROM "{tenant.schema}".young_adult')
    caller = await login(Role.TENANT_ADMIN, tenant)
    before = await admin_conn.fetchval(f'SELECT count(*) FROM "{tenant.schema}".audit_event')
    caplog.set_level(logging.INFO)
    async with admin_conn.transaction():
        # The young adult is read (and recorded as consulted), then the plan's goals wait for the lock.
        await admin_conn.execute(f'LOCK TABLE "{tenant.schema}".plan_goal IN ACCESS EXCLUSIVE MODE')
        response = await asyncio.wait_for(client.post(
            "/graphql", json={"query": RECORD, "variables": {"id": to_global_id("YoungAdult", ya)}},
            headers=bearer(caller.token)), timeout=30)
    body = response.json()
    assert body["data"] is None, body
    assert [e["extensions"]["code"] for e in body["errors"]] == ["TIMEOUT"], body
    # Nothing was shown, so nothing is recorded, and no commit was tried on the failed transaction.
    assert await admin_conn.fetchval(f'SELECT count(*) FROM "{tenant.schema}".audit_event') == before
    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert "InFailedSQLTransaction" not in logged
    assert "unexpected error" not in logged


async def test_rule_changes_answer_with_a_pool_of_one_connection_and_under_concurrency(
        client_with: ClientFactory, make_tenant: TenantFactory, login: CallerFactory) -> None:
    tenant = await make_tenant()
    admin = await login(Role.TENANT_ADMIN, tenant)
    one = await client_with(pool_min_size=1, pool_max_size=1)
    response = await asyncio.wait_for(one.post("/graphql", json={"query": CHANGE, "variables": change(8)},
                                               headers=bearer(admin.token)), timeout=30)
    assert response.json()["data"]["changePracticeRules"]["errors"] == []
    default = await client_with()
    answers = await asyncio.wait_for(asyncio.gather(*(
        default.post("/graphql", json={"query": CHANGE, "variables": change(4 + i)}, headers=bearer(admin.token))
        for i in range(10))), timeout=60)
    assert [a.json()["data"]["changePracticeRules"]["errors"] for a in answers] == [[]] * 10


async def test_a_rule_change_is_undone_when_the_rest_of_its_mutation_fails(
        client: httpx.AsyncClient, make_tenant: TenantFactory, login: CallerFactory) -> None:
    tenant = await make_tenant()
    admin = await login(Role.TENANT_ADMIN, tenant)
    # The second field is refused (a tenant administrator may not create tenants): the whole mutation fails.
    both = ("mutation Both($input: ChangePracticeRulesInput!) {"
            " changePracticeRules(input: $input) { batchId errors { code } }"
            " createTenant(input: {slug: \"never-made\", name: \"Never\", kind: REGION}) { errors { code } } }")
    body = (await admin.client.post("/graphql", json={"query": both, "variables": change(9)},
                                    headers=bearer(admin.token))).json()
    assert [e["extensions"]["code"] for e in body["errors"]] == ["FORBIDDEN"]
    assert (await admin.data(HISTORY))["practiceRuleHistory"]["edges"] == []


async def test_the_csv_export_goes_through_the_one_authentication_step(
        client_with: ClientFactory, login: CallerFactory) -> None:
    client = await client_with(rate_limit_principal=1)
    analyst = await login(Role.NATIONAL_ANALYST)
    url = "/reporting/export.csv?metric=referrals&grain=QUARTER&periodStart=2024-01-01"
    missing = await client.get(url)
    assert missing.status_code == 401
    assert missing.json()["errors"][0]["extensions"] == {"code": "UNAUTHENTICATED"}
    first = await client.get(url, headers=bearer(analyst.token))
    assert first.status_code == 200, first.text
    second = await client.get(url, headers=bearer(analyst.token))
    assert second.status_code == 429
    assert int(second.headers["retry-after"]) >= 1
    assert second.json()["errors"][0]["extensions"] == {"code": "RATE_LIMITED"}
    unlimited = await client_with()
    bad = await unlimited.get("/reporting/export.csv?metric=referrals&grain=QUARTER&periodStart=x",
                                      headers=bearer(analyst.token))
    assert bad.status_code == 400
    assert bad.json()["errors"][0]["extensions"] == {"code": "INVALID", "field": "periodStart"}


async def test_a_sign_off_after_midnight_uk_time_is_dated_the_uk_day(
        make_tenant: TenantFactory, login: CallerFactory, admin_conn: asyncpg.Connection) -> None:
    tenant = await make_tenant()
    await seed(admin_conn, tenant.schema, "BSI", 1)
    s = f'"{tenant.schema}"'
    ya = await admin_conn.fetchval(f"SELECT id FROM {s}.young_adult")
    version = await admin_conn.fetchval(f"SELECT v.id FROM {s}.plan_version v JOIN {s}.integrated_plan p "
                                        "ON p.id = v.plan_id WHERE p.young_adult_id = $1", ya)
    # 00:30 on 16 June in London is 23:30 on 15 June in UTC.
    await admin_conn.execute(f"INSERT INTO {s}.plan_signoff (plan_version_id, service, signed_by, signed_at) "
                             "VALUES ($1, 'PRISON', 'x', '2026-06-15 23:30:00+00')", version)
    admin = await login(Role.TENANT_ADMIN, tenant)
    timeline = (await admin.data("query T($id: ID!) { youngAdult(id: $id) { timeline { occurredOn kind } } }",
                                 {"id": to_global_id("YoungAdult", ya)}))["youngAdult"]["timeline"]
    assert {"occurredOn": "2026-06-16", "kind": "PLAN_SIGNED_OFF"} in timeline


async def test_today_is_read_once_per_request(make_tenant: TenantFactory, login: CallerFactory,
                                              admin_conn: asyncpg.Connection, monkeypatch: pytest.MonkeyPatch,
                                              ) -> None:
    tenant = await make_tenant()
    admin = await login(Role.TENANT_ADMIN, tenant)
    bsi = await site_id(admin_conn, tenant.schema, "BSI")
    calls: list[str] = []
    start = dt.date(2026, 3, 28)

    def ticking(zone: str = clock.DEFAULT_ZONE) -> dt.date:
        calls.append(zone)  # each call is a day later, as if every read crossed midnight
        return start + dt.timedelta(days=len(calls))

    monkeypatch.setattr(clock, "today", ticking)
    data = await admin.data("query Two($s: ID!) { a: siteCompliance(siteId: $s) { on } "
                            "b: siteCompliance(siteId: $s) { on } }", {"s": bsi})
    assert data["a"]["on"] == data["b"]["on"] == "2026-03-29"
    assert calls == ["Europe/London"]


async def test_a_root_field_failing_beside_others_leaves_every_connection_clean(
        client: httpx.AsyncClient, make_tenant: TenantFactory, login: CallerFactory,
        admin_conn: asyncpg.Connection, db: Database) -> None:
    tenant = await make_tenant()
    await seed(admin_conn, tenant.schema, "BSI", 20)
    admin = await login(Role.TENANT_ADMIN, tenant)
    # `tenants` (platform administrators only, non-null) fails at once, nulling the whole answer, while `caseload`
    # is still making its statements: GraphQL stops waiting for it, and the request ends under it.
    both = ("{ tenants { slug } caseload(first: 100) { edges { node { id enrolments { status } "
            "plan { currentVersion { goals { actions { id } } } } } } } }")
    reported: list[str] = []
    loop = asyncio.get_running_loop()
    previous = loop.get_exception_handler()
    loop.set_exception_handler(lambda _loop, context: reported.append(str(context.get("message"))))
    try:
        for _ in range(5):
            body = await admin(both)
            assert body["data"] is None
            assert [e["extensions"]["code"] for e in body["errors"]] == ["FORBIDDEN"]
        await asyncio.sleep(0.5)  # let the abandoned field finish
    finally:
        loop.set_exception_handler(previous)
    assert not [m for m in reported if "active transaction" in m], reported
    assert db.pool is not None
    assert db.pool.get_idle_size() == db.pool.get_size()
    assert "errors" not in await admin("{ sites { code } }")


async def test_a_request_acquires_one_connection_once(make_tenant: TenantFactory, login: CallerFactory,
                                                      db: Database, monkeypatch: pytest.MonkeyPatch) -> None:
    tenant = await make_tenant()
    admin = await login(Role.TENANT_ADMIN, tenant)
    acquired: list[int] = []
    original = asyncpg.pool.Pool.acquire

    def counting_acquire(pool: asyncpg.Pool, *args: Any, **kwargs: Any) -> Any:
        if pool is db.pool:
            acquired.append(1)
        return original(pool, *args, **kwargs)

    monkeypatch.setattr(asyncpg.pool.Pool, "acquire", counting_acquire)
    # The grant lookup, the rate limit, the tenant's rows and the control plane's rules: one acquire in all.
    assert "errors" not in await admin("{ me { subject } sites { code } practiceRules { rule } }")
    assert len(acquired) == 1


async def test_a_document_is_parsed_and_validated_once_and_answers_the_same_each_time(
        make_tenant: TenantFactory, login: CallerFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    """The ordinary executor remembers a text's parse and validation (service.api.extensions.PreparedDocuments):
    the second request of the same text neither parses nor validates it again, and answers exactly as the first,
    errors included; a document over the limits is still refused by them, not validated."""
    import graphql
    from strawberry.schema.schema import validate_document

    from service.api import extensions

    parses: list[str] = []
    validations: list[str] = []
    parse, validate = graphql.parse, validate_document

    def counted_parse(source: Any, **options: Any) -> Any:
        parses.append(str(source))
        return parse(source, **options)

    def counted_validate(schema: Any, document: Any, rules: Any) -> Any:
        validations.append(graphql.print_ast(document))
        return validate(schema, document, rules)

    monkeypatch.setattr(extensions, "parse", counted_parse)
    monkeypatch.setattr(extensions, "validate_document", counted_validate)
    tenant = await make_tenant()
    admin = await login(Role.TENANT_ADMIN, tenant)
    marker = f"# {tenant.slug}\n"  # a text no earlier test sent
    good = marker + "{ sites { code } }"
    bad = marker + "{ sites { code nope } }"
    first, second = [(await admin.post(good)).json() for _ in range(2)]
    assert first == second
    assert first["data"]["sites"]
    wrong = [(await admin.post(bad)).json() for _ in range(2)]
    assert wrong[0] == wrong[1]
    assert wrong[0]["data"] is None
    assert "nope" in wrong[0]["errors"][0]["message"]
    assert parses == [good, bad]
    assert len(validations) == 2
    deep = marker + "{ sites { code } " + "".join(f"a{i}: sites {{ code }} " for i in range(200)) + "}"
    refused = (await admin.post(deep)).json()
    assert refused["errors"][0]["extensions"]["code"] == "TOO_MANY_ALIASES"
    assert len(validations) == 2  # refused before validation
    broken = marker + "{ sites { code }"
    answers = [(await admin.post(broken)).json() for _ in range(2)]
    assert answers[0] == answers[1]
    assert "Syntax Error" in answers[0]["errors"][0]["message"]
