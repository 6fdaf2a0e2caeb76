"""Provisioning creates a tenant completely or not at all, and refuses bad or duplicate slugs clearly."""

from __future__ import annotations

import secrets

import asyncpg
import pytest
from sqlalchemy.ext.asyncio import AsyncConnection, create_async_engine

from service.kernel.database import Database
from service.kernel.errors import Conflict, InvalidInput
from service.kernel.tenancy import ENTER_TENANT
from tenants import lifecycle, migrations, provisioning
from tenants.provisioning import NewTenant, create_tenant
from tenants.runner import migrate
from tenants.slugs import TenantNames, validate_slug


@pytest.mark.parametrize(("slug", "says"), [
    ("", "required"),
    ("ab", "3 to 40"),
    ("a" * 41, "3 to 40"),
    ("West-Midlands", "lower-case"),
    ("west_midlands", "lower-case"),
    ("west--midlands", "single hyphens"),
    ("-west", "start with a letter"),
    ("9lives", "start with a letter"),
    ("west-", "lower-case"),
    ('x"; drop schema control; --', "lower-case"),
    ("control", "reserved"),
    ("pg-catalog", "reserved"),
])
def test_bad_slugs_are_refused_with_a_reason(slug: str, says: str) -> None:
    with pytest.raises(InvalidInput) as refused:
        validate_slug(slug)
    assert says in refused.value.message
    assert refused.value.field == "slug"


def test_names_are_derived_one_to_one() -> None:
    names = TenantNames.for_slug("west-midlands", "ah")
    assert (names.schema, names.runtime_role, names.owner_role) == ("t_west_midlands", "ah_t_west_midlands",
                                                                     "ah_o_west_midlands")


async def _traces(admin: asyncpg.Connection, slug: str, prefix: str) -> tuple[int, int, int]:
    names = TenantNames.for_slug(slug, prefix)
    rows = await admin.fetchval("SELECT count(*) FROM control.tenant WHERE slug = $1", slug)
    schemas = await admin.fetchval("SELECT count(*) FROM pg_namespace WHERE nspname = $1", names.schema)
    roles = await admin.fetchval("SELECT count(*) FROM pg_roles WHERE rolname = ANY($1::text[])",
                                 [names.runtime_role, names.owner_role])
    return rows, schemas, roles


async def test_provisioning_creates_schema_roles_tables_and_version(db: Database,
                                                                    admin_conn: asyncpg.Connection) -> None:
    slug = f"p-{secrets.token_hex(4)}"
    tenant = await create_tenant(db.engine, NewTenant(slug, " Test region ", "REGION"),
                                 role_prefix=db.settings.role_prefix, app_role=db.settings.app_role)
    assert tenant.name == "Test region"
    assert await _traces(admin_conn, slug, db.settings.role_prefix) == (1, 1, 2)
    version = await admin_conn.fetchval(f'SELECT version_num FROM "{tenant.schema}".alembic_version')
    assert version == migrations.head("tenant")
    owner = await admin_conn.fetchval(
        "SELECT r.rolname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
        "JOIN pg_roles r ON r.oid = c.relowner WHERE n.nspname = $1 AND c.relname = 'young_adult'", tenant.schema)
    assert owner == TenantNames.for_slug(slug, db.settings.role_prefix).owner_role


@pytest.mark.parametrize("where", ["the last statement of the script", "after the registry row"])
async def test_a_failure_midway_leaves_nothing_behind(db: Database, admin_conn: asyncpg.Connection,
                                                      monkeypatch: pytest.MonkeyPatch, where: str) -> None:
    slug = f"f-{secrets.token_hex(4)}"
    if where == "the last statement of the script":
        # The roles, the schema and every table exist in the transaction when its last statement fails.
        rendered = migrations.tenant_script_sql
        monkeypatch.setattr(migrations, "tenant_script_sql",
                            lambda *args: rendered(*args) + "SELECT 1 / 0;")
    else:
        def broken_id(value: object) -> None:
            raise RuntimeError("failed after the registry row was written")

        monkeypatch.setattr(provisioning, "TenantId", broken_id)
    with pytest.raises((asyncpg.DivisionByZeroError, RuntimeError)):
        await create_tenant(db.engine, NewTenant(slug, "Broken", "REGION"),
                            role_prefix=db.settings.role_prefix, app_role=db.settings.app_role)
    assert await _traces(admin_conn, slug, db.settings.role_prefix) == (0, 0, 0)


async def test_duplicate_slug_is_refused_and_the_first_is_untouched(db: Database,
                                                                     admin_conn: asyncpg.Connection) -> None:
    slug = f"d-{secrets.token_hex(4)}"
    first = await create_tenant(db.engine, NewTenant(slug, "First", "REGION"),
                                role_prefix=db.settings.role_prefix, app_role=db.settings.app_role)
    with pytest.raises(Conflict) as refused:
        await create_tenant(db.engine, NewTenant(slug, "Second", "COHORT"),
                            role_prefix=db.settings.role_prefix, app_role=db.settings.app_role)
    assert "already exists" in refused.value.message
    row = await admin_conn.fetchrow("SELECT id, name, kind FROM control.tenant WHERE slug = $1", slug)
    assert row is not None
    assert (row["id"], row["name"], row["kind"]) == (first.id, "First", "REGION")


async def test_invalid_name_and_kind_are_refused(db: Database) -> None:
    with pytest.raises(InvalidInput, match="name"):
        await create_tenant(db.engine, NewTenant("ok-slug", "   ", "REGION"),
                            role_prefix=db.settings.role_prefix, app_role=db.settings.app_role)
    with pytest.raises(InvalidInput, match="kind"):
        await create_tenant(db.engine, NewTenant("ok-slug", "Fine", "COUNTY"),
                            role_prefix=db.settings.role_prefix, app_role=db.settings.app_role)


async def test_migrate_reaches_every_tenant_and_is_idempotent(db: Database, admin_conn: asyncpg.Connection) -> None:
    await migrate(db)
    await migrate(db)
    behind = await admin_conn.fetchval("SELECT count(*) FROM control.tenant WHERE schema_revision IS DISTINCT FROM $1",
                                       migrations.head("tenant"))
    assert behind == 0


async def test_migrate_sets_the_app_role_password_from_app_database_url(db: Database,
                                                                        admin_conn: asyncpg.Connection) -> None:
    from dataclasses import replace

    url = f"postgresql://{db.settings.app_role}:s3cret-'quoted@127.0.0.1/x"
    with_password = Database(settings=replace(db.settings, app_database_url=url), admin_url=db.admin_url,
                             engine=db.engine)
    await migrate(with_password)
    stored = await admin_conn.fetchval("SELECT rolpassword FROM pg_authid WHERE rolname = $1", db.settings.app_role)
    assert stored is not None
    assert stored.startswith("SCRAM-SHA-256$")


async def test_provision_records_its_event_in_the_same_transaction(db: Database, admin_conn: asyncpg.Connection,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    slug = f"e-{secrets.token_hex(4)}"
    record = await provisioning.provision(db.engine, NewTenant(slug, "Evented", "REGION"), status="PROVISIONING",
                                          role_prefix=db.settings.role_prefix, app_role=db.settings.app_role,
                                          actor="someone")
    assert (record.slug, record.status, record.schema_revision) == (slug, "PROVISIONING", migrations.head("tenant"))
    events = await admin_conn.fetch("SELECT action, from_status, to_status, actor FROM control.tenant_event "
                                    "WHERE tenant_id = $1", record.id)
    assert [tuple(e.values()) for e in events] == [("PROVISIONED", None, "PROVISIONING", "someone")]

    # A failure after the event leaves neither the tenant nor the event.
    failing = f"e-{secrets.token_hex(4)}"
    recorded = lifecycle.record_event

    async def then_fail(*args: object, **kwargs: object) -> None:
        await recorded(*args, **kwargs)  # type: ignore[arg-type]
        raise RuntimeError("failed after the event")

    monkeypatch.setattr(lifecycle, "record_event", then_fail)
    with pytest.raises(RuntimeError):
        await provisioning.provision(db.engine, NewTenant(failing, "Evented", "REGION"), actor="someone",
                                     role_prefix=db.settings.role_prefix, app_role=db.settings.app_role)
    assert await _traces(admin_conn, failing, db.settings.role_prefix) == (0, 0, 0)
    assert await admin_conn.fetchval("SELECT count(*) FROM control.tenant_event WHERE slug = $1", failing) == 0


async def test_a_connection_is_replaced_before_tenants_code_piles_up_in_its_server_process(
        db: Database, monkeypatch: pytest.MonkeyPatch) -> None:
    """Each new tenant's trigger functions, once run in a creating transaction (onboarding's first sites fire them),
    stay compiled in that server process with their plans, which every later catalog invalidation walks: a
    connection that creates tenants is closed after CREATIONS_PER_CONNECTION creations, so that no process holds
    more tenants' compiled code than that."""
    monkeypatch.setattr(provisioning, "CREATIONS_PER_CONNECTION", 3)
    engine = create_async_engine(db.engine.url, pool_size=1, max_overflow=0)
    compiled: list[int] = []
    processes: list[int] = []

    async def run_tenant_code(conn: AsyncConnection, record: lifecycle.TenantRecord) -> None:
        q = (await conn.get_raw_connection()).driver_connection
        assert q is not None
        await q.fetchrow(ENTER_TENANT, record.owner_role, record.schema)
        await q.execute("INSERT INTO site (code, name, kind) VALUES ('S1', 'A prison', 'PRISON')")  # a trigger runs
        await q.fetchrow("SELECT set_config('role', 'none', true)")
        compiled.append(await q.fetchval(
            "SELECT count(*) FROM pg_backend_memory_contexts WHERE name = 'PL/pgSQL function' "
            "AND ident NOT LIKE 'control.%'"))  # the control plane's own (the tenant directory's): one per process
        processes.append(await q.fetchval("SELECT pg_backend_pid()"))

    try:
        for _ in range(7):
            await provisioning.provision_with(
                engine, NewTenant(f"w-{secrets.token_hex(4)}", "Worn", "REGION"), role_prefix=db.settings.role_prefix,
                app_role=db.settings.app_role, status="ACTIVE", actor=None, then=run_tenant_code)
    finally:
        await engine.dispose()
    assert compiled == [1, 2, 3, 1, 2, 3, 1]  # one trigger function per tenant, never more than three tenants'
    assert len(set(processes)) == 3
