"""Onboarding through the platform API only: the tenant is usable at once, repeats are safe, conflicts refused."""

from __future__ import annotations

import secrets
from typing import Any

import asyncpg

from service.app.auth import DevIssuer
from service.kernel.database import Database
from service.kernel.principal import Role, Service
from tenants.slugs import TenantNames
from tests.conftest import Caller, CallerFactory, TenantFactory

ONBOARD = """
mutation($input: OnboardTenantInput!) {
  onboardTenant(input: $input) {
    tenant { slug status }
    steps { action target outcome }
    checklist { complete missing ruleTemplate }
    errors { code field message }
  }
}"""


def onboarding_input(slug: str, admin: str, **overrides: Any) -> dict[str, Any]:
    return {"slug": slug, "name": "North East", "kind": "REGION", "ruleTemplate": "west-midlands-pilot",
            "sites": [{"code": "DUR", "name": "HMP Durham", "kind": "PRISON"},
                      {"code": "NE-LC", "name": "Newcastle leaving care", "kind": "LEAVING_CARE"}],
            "admins": [{"subject": admin, "displayName": "First admin"}], **overrides}


async def test_onboard_through_the_api_then_use_the_tenant_at_once(login: CallerFactory, client: Any,
                                                                   issuer: DevIssuer) -> None:
    platform = await login(Role.PLATFORM_ADMIN)
    slug, admin = f"ne-{secrets.token_hex(4)}", f"admin-{secrets.token_hex(4)}"
    done = (await platform.data(ONBOARD, {"input": onboarding_input(slug, admin)}))["onboardTenant"]
    assert done["errors"] == []
    assert done["tenant"] == {"slug": slug, "status": "ACTIVE"}
    assert [(s["action"], s["target"], s["outcome"]) for s in done["steps"]] == [
        ("CREATE_TENANT", slug, "CREATED"), ("APPLY_RULE_TEMPLATE", "west-midlands-pilot", "CREATED"),
        ("ADD_SITE", "DUR", "CREATED"), ("ADD_SITE", "NE-LC", "CREATED"),
        ("GRANT_ADMIN", admin, "CREATED"), ("ACTIVATE", slug, "UPDATED")]
    assert done["checklist"]["missing"] == ["PRACTITIONER", "PROBATION_SITE", "LIFELONG_LINKS_SITE"]
    assert done["checklist"]["ruleTemplate"] == "west-midlands-pilot"

    # The first administrator's token works immediately and sees the sites.
    tenant_admin = Caller(client, issuer.issue(admin, slug))
    sites = (await tenant_admin.data("{ sites { code name } }"))["sites"]
    assert sorted(s["code"] for s in sites) == ["DUR", "NE-LC"]

    # Repeating it is safe and says so.
    again = (await platform.data(ONBOARD, {"input": onboarding_input(slug, admin)}))["onboardTenant"]
    assert again["errors"] == []
    assert {s["outcome"] for s in again["steps"]} == {"ALREADY_DONE"}


async def test_conflicting_repeats_are_refused_as_data(login: CallerFactory) -> None:
    platform = await login(Role.PLATFORM_ADMIN)
    slug, admin = f"ne-{secrets.token_hex(4)}", f"admin-{secrets.token_hex(4)}"
    await platform.data(ONBOARD, {"input": onboarding_input(slug, admin)})

    renamed = (await platform.data(ONBOARD, {"input": onboarding_input(slug, admin, name="Elsewhere")}))
    assert renamed["onboardTenant"]["errors"][0]["code"] == "CONFLICT"
    assert renamed["onboardTenant"]["errors"][0]["field"] == "slug"

    moved = onboarding_input(slug, admin, sites=[{"code": "DUR", "name": "HMP Durham", "kind": "PROBATION"}])
    body = (await platform.data(ONBOARD, {"input": moved}))["onboardTenant"]
    assert body["errors"][0]["code"] == "CONFLICT"
    assert "DUR" in body["errors"][0]["message"]
    sites = (await platform.data("query($s: String!) { tenantSites(slug: $s) { code kind } }", {"s": slug}))
    assert {s["code"]: s["kind"] for s in sites["tenantSites"]} == {"DUR": "PRISON", "NE-LC": "LEAVING_CARE"}

    unknown = (await platform.data(ONBOARD, {"input": onboarding_input(f"x-{secrets.token_hex(4)}", admin,
                                                                        ruleTemplate="nope")}))
    assert unknown["onboardTenant"]["errors"][0]["field"] == "ruleTemplate"
    assert unknown["onboardTenant"]["tenant"] is None


async def test_step_by_step_onboarding_and_the_checklist(login: CallerFactory) -> None:
    platform = await login(Role.PLATFORM_ADMIN)
    slug, admin = f"ne-{secrets.token_hex(4)}", f"admin-{secrets.token_hex(4)}"
    bare = (await platform.data(ONBOARD, {"input": onboarding_input(slug, admin, sites=[], admins=[])}))
    assert bare["onboardTenant"]["tenant"]["status"] == "PROVISIONING"  # nothing to sign in to yet
    assert "SITE" in bare["onboardTenant"]["checklist"]["missing"]
    steps = """mutation($slug: String!) {
      addTenantSites(input: {slug: $slug, sites: [{code: "DUR-PDU", name: "Durham PDU", kind: PROBATION}]})
        { steps { outcome } errors { code } }
      grantTenantAdmin(input: {slug: $slug, subject: "someone"}) { steps { outcome } errors { code } }
      activateTenant(input: {slug: $slug}) { tenant { status } outcome errors { code } }
    }"""
    done = await platform.data(steps, {"slug": slug})
    assert done["addTenantSites"]["steps"] == [{"outcome": "CREATED"}]
    assert done["grantTenantAdmin"]["steps"] == [{"outcome": "CREATED"}]
    assert done["activateTenant"] == {"tenant": {"status": "ACTIVE"}, "outcome": "UPDATED", "errors": []}
    checklist = await platform.data("query($s: String!) { onboardingChecklist(slug: $s) { missing } "
                                    "ruleTemplates { name } }", {"s": slug})
    assert "PROBATION_SITE" not in checklist["onboardingChecklist"]["missing"]
    assert {t["name"] for t in checklist["ruleTemplates"]} == {"west-midlands-pilot", "defaults"}


async def test_only_platform_admins_onboard(login: CallerFactory, make_tenant: TenantFactory) -> None:
    tenant = await make_tenant()
    for caller in (await login(Role.TENANT_ADMIN, tenant), await login(Role.NATIONAL_ANALYST),
                   await login(Role.PRACTITIONER, tenant, service=Service.PRISON, sites=("BSI",))):
        body = await caller(ONBOARD, {"input": onboarding_input(f"z-{secrets.token_hex(4)}", "x")})
        assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"
        body = await caller("mutation($s: String!) { suspendTenant(input: {slug: $s}) { outcome } }",
                            {"s": tenant.slug})
        assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"


async def test_a_slug_whose_role_is_taken_outside_the_registry_is_a_conflict_that_says_so(
        login: CallerFactory, db: Database, admin_conn: asyncpg.Connection) -> None:
    """A database role left behind (by a tenant dropped by hand, say) blocks the slug: onboarding answers the clash
    as the conflict it is, naming the role, not as "There is no such tenant", and creates nothing."""
    platform = await login(Role.PLATFORM_ADMIN)
    slug, admin = f"ne-{secrets.token_hex(4)}", f"admin-{secrets.token_hex(4)}"
    names = TenantNames.for_slug(slug, db.settings.role_prefix)
    await admin_conn.execute(f'CREATE ROLE "{names.runtime_role}"')
    try:
        body = (await platform.data(ONBOARD, {"input": onboarding_input(slug, admin)}))["onboardTenant"]
        assert body["tenant"] is None
        assert [(e["code"], e["field"]) for e in body["errors"]] == [("CONFLICT", "slug")]
        assert "role" in body["errors"][0]["message"]
        assert await admin_conn.fetchval("SELECT count(*) FROM control.tenant WHERE slug = $1", slug) == 0
        assert await admin_conn.fetchval("SELECT count(*) FROM pg_namespace WHERE nspname = $1", names.schema) == 0
    finally:
        await admin_conn.execute(f'DROP ROLE "{names.runtime_role}"')
