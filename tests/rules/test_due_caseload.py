"""Rules acting on the caseload: filter and order by what is due at a constant statement count, a site's
practice-compliance summary, and starting a tenant from a template (copied, not linked)."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import asyncpg
import pytest

from service.api.relay import to_global_id
from service.demo import seed_demo
from service.kernel import clock
from service.kernel.database import Database
from service.kernel.errors import NotFound
from service.kernel.principal import Principal, Role, Service
from service.kernel.work import UnitOfWork
from service.rules.loaders import rules_at_site
from service.rules.service import apply_template
from tenants import registry
from tests.conftest import Caller, CallerFactory, TenantFactory
from tests.messages import count_statements
from tests.rules.cases import young_adult

TODAY = clock.today()
CASELOAD = """query($site: ID!, $first: Int!, $after: String, $within: Int, $overdue: Boolean!) {
  youngAdults(siteId: $site, first: $first, after: $after, dueWithinDays: $within, overdueOnly: $overdue) {
    edges { node { familyName dueItems { kind status dueOn } } } pageInfo { hasNextPage endCursor }
  }
}"""
COMPLIANCE = """query($site: ID!) {
  siteCompliance(siteId: $site) { youngAdults counts { onTime dueSoon overdue done }
                                  byKind { kind counts { onTime dueSoon overdue done } } }
}"""


async def sites(caller: Caller) -> dict[str, str]:
    return {s["code"]: s["id"] for s in (await caller.data("{ sites { id code } }"))["sites"]}


async def reviewed(conn: asyncpg.Connection, tenant: Any, family: str, weeks_ago: int, site: str = "BSI") -> None:
    """In custody since 10 days ago (PA visit due in 46 days), last review ``weeks_ago`` (review every 13 weeks)."""
    await young_adult(conn, tenant, site, family, identified_on=TODAY - timedelta(days=10),
                      reception=TODAY - timedelta(days=10), reviews=[TODAY - timedelta(weeks=weeks_ago)])


async def names(caller: Caller, site: str, **args: Any) -> list[str]:
    variables = {"site": site, "first": 10, "after": None, "within": None, "overdue": False} | args
    page = (await caller.data(CASELOAD, variables))["youngAdults"]
    return [e["node"]["familyName"] for e in page["edges"]]


async def test_caseload_filters_and_orders_by_what_is_due(make_tenant: TenantFactory, login: CallerFactory,
                                                          admin_conn: asyncpg.Connection) -> None:
    tenant = await make_tenant()
    for family, weeks in (("Example-Soon", 12), ("Example-Late", 20), ("Example-Fresh", 1), ("Example-Later", 16)):
        await reviewed(admin_conn, tenant, family, weeks)
    await reviewed(admin_conn, tenant, "Example-Other-Site", 20, site="BRM-LC")
    pom = await login(Role.PRACTITIONER, tenant, service=Service.PRISON, sites=("BSI",))
    bsi = (await sites(pom))["BSI"]

    assert await names(pom, bsi, overdue=True) == ["Example-Late", "Example-Later"]  # 7 then 3 weeks late
    assert await names(pom, bsi, within=7) == ["Example-Late", "Example-Later", "Example-Soon"]
    assert await names(pom, bsi, within=60) == ["Example-Late", "Example-Later", "Example-Soon", "Example-Fresh"]
    assert await names(pom, bsi) == ["Example-Fresh", "Example-Late", "Example-Later", "Example-Soon"]  # by name

    first = (await pom.data(CASELOAD, {"site": bsi, "first": 1, "after": None, "within": 7, "overdue": False}))
    page = first["youngAdults"]
    assert page["pageInfo"]["hasNextPage"] is True
    assert page["edges"][0]["node"]["dueItems"][0] == {
        "kind": "PLAN_REVIEW", "status": "OVERDUE", "dueOn": (TODAY - timedelta(weeks=7)).isoformat()}
    assert await names(pom, bsi, within=7, after=page["pageInfo"]["endCursor"]) == ["Example-Later", "Example-Soon"]
    refused = await pom(CASELOAD, {"site": bsi, "first": 5, "after": None, "within": 400, "overdue": False})
    assert refused["errors"][0]["extensions"] == {"code": "INVALID", "field": "dueWithinDays"}


@pytest.mark.parametrize("args", [{}, {"within": 30}])
async def test_statements_per_page_do_not_grow_with_page_size(make_tenant: TenantFactory, login: CallerFactory,
                                                              admin_conn: asyncpg.Connection,
                                                              monkeypatch: pytest.MonkeyPatch,
                                                              args: dict[str, Any]) -> None:
    tenant = await make_tenant()
    for i in range(8):
        await reviewed(admin_conn, tenant, f"Example-{i:02d}", 14)
    admin = await login(Role.TENANT_ADMIN, tenant)
    bsi = (await sites(admin))["BSI"]
    counts = count_statements(monkeypatch)
    by_size = {}
    for first in (2, 8):
        counts.clear()
        variables = {"site": bsi, "first": first, "after": None, "within": None, "overdue": False} | args
        edges = (await admin.data(CASELOAD, variables))["youngAdults"]["edges"]
        assert len(edges) == first
        assert all(e["node"]["dueItems"] for e in edges)
        by_size[first] = counts[0]
    assert by_size[2] == by_size[8], by_size


async def test_site_compliance_counts_the_items_of_young_adults_the_site_governs(
        make_tenant: TenantFactory, login: CallerFactory, admin_conn: asyncpg.Connection) -> None:
    tenant = await make_tenant()
    for family, weeks in (("Example-Soon", 12), ("Example-Late", 20), ("Example-Fresh", 1)):
        await reviewed(admin_conn, tenant, family, weeks)
    await reviewed(admin_conn, tenant, "Example-Elsewhere", 20, site="BRM-LC")
    manager = await login(Role.SITE_MANAGER, tenant, sites=("BSI",))
    bsi = (await sites(manager))["BSI"]
    summary = (await manager.data(COMPLIANCE, {"site": bsi}))["siteCompliance"]
    assert summary["youngAdults"] == 3
    assert summary["counts"] == {"onTime": 4, "dueSoon": 1, "overdue": 1, "done": 0}  # 3 PA visits, 3 reviews
    assert {k["kind"]: k["counts"] for k in summary["byKind"]} == {
        "PLAN_REVIEW": {"onTime": 1, "dueSoon": 1, "overdue": 1, "done": 0},
        "PA_VISIT": {"onTime": 3, "dueSoon": 0, "overdue": 0, "done": 0}}
    other_site = to_global_id("Site", (await admin_conn.fetchval(
        f'SELECT id FROM "{tenant.schema}".site WHERE code = $1', "BRM-LC")))
    hidden = await manager(COMPLIANCE, {"site": other_site})
    assert hidden["errors"][0]["extensions"]["code"] == "NOT_FOUND"


async def test_a_tenant_starts_from_a_template_copied_not_linked(make_tenant: TenantFactory, login: CallerFactory,
                                                                db: Database, admin_conn: asyncpg.Connection) -> None:
    tenant = await make_tenant(sites=(("BRM-LC", "Birmingham leaving care", "LEAVING_CARE"),
                                      ("COV-LC", "Coventry leaving care", "LEAVING_CARE")))
    name = f"test-{tenant.slug}"
    await admin_conn.execute("INSERT INTO control.rule_template (name, description, rule_values) VALUES ($1, 't', $2)",
                             name, json.dumps({"tenant": {"due_soon_days": 10},
                                               "sites": {"COV-LC": {"min_months_to_release_at_referral": 9}}}))
    async with db.admin_transaction() as conn:
        await apply_template(conn, tenant.id, name, "onboarding", clock.today())
    await admin_conn.execute("UPDATE control.rule_template SET rule_values = $2 WHERE name = $1", name,
                             json.dumps({"tenant": {"due_soon_days": 30}, "sites": {}}))
    admin = await login(Role.TENANT_ADMIN, tenant)
    rules = {r["rule"]: r for r in (await admin.data('{ practiceRules(siteCode: "COV-LC") { rule value level '
                                                     'setBy reason } }'))["practiceRules"]}
    assert rules["due_soon_days"] == {"rule": "due_soon_days", "value": 10, "level": "TENANT", "setBy": "onboarding",
                                      "reason": f"Started from the rule template {name!r}."}
    assert rules["min_months_to_release_at_referral"]["value"] == 9
    ctx = UnitOfWork.begin(Principal("feature-code", Role.TENANT_ADMIN, tenant=tenant), db, await db.open_pool(),
                           "test", clock.today())
    try:
        assert (await rules_at_site(ctx, "COV-LC"))["min_months_to_release_at_referral"] == 9
        assert (await rules_at_site(ctx, None))["min_months_to_release_at_referral"] == 6
    finally:
        await ctx.end(commit=False)
    with pytest.raises(NotFound):
        async with db.admin_transaction() as conn:
            await apply_template(conn, tenant.id, "no-such-template", "onboarding", clock.today())


async def test_the_demo_west_midlands_runs_the_pilot_rules(db: Database, login: CallerFactory) -> None:
    await seed_demo(db)
    pool = await db.open_pool()
    async with pool.acquire() as conn:
        west_midlands = await registry.tenant_by_slug(conn, "west-midlands")
    assert west_midlands is not None
    admin = await login(Role.TENANT_ADMIN, west_midlands)
    query = 'query($s: String) { practiceRules(siteCode: $s) { rule value level } }'
    for site, months in (("BRM-LC", 6), ("COV-LC", 9)):
        rows = (await admin.data(query, {"s": site}))["practiceRules"]
        assert {"rule": "min_months_to_release_at_referral", "value": months, "level": "SITE"} in rows
