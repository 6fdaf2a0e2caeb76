"""A tenant created from the one rendered script (provisioning) is the tenant the revisions make one by one (the
runner): the same catalog — tables, columns, types, defaults, constraints, indexes, triggers, functions, policies,
sequences, grants, default privileges, owners, comments — and the same rows.

Nothing here lists the tables: both sides are whatever the revisions make, so a new revision is covered the day it
is added; a second case adds a revision of its own (a policy, a function, a data row) through an extra folder.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator, Sequence
from pathlib import Path

import asyncpg
import pytest
from sqlalchemy import text

from service.kernel.database import Database
from tenants import migrations
from tenants.provisioning import NewTenant, create_tenant, tenant_roles_and_schema_sql
from tenants.slugs import TenantNames

# One query per kind of catalog object, each row keyed by names only (no oids); $1 is the schema.
CATALOG: dict[str, str] = {
    "schema": """
        SELECT pg_get_userbyid(nspowner) AS owner, nspacl::text AS acl FROM pg_namespace WHERE nspname = $1""",
    "relations": """
        SELECT c.relname, c.relkind::text, pg_get_userbyid(c.relowner) AS owner, c.relacl::text AS acl,
               c.reloptions::text AS options, c.relpersistence, c.reltoastrelid <> 0 AS toasted, c.relrowsecurity,
               c.relforcerowsecurity, c.relreplident, c.relispartition, c.relnatts
        FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = $1""",
    "columns": """
        SELECT c.relname, a.attnum, a.attname, format_type(a.atttypid, a.atttypmod) AS type, a.attnotnull,
               pg_get_expr(d.adbin, d.adrelid) AS default, a.attgenerated, a.attidentity, a.attisdropped,
               a.attstorage, a.attcompression, co.collname, a.attacl::text AS acl,
               -- this server stamps every column with a "pg_attver" option of its own, never the same twice
               array(SELECT o FROM unnest(a.attoptions) o WHERE split_part(o, '=', 1) <> 'pg_attver')::text AS options
        FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid JOIN pg_namespace n ON n.oid = c.relnamespace
        LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
        LEFT JOIN pg_collation co ON co.oid = a.attcollation
        WHERE n.nspname = $1 AND a.attnum > 0""",
    "constraints": """
        -- PostgreSQL 18 catalogs NOT NULL as constraints (contype 'n') named by the server, which numbers a name
        -- already taken: their names are not ours to compare (nullability is compared with the columns).
        SELECT c.relname, CASE WHEN k.contype = 'n' THEN NULL ELSE k.conname END AS conname, k.contype::text,
               pg_get_constraintdef(k.oid) AS definition, k.condeferrable,
               k.condeferred, k.convalidated
        FROM pg_constraint k JOIN pg_namespace n ON n.oid = k.connamespace
        LEFT JOIN pg_class c ON c.oid = k.conrelid WHERE n.nspname = $1""",
    "indexes": """
        SELECT i.relname, pg_get_indexdef(x.indexrelid) AS definition, x.indisunique, x.indisprimary,
               x.indimmediate, x.indisreplident
        FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid JOIN pg_class t ON t.oid = x.indrelid
        JOIN pg_namespace n ON n.oid = t.relnamespace WHERE n.nspname = $1""",
    "triggers": """
        SELECT c.relname, CASE WHEN t.tgisinternal THEN k.conname ELSE t.tgname END AS name, t.tgisinternal,
               t.tgfoid::regproc::text AS function, t.tgtype, t.tgenabled, t.tgnargs,
               encode(t.tgargs, 'escape') AS args, t.tgattr::text AS columns,
               CASE WHEN t.tgisinternal THEN NULL ELSE pg_get_triggerdef(t.oid) END AS definition
        FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid JOIN pg_namespace n ON n.oid = c.relnamespace
        LEFT JOIN pg_constraint k ON k.oid = t.tgconstraint WHERE n.nspname = $1""",
    "policies": """
        SELECT p.tablename, p.policyname, p.permissive, p.roles::text AS roles, p.cmd, p.qual, p.with_check
        FROM pg_policies p WHERE p.schemaname = $1""",
    "functions": """
        SELECT p.proname, pg_get_function_identity_arguments(p.oid) AS args, pg_get_userbyid(p.proowner) AS owner,
               p.proacl::text AS acl, p.proconfig::text AS config, p.prosecdef, p.provolatile,
               pg_get_functiondef(p.oid) AS definition
        FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace WHERE n.nspname = $1""",
    "sequences": """
        SELECT s.sequencename, s.data_type::text AS type, s.start_value, s.min_value, s.max_value, s.increment_by,
               s.cycle, s.cache_size, s.last_value, pg_get_userbyid(c.relowner) AS owner
        FROM pg_sequences s JOIN pg_namespace n ON n.nspname = s.schemaname
        JOIN pg_class c ON c.relname = s.sequencename AND c.relnamespace = n.oid WHERE s.schemaname = $1""",
    "types": """
        SELECT t.typname, t.typtype, pg_get_userbyid(t.typowner) AS owner, t.typacl::text AS acl
        FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace WHERE n.nspname = $1""",
    "views": """
        SELECT viewname, definition, viewowner FROM pg_views WHERE schemaname = $1""",
    "default privileges": """
        SELECT pg_get_userbyid(d.defaclrole) AS role, d.defaclobjtype, d.defaclacl::text AS acl
        FROM pg_default_acl d JOIN pg_namespace n ON n.oid = d.defaclnamespace WHERE n.nspname = $1""",
    "comments": """
        SELECT c.relname, d.objsubid, d.description FROM pg_description d
        JOIN pg_class c ON c.oid = d.objoid AND d.classoid = 'pg_class'::regclass
        JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = $1""",
}

EXTRA_REVISION = '''"""Test-only: a policy, a function, a view, a comment and a row, as a future revision might add."""
from alembic import op

revision = "t9901"
down_revision = "{head}"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("ALTER TABLE site ENABLE ROW LEVEL SECURITY")
    op.execute("CREATE POLICY site_open ON site FOR SELECT USING (closed_at IS NULL)")
    op.execute("CREATE FUNCTION site_count() RETURNS bigint LANGUAGE sql AS 'SELECT count(*) FROM site'")
    op.execute("CREATE VIEW open_site AS SELECT id, code FROM site WHERE closed_at IS NULL")
    op.execute("COMMENT ON TABLE site IS 'where young adults are met'")
    op.execute("INSERT INTO reporting_watermark (id, changes) VALUES (true, 41)")


def downgrade() -> None:
    pass
'''


async def snapshot(conn: asyncpg.Connection, names: TenantNames) -> dict[str, list[tuple[object, ...]]]:
    """The schema's catalog and rows, with the tenant's own names (schema, roles) replaced by placeholders."""
    def plain(value: object) -> object:
        if not isinstance(value, str):
            return value
        for name, placeholder in ((names.owner_role, "<owner>"), (names.runtime_role, "<runtime>"),
                                  (names.schema, "<schema>")):
            value = value.replace(name, placeholder)
        return value

    found = {}
    for kind, query in CATALOG.items():
        rows = await conn.fetch(query, names.schema)
        found[kind] = sorted((tuple(plain(v) for v in r.values()) for r in rows), key=repr)
    tables = await conn.fetch("SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
                              "WHERE n.nspname = $1 AND c.relkind = 'r' ORDER BY 1", names.schema)
    found["rows"] = [(t["relname"], sorted(map(repr, await conn.fetch(
        f'SELECT * FROM "{names.schema}"."{t["relname"]}"')))) for t in tables]
    return found


async def replayed(db: Database, slug: str, extra: Sequence[Path] = ()) -> TenantNames:
    """A tenant schema made as the runner makes it: the same roles and schema, then alembic, revision by revision."""
    names = TenantNames.for_slug(slug, db.settings.role_prefix)
    async with db.engine.begin() as conn:
        driver = (await conn.get_raw_connection()).driver_connection
        assert driver is not None
        await conn.execute(text("SELECT 1"))  # begins the transaction the driver then runs in
        await driver.execute(tenant_roles_and_schema_sql(names, db.settings.app_role)
                             + migrations.default_privileges_sql(names.schema, names.owner_role, names.runtime_role))
        async with migrations.ALEMBIC_LOCK:
            await conn.run_sync(migrations.upgrade_tenant_schema, names.schema, names.owner_role,
                                names.runtime_role, "head", list(extra))
    return names


async def rendered(db: Database, slug: str, extra: Sequence[Path]) -> TenantNames:
    """A tenant schema made from the rendered script, as provisioning sends it."""
    names = TenantNames.for_slug(slug, db.settings.role_prefix)
    async with migrations.ALEMBIC_LOCK:
        script = migrations.tenant_script(extra)
    async with db.engine.begin() as conn:
        driver = (await conn.get_raw_connection()).driver_connection
        assert driver is not None
        await conn.execute(text("SELECT 1"))
        await driver.execute(tenant_roles_and_schema_sql(names, db.settings.app_role) + migrations.tenant_script_sql(
            script, names.schema, names.owner_role, names.runtime_role))
    return names


@pytest.fixture(params=["from the baseline", "from the revisions alone"])
def baseline(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """Both ways provisioning renders a tenant: the generated baseline, and (were it missing or not in the stream)
    every revision from the first."""
    if request.param == "from the revisions alone":
        monkeypatch.setattr(migrations, "read_baseline", lambda: None)
    migrations._render_tenant_script.cache_clear()
    yield request.param
    migrations._render_tenant_script.cache_clear()


async def test_a_provisioned_tenant_equals_one_migrated_revision_by_revision(
        db: Database, admin_conn: asyncpg.Connection, baseline: str) -> None:
    tenant = await create_tenant(db.engine, NewTenant(f"r-{secrets.token_hex(4)}", "Rendered", "REGION"),
                                 role_prefix=db.settings.role_prefix, app_role=db.settings.app_role)
    ours = await snapshot(admin_conn, TenantNames.for_slug(tenant.slug, db.settings.role_prefix))
    theirs = await snapshot(admin_conn, await replayed(db, f"m-{secrets.token_hex(4)}"))
    for kind in ours:
        assert ours[kind] == theirs[kind], kind
    assert len([r for r in ours["relations"] if r[1] == "r"]) >= 30  # the comparison saw the real schema
    assert ("alembic_version", [f"<Record version_num='{migrations.head('tenant')}'>"]) in ours["rows"]


def test_the_baseline_is_at_the_head_revision() -> None:
    """Provisioning stays correct with a baseline behind the head (it runs the newer revisions after it), but not
    as fast: after adding a tenant revision, run `python -m tenants.baseline` and commit the file."""
    found = migrations.read_baseline()
    assert found is not None, "alembic/tenant_baseline.sql is missing: run `python -m tenants.baseline`"
    assert found.revision == migrations.head("tenant"), "regenerate: `python -m tenants.baseline`"


async def test_with_a_new_revision_the_rendered_script_still_equals_the_replay(
        db: Database, admin_conn: asyncpg.Connection, tmp_path: Path, baseline: str) -> None:
    (tmp_path / "t9901_extra.py").write_text(EXTRA_REVISION.format(head=migrations.head("tenant")))
    ours = await snapshot(admin_conn, await rendered(db, f"r-{secrets.token_hex(4)}", [tmp_path]))
    theirs = await snapshot(admin_conn, await replayed(db, f"m-{secrets.token_hex(4)}", [tmp_path]))
    for kind in ours:
        assert ours[kind] == theirs[kind], kind
    assert ours["policies"]
    assert ours["views"]
    assert ours["comments"]
    assert ("reporting_watermark", ["<Record id=True changes=41>"]) in ours["rows"]


@pytest.mark.parametrize("change", [
    "ALTER TABLE {s}.meeting ALTER COLUMN young_adult_attended SET DEFAULT true",
    "DROP INDEX {s}.audit_event_actor",
    "DROP TRIGGER enrolment_moved ON {s}.enrolment",
    "REVOKE INSERT ON {s}.audit_event FROM {runtime}",
    "ALTER FUNCTION {s}.bump_reporting_watermark() SET work_mem = '1MB'",
    "ALTER TABLE {s}.consent DROP CONSTRAINT consent_check",
    "ALTER TABLE {s}.site ENABLE ROW LEVEL SECURITY",
    "UPDATE {s}.alembic_version SET version_num = 'elsewhere'",
])
async def test_the_comparison_sees_a_difference(db: Database, admin_conn: asyncpg.Connection, change: str) -> None:
    """The comparison can fail: one small change to a schema is seen."""
    names = await replayed(db, f"c-{secrets.token_hex(4)}")
    before = await snapshot(admin_conn, names)
    transaction = admin_conn.transaction()
    await transaction.start()
    try:
        await admin_conn.execute(change.format(s=f'"{names.schema}"', runtime=f'"{names.runtime_role}"'))
        assert await snapshot(admin_conn, names) != before
    finally:
        await transaction.rollback()
