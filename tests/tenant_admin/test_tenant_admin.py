"""Tenant administrators manage their own tenant's sites and grants — and nothing beyond it."""

from __future__ import annotations

import secrets
import uuid

import asyncpg
import pytest

from service.kernel.database import Database
from service.kernel.errors import AccessDenied
from service.kernel.principal import Role, Service
from service.tenant_admin.service import GrantSpec
from tests.conftest import CallerFactory, TenantFactory
from tests.tenants.test_isolation import insert_young_adult

SITES = "{ sites { id code name kind closed version } }"
ADD = """mutation($code: String!, $name: String!) {
  addSite(input: {code: $code, name: $name, kind: PROBATION}) { site { id code name } outcome errors { code field } }
}"""
RENAME = """mutation($id: ID!, $v: Int!, $name: String!) {
  renameSite(input: {id: $id, version: $v, name: $name}) { site { name version } outcome errors { code } }
}"""
CLOSE = """mutation($id: ID!, $v: Int!) {
  closeSite(input: {id: $id, version: $v}) { site { closed } outcome errors { code message } }
}"""
GRANT = """mutation($input: GrantRoleInput!) {
  grantRole(input: $input) { user { subject role siteCodes active } outcome errors { code field } }
}"""
REVOKE = """mutation($s: String!) { revokeRole(input: {subject: $s}) { user { active } outcome errors { code } } }"""


async def test_sites_add_rename_close_keeping_history(make_tenant: TenantFactory, login: CallerFactory,
                                                      admin_conn: asyncpg.Connection) -> None:
    tenant = await make_tenant()
    admin = await login(Role.TENANT_ADMIN, tenant)
    added = (await admin.data(ADD, {"code": "DUR-PDU", "name": "Durham PDU"}))["addSite"]
    assert (added["outcome"], added["errors"]) == ("CREATED", [])
    again = (await admin.data(ADD, {"code": "DUR-PDU", "name": "Durham PDU"}))["addSite"]
    assert again["outcome"] == "ALREADY_DONE"
    clash = (await admin.data(ADD, {"code": "DUR-PDU", "name": "Another"}))["addSite"]
    assert clash["errors"] == [{"code": "CONFLICT", "field": "code"}]

    site = {s["code"]: s for s in (await admin.data(SITES))["sites"]}["BSI"]
    renamed = (await admin.data(RENAME, {"id": site["id"], "v": site["version"], "name": "HMP Brinsford (YOI)"}))
    assert renamed["renameSite"]["outcome"] == "UPDATED"
    stale = (await admin.data(RENAME, {"id": site["id"], "v": site["version"], "name": "Other"}))
    assert stale["renameSite"]["errors"] == [{"code": "STALE_VERSION"}]

    ya = uuid.uuid4()
    await insert_young_adult(admin_conn, tenant.schema, ya, "Example-Closed")
    closed = (await admin.data(CLOSE, {"id": site["id"], "v": site["version"] + 1}))["closeSite"]
    assert closed["site"] == {"closed": True}
    assert (await admin.data(CLOSE, {"id": site["id"], "v": 0}))["closeSite"]["outcome"] == "ALREADY_DONE"
    # A closed site keeps its history.
    assert await admin_conn.fetchval(f'SELECT count(*) FROM "{tenant.schema}".enrolment WHERE young_adult_id = $1',
                                     ya) == 1
    listed = {s["code"]: s for s in (await admin.data(SITES))["sites"]}
    assert listed["BSI"]["closed"] is True


async def test_grants_and_revocation(make_tenant: TenantFactory, login: CallerFactory) -> None:
    tenant = await make_tenant()
    admin = await login(Role.TENANT_ADMIN, tenant)
    subject = f"pom-{secrets.token_hex(4)}"
    grant = {"subject": subject, "role": "PRACTITIONER", "service": "PRISON", "siteCodes": ["bsi"]}
    done = (await admin.data(GRANT, {"input": grant}))["grantRole"]
    assert done["outcome"] == "CREATED"
    assert done["user"] == {"subject": subject, "role": "PRACTITIONER", "siteCodes": ["BSI"], "active": True}
    assert (await admin.data(GRANT, {"input": grant}))["grantRole"]["outcome"] == "ALREADY_DONE"
    unknown_site = (await admin.data(GRANT, {"input": {**grant, "siteCodes": ["NOPE"]}}))["grantRole"]
    assert unknown_site["errors"] == [{"code": "NOT_FOUND", "field": "siteCodes"}]
    users = (await admin.data("{ tenantUsers { subject role } }"))["tenantUsers"]
    assert {"subject": subject, "role": "PRACTITIONER"} in users

    assert (await admin.data(REVOKE, {"s": subject}))["revokeRole"] == {
        "user": {"active": False}, "outcome": "UPDATED", "errors": []}
    assert (await admin.data(REVOKE, {"s": subject}))["revokeRole"]["outcome"] == "ALREADY_DONE"


async def test_admin_of_one_tenant_cannot_manage_another(make_tenant: TenantFactory, login: CallerFactory,
                                                         admin_conn: asyncpg.Connection) -> None:
    a, b = await make_tenant("a"), await make_tenant("b")
    admin_a = await login(Role.TENANT_ADMIN, a)
    b_subject = f"b-user-{secrets.token_hex(4)}"
    admin_b = await login(Role.TENANT_ADMIN, b)
    await login(Role.PRACTITIONER, b, service=Service.PRISON, sites=("BSI",), subject=b_subject)
    b_site = {s["code"]: s for s in (await admin_b.data(SITES))["sites"]}["BSI"]

    # B's site id answers like a missing one, for rename and close.
    for query, variables in ((RENAME, {"id": b_site["id"], "v": 1, "name": "Taken"}),
                             (CLOSE, {"id": b_site["id"], "v": 1})):
        payload = next(iter((await admin_a.data(query, variables)).values()))
        assert payload["errors"][0]["code"] == "NOT_FOUND"
    assert await admin_conn.fetchval(f'SELECT closed_at IS NULL AND name = $1 FROM "{b.schema}".site '
                                     "WHERE code = 'BSI'", "HMP Brinsford")

    # Revoking B's user from A finds nobody; granting the same subject in A makes an A grant; B's is unchanged.
    assert (await admin_a.data(REVOKE, {"s": b_subject}))["revokeRole"]["errors"] == [{"code": "NOT_FOUND"}]
    await admin_a.data(GRANT, {"input": {"subject": b_subject, "role": "TENANT_ADMIN"}})
    row = await admin_conn.fetchrow("SELECT role, active FROM control.app_user WHERE subject = $1 AND tenant_id = $2",
                                    b_subject, b.id)
    assert row is not None
    assert (row["role"], row["active"]) == ("PRACTITIONER", True)


async def test_platform_roles_cannot_be_granted_by_a_tenant_admin(make_tenant: TenantFactory,
                                                                  login: CallerFactory) -> None:
    tenant = await make_tenant()
    admin = await login(Role.TENANT_ADMIN, tenant)
    for role in ("PLATFORM_ADMIN", "NATIONAL_ANALYST"):
        body = await admin(GRANT, {"input": {"subject": "x", "role": role}})
        assert "errors" in body  # not a TenantRole: refused before any resolver runs
        assert body.get("data") is None
    for role in (Role.PLATFORM_ADMIN, Role.NATIONAL_ANALYST):
        with pytest.raises(AccessDenied):
            GrantSpec("x", role).validated()


async def test_admins_cannot_demote_or_revoke_themselves(make_tenant: TenantFactory, login: CallerFactory) -> None:
    tenant = await make_tenant()
    me = f"me-{secrets.token_hex(4)}"
    admin = await login(Role.TENANT_ADMIN, tenant, subject=me)
    assert (await admin.data(REVOKE, {"s": me}))["revokeRole"]["errors"] == [{"code": "INVALID"}]
    demote = {"subject": me, "role": "SITE_MANAGER", "siteCodes": ["BSI"]}
    assert (await admin.data(GRANT, {"input": demote}))["grantRole"]["errors"][0]["code"] == "INVALID"


@pytest.mark.parametrize("query", [
    'mutation { addSite(input: {code: "X1", name: "x", kind: PRISON}) { outcome } }',
    'mutation { grantRole(input: {subject: "x", role: TENANT_ADMIN}) { outcome } }',
    'mutation { revokeRole(input: {subject: "x"}) { outcome } }',
    "{ tenantUsers { subject } }",
])
async def test_other_roles_cannot_administer_a_tenant(make_tenant: TenantFactory, login: CallerFactory,
                                                      db: Database, query: str) -> None:
    tenant = await make_tenant()
    for caller in (await login(Role.PRACTITIONER, tenant, service=Service.PRISON, sites=("BSI",)),
                   await login(Role.SITE_MANAGER, tenant, sites=("BSI",)),
                   await login(Role.PLATFORM_ADMIN), await login(Role.NATIONAL_ANALYST)):
        body = await caller(query)
        assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"
        assert body["data"] is None
