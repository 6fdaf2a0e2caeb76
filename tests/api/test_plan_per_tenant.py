"""A compiled statement is prepared once per tenant on each connection (compiled.executor.OwnStatements):
PostgreSQL plans a prepared statement again whenever it runs under another search path than its last, and each
tenant's requests run under the tenant's schema, so one statement shared by every tenant was planned again at every
change of tenant."""

from __future__ import annotations

import dataclasses

import asyncpg
import httpx

from service.api.relay import to_global_id
from service.app.asgi import create_app
from service.app.compiled.executor import OwnStatements
from service.kernel.database import Database
from service.kernel.principal import Role, Service
from tests.api.test_compiled import seed
from tests.conftest import CallerFactory, TenantFactory
from tests.operations import document

CASELOAD = document("CaseloadPage")


async def test_each_tenant_has_its_own_prepared_statement_and_its_own_answer(
        db: Database, make_tenant: TenantFactory, login: CallerFactory, admin_conn: asyncpg.Connection) -> None:
    one = Database.connect(dataclasses.replace(db.settings, pool_min_size=1, pool_max_size=1))
    client = httpx.AsyncClient(transport=httpx.ASGITransport(app=create_app(one)), base_url="http://test")
    try:
        tenants = [await make_tenant("plan"), await make_tenant("plan")]
        callers, variables = [], []
        for count, tenant in zip((2, 3), tenants, strict=True):
            await seed(admin_conn, tenant.schema, "BSI", count)
            callers.append(await login(Role.PRACTITIONER, tenant, service=Service.PRISON, sites=("BSI",)))
            site = await admin_conn.fetchval(f'SELECT id FROM "{tenant.schema}".site WHERE code = $1', "BSI")
            variables.append({"siteId": to_global_id("Site", site), "first": 10})
        for _ in range(2):  # alternating between the two tenants, on the pool's one connection
            for count, caller, given in zip((2, 3), callers, variables, strict=True):
                response = await client.post("/graphql", json={"query": CASELOAD, "variables": given},
                                             headers={"Authorization": f"Bearer {caller.token}"})
                assert response.headers.get("x-executed-by") == "compiled"
                assert len(response.json()["data"]["caseload"]["edges"]) == count  # each tenant's own rows
        pool = await one.open_pool()
        async with pool.acquire() as conn:
            prepared = [r["statement"] for r in await conn.fetch("SELECT statement FROM pg_prepared_statements")]
        compiled = sorted(s for s in prepared if "json_build_object('data'" in s)
        assert [s.rsplit("\n", 1)[1] for s in compiled] == sorted(f"/* {t.schema} */" for t in tenants)
        assert compiled[0].rsplit("\n", 1)[0] == compiled[1].rsplit("\n", 1)[0]  # the same SQL otherwise
    finally:
        await client.aclose()
        await one.close()


def test_only_the_first_tenants_of_the_budget_get_statements_of_their_own() -> None:
    """What the server processes hold stays bounded: a couple of MiB a plan, asyncpg keeping 100 a connection."""
    own = OwnStatements(budget=2)
    assert own.sql("SELECT 1", "t_west_midlands") == "SELECT 1\n/* t_west_midlands */"
    assert own.sql("SELECT 1", "t_womens") == "SELECT 1\n/* t_womens */"
    assert own.sql("SELECT 1", "t_third") == "SELECT 1"  # over the budget: the one shared statement
    assert own.sql("SELECT 2", "t_west_midlands") == "SELECT 2\n/* t_west_midlands */"  # still its own
    assert OwnStatements().sql("SELECT 1", "x */ DROP TABLE y; /*") == "SELECT 1"  # not a name we made
    assert OwnStatements().sql("SELECT 1", "T_Upper") == "SELECT 1"  # nor this (tenants.slugs.quote_ident)
