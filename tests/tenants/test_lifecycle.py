"""Suspend, reactivate, archive and delete; export and restore into a fresh tenant and compare equal."""

from __future__ import annotations

import io
import json
import secrets
import uuid

import asyncpg
import pytest

from service.kernel.database import Database
from service.kernel.errors import Conflict, InvalidInput
from service.kernel.principal import Role, Service
from tenants import export, lifecycle, migrations
from tenants.provisioning import NewTenant, create_tenant
from tenants.slugs import TenantNames
from tests.conftest import CallerFactory, TenantFactory
from tests.tenants.test_isolation import insert_young_adult

TRANSITION = """mutation($slug: String!) {
  %s(input: {slug: $slug}) { tenant { status } outcome errors { code message } }
}"""
DELETE = """mutation($slug: String!, $confirm: String!) {
  deleteTenant(input: {slug: $slug, confirmSlug: $confirm}) { slug outcome errors { code field message } }
}"""


async def test_suspend_and_reactivate(make_tenant: TenantFactory, login: CallerFactory,
                                      admin_conn: asyncpg.Connection) -> None:
    tenant = await make_tenant()
    await insert_young_adult(admin_conn, tenant.schema, uuid.uuid4(), "Example-Kept")
    platform = await login(Role.PLATFORM_ADMIN)
    practitioner = await login(Role.PRACTITIONER, tenant, service=Service.PRISON, sites=("BSI",))
    assert (await practitioner.data("{ sites { code } }"))["sites"]

    done = (await platform.data(TRANSITION % "suspendTenant", {"slug": tenant.slug}))["suspendTenant"]
    assert done == {"tenant": {"status": "SUSPENDED"}, "outcome": "UPDATED", "errors": []}
    again = (await platform.data(TRANSITION % "suspendTenant", {"slug": tenant.slug}))["suspendTenant"]
    assert again["outcome"] == "ALREADY_DONE"

    response = await practitioner.post("{ sites { code } }")
    assert response.status_code == 403
    assert response.json()["errors"][0]["message"] == "This tenant is suspended; access is paused."
    assert await admin_conn.fetchval(f'SELECT count(*) FROM "{tenant.schema}".young_adult') == 1

    done = (await platform.data(TRANSITION % "reactivateTenant", {"slug": tenant.slug}))["reactivateTenant"]
    assert done["tenant"] == {"status": "ACTIVE"}
    assert (await practitioner.data("{ sites { code } }"))["sites"]
    events = await admin_conn.fetch("SELECT action, from_status, to_status FROM control.tenant_event "
                                    "WHERE tenant_id = $1 ORDER BY id", tenant.id)
    assert [tuple(e) for e in events] == [("SUSPENDED", "ACTIVE", "SUSPENDED"), ("REACTIVATED", "SUSPENDED", "ACTIVE")]


async def test_a_revoked_user_is_refused_at_once(make_tenant: TenantFactory, login: CallerFactory) -> None:
    tenant = await make_tenant()
    admin = await login(Role.TENANT_ADMIN, tenant)
    subject = f"pom-{secrets.token_hex(4)}"
    practitioner = await login(Role.PRACTITIONER, tenant, service=Service.PRISON, sites=("BSI",), subject=subject)
    assert (await practitioner.data("{ sites { code } }"))["sites"]
    await admin.data("mutation($s: String!) { revokeRole(input: {subject: $s}) { outcome } }", {"s": subject})
    assert (await practitioner.post("{ sites { code } }")).status_code == 403


async def test_archive_then_delete_with_confirmation(make_tenant: TenantFactory, login: CallerFactory,
                                                     admin_conn: asyncpg.Connection, db: Database) -> None:
    tenant = await make_tenant()
    platform = await login(Role.PLATFORM_ADMIN)
    user = await login(Role.TENANT_ADMIN, tenant)

    refused = (await platform.data(DELETE, {"slug": tenant.slug, "confirm": tenant.slug}))["deleteTenant"]
    assert refused["errors"][0]["code"] == "CONFLICT"
    assert "archive it" in refused["errors"][0]["message"]

    archived = (await platform.data(TRANSITION % "archiveTenant", {"slug": tenant.slug}))["archiveTenant"]
    assert archived["tenant"] == {"status": "ARCHIVED"}
    assert (await user.post("{ sites { code } }")).status_code == 403
    suspend = (await platform.data(TRANSITION % "suspendTenant", {"slug": tenant.slug}))["suspendTenant"]
    assert suspend["errors"][0]["code"] == "CONFLICT"

    unconfirmed = (await platform.data(DELETE, {"slug": tenant.slug, "confirm": "something-else"}))["deleteTenant"]
    assert unconfirmed["errors"][0]["field"] == "confirmSlug"

    deleted = (await platform.data(DELETE, {"slug": tenant.slug, "confirm": tenant.slug}))["deleteTenant"]
    assert deleted == {"slug": tenant.slug, "outcome": "UPDATED", "errors": []}
    names = TenantNames.for_slug(tenant.slug, db.settings.role_prefix)
    assert await admin_conn.fetchval("SELECT count(*) FROM pg_namespace WHERE nspname = $1", names.schema) == 0
    assert await admin_conn.fetchval("SELECT count(*) FROM pg_roles WHERE rolname = ANY($1::text[])",
                                     [names.owner_role, names.runtime_role]) == 0
    assert await admin_conn.fetchval("SELECT count(*) FROM control.tenant WHERE slug = $1", tenant.slug) == 0
    record = await admin_conn.fetchrow("SELECT slug, deleted_by FROM control.tenant_deletion WHERE tenant_id = $1",
                                       tenant.id)
    assert record is not None
    assert record["slug"] == tenant.slug
    assert (await user.post("{ sites { code } }")).status_code == 403

    again = (await platform.data(DELETE, {"slug": tenant.slug, "confirm": tenant.slug}))["deleteTenant"]
    assert again["outcome"] == "ALREADY_DONE"


async def seed_case_data(admin: asyncpg.Connection, schema: str) -> None:
    """Rows across several tables, with a generated column, an identity column, arrays and odd text."""
    ya = uuid.uuid4()
    await insert_young_adult(admin, schema, ya, "Example-O'Brien \"quoted\" ünïcode \\ back\nslash")
    await admin.execute(
        f'INSERT INTO "{schema}".custody_episode '
        "(young_adult_id, prison_site_id, reception_date, sentence_type, crd, ard) "
        "SELECT $1, id, DATE '2025-01-02', 'DETERMINATE', DATE '2026-03-04', DATE '2026-02-01' "
        f'FROM "{schema}".site WHERE code = \'BSI\'', ya)
    await admin.execute(
        f'INSERT INTO "{schema}".audit_event (actor_subject, actor_role, action, subject_types, subject_ids, '
        "young_adult_ids, fields, request_id) VALUES ('pom', 'PRACTITIONER', 'CREATE', '{YoungAdult}', "
        "ARRAY[$1::uuid], ARRAY[$1::uuid], ARRAY['given_name', 'family_name'], 'req-1'), "
        "('pom', 'PRACTITIONER', 'CONSULT', '{YoungAdult}', ARRAY[$1::uuid], ARRAY[$1::uuid], '{}', 'req-2')", ya)


async def export_text(db: Database, slug: str) -> tuple[dict[str, object], list[str]]:
    tenant = await lifecycle.get(db.engine, slug)
    conn = await asyncpg.connect(lifecycle.asyncpg_dsn(db.admin_url))
    try:
        buffer = io.StringIO()
        manifest = await export.export_tenant(conn, tenant, buffer)
    finally:
        await conn.close()
    return manifest, buffer.getvalue().splitlines()


async def restore_text(db: Database, slug: str, text: str) -> None:
    tenant = await lifecycle.get(db.engine, slug)
    conn = await asyncpg.connect(lifecycle.asyncpg_dsn(db.admin_url))
    try:
        await export.restore_tenant(conn, tenant, io.StringIO(text))
    finally:
        await conn.close()


async def test_export_restore_into_a_fresh_tenant_compares_equal(make_tenant: TenantFactory, db: Database,
                                                                 admin_conn: asyncpg.Connection) -> None:
    source = await make_tenant("src")
    await seed_case_data(admin_conn, source.schema)
    manifest, lines = await export_text(db, source.slug)

    assert manifest["format"] == "always-hope-tenant-export"
    assert manifest["schemaRevision"] == migrations.head("tenant")
    tables = {t["name"]: t for t in manifest["tables"]}  # type: ignore[attr-defined]
    # Every table of the schema but the bookkeeping ones, read from the catalog; parents before children.
    catalog = {r["relname"] for r in await admin_conn.fetch(
        "SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
        "WHERE n.nspname = $1 AND c.relkind = 'r'", source.schema)} - {"alembic_version", "reporting_watermark"}
    assert set(tables) == catalog
    order = [t["name"] for t in manifest["tables"]]  # type: ignore[attr-defined]
    assert order.index("site") < order.index("enrolment")
    assert order.index("young_adult") < order.index("enrolment")
    assert (tables["site"]["rows"], tables["audit_event"]["rows"], tables["custody_episode"]["rows"]) == (2, 2, 1)
    assert len(lines) == 1 + sum(t["rows"] for t in tables.values())

    target = await create_tenant(db.engine, NewTenant(f"dst-{secrets.token_hex(4)}", "Restored", "REGION"),
                                 role_prefix=db.settings.role_prefix, app_role=db.settings.app_role)
    await restore_text(db, target.slug, "\n".join(lines) + "\n")
    again, restored_lines = await export_text(db, target.slug)
    assert again["tables"] == manifest["tables"]
    assert restored_lines[1:] == lines[1:]
    # The generated column was recomputed, the identity continues after the restored rows.
    assert await admin_conn.fetchval(f'SELECT earliest_release_date::text FROM "{target.schema}".custody_episode') \
        == "2026-02-01"
    next_id = await admin_conn.fetchval(
        f'INSERT INTO "{target.schema}".audit_event (actor_subject, actor_role, action, subject_types, subject_ids, '
        "young_adult_ids, request_id) VALUES ('x', 'x', 'EXPORT', '{Tenant}', ARRAY[gen_random_uuid()], '{NULL}', 'r') "
        "RETURNING id")
    assert next_id == 3

    # Only into an empty tenant.
    with pytest.raises(Conflict, match="empty"):
        await restore_text(db, target.slug, "\n".join(lines) + "\n")


async def test_a_damaged_export_restores_nothing(make_tenant: TenantFactory, db: Database,
                                                 admin_conn: asyncpg.Connection) -> None:
    source = await make_tenant("src")
    await seed_case_data(admin_conn, source.schema)
    _, lines = await export_text(db, source.slug)
    target = await create_tenant(db.engine, NewTenant(f"dst-{secrets.token_hex(4)}", "Restored", "REGION"),
                                 role_prefix=db.settings.role_prefix, app_role=db.settings.app_role)
    tampered = [line.replace("HMP Brinsford", "HMP Elsewhere") for line in lines]
    with pytest.raises(InvalidInput, match="damaged"):
        await restore_text(db, target.slug, "\n".join(tampered) + "\n")
    assert await admin_conn.fetchval(f'SELECT count(*) FROM "{target.schema}".site') == 0
    with pytest.raises(InvalidInput, match="not a tenant export"):
        await restore_text(db, target.slug, json.dumps({"hello": 1}) + "\n")
