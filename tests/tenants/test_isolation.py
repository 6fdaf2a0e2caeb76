"""PostgreSQL itself keeps tenants apart. These tests go around the service and try to break that."""

from __future__ import annotations

import uuid

import asyncpg
import pytest

from service.kernel.database import Database
from service.kernel.principal import Role, Service
from service.kernel.tenancy import tenant_transaction
from tests.conftest import CallerFactory, TenantFactory


async def insert_young_adult(admin: asyncpg.Connection, schema: str, ya_id: uuid.UUID, family: str,
                             site_code: str = "BSI") -> None:
    await admin.execute(
        f'INSERT INTO "{schema}".young_adult (id, given_name, family_name, date_of_birth, care_status) '
        "VALUES ($1, 'Sam', $2, '2003-05-01', 'RELEVANT')", ya_id, family)
    await admin.execute(
        f'INSERT INTO "{schema}".enrolment (young_adult_id, site_id) '
        f'SELECT $1, id FROM "{schema}".site WHERE code = $2', ya_id, site_code)


async def test_reading_another_tenants_table_is_refused_by_postgres(db: Database, make_tenant: TenantFactory) -> None:
    a, b = await make_tenant("a"), await make_tenant("b")
    assert db.pool is not None
    async with tenant_transaction(db.pool, a) as conn:
        assert await conn.fetchval("SELECT count(*) FROM site") == 2  # its own tables, unqualified
        with pytest.raises(asyncpg.InsufficientPrivilegeError):
            await conn.fetch(f'SELECT id FROM "{b.schema}".young_adult')


async def test_unqualified_names_resolve_only_inside_the_tenant(db: Database, make_tenant: TenantFactory,
                                                                admin_conn: asyncpg.Connection) -> None:
    a, b = await make_tenant("a"), await make_tenant("b")
    await insert_young_adult(admin_conn, b.schema, uuid.uuid4(), "Example-B")
    assert db.pool is not None
    async with tenant_transaction(db.pool, a) as conn:
        assert await conn.fetchval("SELECT count(*) FROM young_adult") == 0
        assert await conn.fetchval("SELECT current_user") == a.runtime_role


async def test_app_login_role_alone_reads_no_tenant_data(db: Database, make_tenant: TenantFactory) -> None:
    a = await make_tenant("a")
    assert db.pool is not None
    async with db.pool.acquire() as conn:
        with pytest.raises(asyncpg.InsufficientPrivilegeError):
            await conn.fetch(f'SELECT id FROM "{a.schema}".site')
        with pytest.raises(asyncpg.InsufficientPrivilegeError):  # nor write the control plane
            await conn.execute("UPDATE control.tenant SET name = name")


async def test_role_and_search_path_end_with_the_transaction(db: Database, make_tenant: TenantFactory) -> None:
    a = await make_tenant("a")
    assert db.pool is not None
    async with db.pool.acquire() as conn:
        async with conn.transaction():
            await conn.fetchrow("SELECT set_config('role', $1, true), set_config('search_path', $2, true)",
                                a.runtime_role, a.schema)
            assert await conn.fetchval("SELECT current_user") == a.runtime_role
        assert await conn.fetchval("SELECT current_user") == db.settings.app_role
        with pytest.raises(asyncpg.UndefinedTableError):
            await conn.fetch("SELECT id FROM site")


async def test_app_role_is_noinherit_and_owns_nothing(admin_conn: asyncpg.Connection, db: Database) -> None:
    row = await admin_conn.fetchrow("SELECT oid, rolinherit, rolsuper FROM pg_roles WHERE rolname = $1",
                                    db.settings.app_role)
    assert row is not None
    assert row["rolinherit"] is False
    assert row["rolsuper"] is False
    owned = await admin_conn.fetchval(
        "SELECT count(*) FROM pg_class WHERE relowner = $1", row["oid"])
    schemas = await admin_conn.fetchval("SELECT count(*) FROM pg_namespace WHERE nspowner = $1", row["oid"])
    assert (owned, schemas) == (0, 0)


YOUNG_ADULT = "query($id: ID!) { node(id: $id) { id ... on YoungAdult { familyName enrolments { site { code } } } } }"
AT_SITE = "query($site: ID!) { youngAdults(siteId: $site, first: 10) { edges { node { id familyName } } } }"
SITES = "{ sites { id code } }"


async def test_same_uuid_in_two_tenants_never_crosses(make_tenant: TenantFactory, login: CallerFactory,
                                                      admin_conn: asyncpg.Connection) -> None:
    a, b = await make_tenant("a"), await make_tenant("b")
    shared = uuid.uuid4()
    await insert_young_adult(admin_conn, a.schema, shared, "Example-A")
    await insert_young_adult(admin_conn, b.schema, shared, "Example-B")
    in_a = await login(Role.PRACTITIONER, a, service=Service.PRISON, sites=("BSI",))
    in_b = await login(Role.TENANT_ADMIN, b)

    a_sites = {s["code"]: s["id"] for s in (await in_a.data(SITES))["sites"]}
    b_sites = {s["code"]: s["id"] for s in (await in_b.data(SITES))["sites"]}
    assert a_sites["BSI"] != b_sites["BSI"]

    listed = (await in_a.data(AT_SITE, {"site": a_sites["BSI"]}))["youngAdults"]["edges"]
    assert [e["node"]["familyName"] for e in listed] == ["Example-A"]
    global_id = listed[0]["node"]["id"]

    # The same global id (same uuid) resolves to each tenant's own record, through node() and its DataLoaders.
    assert (await in_a.data(YOUNG_ADULT, {"id": global_id}))["node"]["familyName"] == "Example-A"
    assert (await in_b.data(YOUNG_ADULT, {"id": global_id}))["node"]["familyName"] == "Example-B"

    # Another tenant's site id answers exactly like a missing one.
    foreign = await in_a(AT_SITE, {"site": b_sites["BSI"]})
    missing = await in_a(AT_SITE, {"site": "U2l0ZTowMDAwMDAwMC0wMDAwLTAwMDAtMDAwMC0wMDAwMDAwMDAwMDA="})
    assert foreign["errors"][0]["message"] == missing["errors"][0]["message"] == "No such site."
    assert (await in_a.data(YOUNG_ADULT, {"id": "WW91bmdBZHVsdDpub3BlCg=="}))["node"] is None
