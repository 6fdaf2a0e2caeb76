"""Platform administrators provision tenants through GraphQL; refusals come back as data."""

from __future__ import annotations

import secrets

import asyncpg

from service.kernel.database import Database
from service.kernel.principal import Role
from tenants import registry
from tests.conftest import CallerFactory

CREATE = """mutation($i: CreateTenantInput!) {
  createTenant(input: $i) { tenant { slug name kind status } errors { code field message } }
}"""


async def test_platform_admin_creates_a_tenant_that_is_usable_at_once(login: CallerFactory, db: Database) -> None:
    admin = await login(Role.PLATFORM_ADMIN)
    slug = f"north-{secrets.token_hex(3)}"
    created = (await admin.data(CREATE, {"i": {"slug": slug, "name": "North", "kind": "REGION"}}))["createTenant"]
    assert created == {"tenant": {"slug": slug, "name": "North", "kind": "REGION", "status": "ACTIVE"}, "errors": []}
    assert slug in [t["slug"] for t in (await admin.data("{ tenants { slug } }"))["tenants"]]

    assert db.pool is not None
    async with db.pool.acquire() as conn:
        tenant = await registry.tenant_by_slug(conn, slug)
    assert tenant is not None
    tenant_admin = await login(Role.TENANT_ADMIN, tenant)
    assert (await tenant_admin.data("{ sites { id } }"))["sites"] == []

    again = (await admin.data(CREATE, {"i": {"slug": slug, "name": "Other", "kind": "COHORT"}}))["createTenant"]
    assert again["tenant"] is None
    assert [(e["code"], e["field"]) for e in again["errors"]] == [("CONFLICT", "slug")]


async def test_bad_slug_is_refused_as_data(login: CallerFactory, admin_conn: asyncpg.Connection) -> None:
    admin = await login(Role.PLATFORM_ADMIN)
    before = await admin_conn.fetchval("SELECT count(*) FROM pg_namespace")
    payload = (await admin.data(CREATE, {"i": {"slug": "Bad Slug!", "name": "x", "kind": "REGION"}}))["createTenant"]
    assert payload["tenant"] is None
    assert payload["errors"][0]["code"] == "INVALID"
    assert "lower-case letters" in payload["errors"][0]["message"]
    assert await admin_conn.fetchval("SELECT count(*) FROM pg_namespace") == before
