"""Every published practice-rule operation (graphql/operations) runs, as a tenant administrator would use it."""

from __future__ import annotations

import asyncio
import uuid
from datetime import timedelta

import asyncpg

from service.api.relay import to_global_id
from service.kernel import clock
from service.kernel.principal import Role
from tests.conftest import CallerFactory, ClientFactory, TenantFactory
from tests.operations import Operations

RULE_OPERATIONS = ("RuleCatalogue", "PracticeRules", "PracticeRuleHistory", "PreviewPracticeRuleChanges",
                   "ChangePracticeRules", "DueCaseload", "SiteCompliance")


async def test_every_rule_operation_runs(make_tenant: TenantFactory, login: CallerFactory,
                                         admin_conn: asyncpg.Connection) -> None:
    from tests.rules.cases import young_adult

    tenant = await make_tenant()
    admin = await login(Role.TENANT_ADMIN, tenant)
    ops = Operations()
    today = clock.today()
    await young_adult(admin_conn, tenant, "BSI", "Example-Ops", identified_on=today - timedelta(weeks=30),
                      consented_on=today - timedelta(weeks=28), reception=today - timedelta(weeks=30),
                      release_by=today + timedelta(weeks=40), reviews=[today - timedelta(weeks=10)],
                      consent_granted=today - timedelta(weeks=28))
    site = next(s["id"] for s in (await admin.data("{ sites { id code } }"))["sites"] if s["code"] == "BSI")

    catalogue = (await ops.data(admin, "RuleCatalogue"))["ruleCatalogue"]
    assert "plan_review_interval_weeks" in {r["name"] for r in catalogue}
    change = {"reason": "Brinsford reviews every 6 weeks", "changes": [
        {"rule": "plan_review_interval_weeks", "siteCode": "BSI", "value": 6}]}
    preview = (await ops.data(admin, "PreviewPracticeRuleChanges", {"input": change}))["previewPracticeRuleChanges"]
    assert [y["youngAdult"]["familyName"] for y in preview["youngAdults"]] == ["Example-Ops"]
    saved = await ops.ok(admin, "ChangePracticeRules", change)
    assert [c["value"] for c in saved["changes"]] == [6]
    rules = (await ops.data(admin, "PracticeRules", {"siteCode": "BSI"}))["practiceRules"]
    assert next(r for r in rules if r["rule"] == "plan_review_interval_weeks")["level"] == "SITE"
    history = (await ops.data(admin, "PracticeRuleHistory", {"rule": "plan_review_interval_weeks"}))
    assert len(history["practiceRuleHistory"]["edges"]) == 1
    overdue = (await ops.data(admin, "DueCaseload", {"siteId": site, "overdueOnly": True}))["youngAdults"]
    assert [e["node"]["familyName"] for e in overdue["edges"]] == ["Example-Ops"]
    compliance = (await ops.data(admin, "SiteCompliance", {"siteId": site}))["siteCompliance"]
    assert compliance["counts"]["overdue"] >= 1
    assert ops.ran == set(RULE_OPERATIONS)


async def test_due_caseload_never_shows_a_restricted_record_to_someone_off_the_team(
        make_tenant: TenantFactory, login: CallerFactory, admin_conn: asyncpg.Connection) -> None:
    from service.kernel.principal import Service
    from tests.rules.cases import young_adult

    tenant = await make_tenant()
    today = clock.today()

    async def overdue_review(family: str) -> uuid.UUID:
        return await young_adult(admin_conn, tenant, "BSI", family, identified_on=today - timedelta(weeks=40),
                                 consented_on=today - timedelta(weeks=39), reception=today - timedelta(weeks=40),
                                 release_by=today + timedelta(weeks=30), reviews=[today - timedelta(weeks=30)],
                                 consent_granted=today - timedelta(weeks=39))

    await overdue_review("Example-Open")
    hidden = await overdue_review("Example-Restricted")
    await admin_conn.execute(f'UPDATE "{tenant.schema}".young_adult SET access_restricted = true WHERE id = $1',
                             hidden)
    pom = await login(Role.PRACTITIONER, tenant, service=Service.PRISON, sites=("BSI",))
    admin = await login(Role.TENANT_ADMIN, tenant)
    site = next(s["id"] for s in (await pom.data("{ sites { id code } }"))["sites"] if s["code"] == "BSI")
    ops = Operations()
    for caller, expected in ((pom, ["Example-Open"]), (admin, ["Example-Open", "Example-Restricted"])):
        page = (await ops.data(caller, "DueCaseload", {"siteId": site, "overdueOnly": True}))["youngAdults"]
        assert sorted(e["node"]["familyName"] for e in page["edges"]) == expected


async def test_concurrent_requests_reading_rules_cannot_starve_the_pool(
        make_tenant: TenantFactory, login: CallerFactory, admin_conn: asyncpg.Connection,
        client_with: ClientFactory) -> None:
    """Each request holds its tenant connection while it reads the practice rules. With one pool of two
    connections, six such requests would each hold one and wait for another for ever; the rules read from their
    own pool, so all six answer. (The timeout only detects a hang; nothing here measures speed.)"""
    from tests.rules.cases import young_adult

    tenant = await make_tenant()
    today = clock.today()
    ya = await young_adult(admin_conn, tenant, "BSI", "Example-Busy", identified_on=today - timedelta(weeks=3))
    small = await client_with(pool_max_size=2)
    admin = await login(Role.TENANT_ADMIN, tenant)
    query = {"query": "query($id: ID!) { node(id: $id) { ... on YoungAdult { dueItems { kind } } } }",
             "variables": {"id": to_global_id("YoungAdult", ya)}}

    async def one() -> int:
        response = await small.post("/graphql", json=query, headers={"Authorization": f"Bearer {admin.token}"})
        return response.status_code

    assert await asyncio.wait_for(asyncio.gather(*(one() for _ in range(6))), 60) == [200] * 6
