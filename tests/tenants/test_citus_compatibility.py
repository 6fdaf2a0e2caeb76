"""Our tenant DDL against what Citus schema-based sharding needs (deploy/SCALE-OUT.md says why each rule exists).

The checks read the catalog of freshly provisioned tenants, so every migration is covered as soon as it exists.
A second test plants each kind of violation in a throwaway tenant and shows the checks catch it.
"""

from __future__ import annotations

import re
from pathlib import Path

import asyncpg

from tests.conftest import TenantFactory

# Objects that belong to a schema, as (catalog, the catalog's row in pg_depend terms, how to find its schema).
_OWNED_BY_SCHEMA = """
    SELECT 'pg_class'::regclass AS classid, c.oid AS objid FROM pg_class c WHERE c.relnamespace = $1::regnamespace
    UNION ALL SELECT 'pg_attrdef'::regclass, d.oid FROM pg_attrdef d
        JOIN pg_class c ON c.oid = d.adrelid WHERE c.relnamespace = $1::regnamespace
    UNION ALL SELECT 'pg_constraint'::regclass, k.oid FROM pg_constraint k WHERE k.connamespace = $1::regnamespace
    UNION ALL SELECT 'pg_trigger'::regclass, t.oid FROM pg_trigger t
        JOIN pg_class c ON c.oid = t.tgrelid WHERE c.relnamespace = $1::regnamespace
    UNION ALL SELECT 'pg_rewrite'::regclass, r.oid FROM pg_rewrite r
        JOIN pg_class c ON c.oid = r.ev_class WHERE c.relnamespace = $1::regnamespace
    UNION ALL SELECT 'pg_proc'::regclass, p.oid FROM pg_proc p WHERE p.pronamespace = $1::regnamespace
    UNION ALL SELECT 'pg_type'::regclass, y.oid FROM pg_type y WHERE y.typnamespace = $1::regnamespace
"""

# The schema of whatever a pg_depend row points at (relations, functions, types, collations, operators, schemas).
_REFERENCED_SCHEMA = """
    CASE d.refclassid
        WHEN 'pg_class'::regclass THEN (SELECT relnamespace FROM pg_class WHERE oid = d.refobjid)
        WHEN 'pg_proc'::regclass THEN (SELECT pronamespace FROM pg_proc WHERE oid = d.refobjid)
        WHEN 'pg_type'::regclass THEN (SELECT typnamespace FROM pg_type WHERE oid = d.refobjid)
        WHEN 'pg_collation'::regclass THEN (SELECT collnamespace FROM pg_collation WHERE oid = d.refobjid)
        WHEN 'pg_operator'::regclass THEN (SELECT oprnamespace FROM pg_operator WHERE oid = d.refobjid)
        WHEN 'pg_namespace'::regclass THEN d.refobjid
    END
"""


async def violations(conn: asyncpg.Connection, schema: str, owner: str) -> list[str]:
    """Every way the schema breaks a rule of deploy/SCALE-OUT.md, described; empty when it is compatible."""
    found: list[str] = []

    # 1. Foreign keys stay inside the schema, in both directions (Citus: "foreign keys from distributed schemas can
    #    only point to the same distributed schema or reference tables"; none may point into one from elsewhere).
    for row in await conn.fetch(
            "SELECT k.conname, k.conrelid::regclass::text AS src, k.confrelid::regclass::text AS dst "
            "FROM pg_constraint k JOIN pg_class s ON s.oid = k.conrelid JOIN pg_class t ON t.oid = k.confrelid "
            "WHERE k.contype = 'f' AND (s.relnamespace = $1::regnamespace) <> (t.relnamespace = $1::regnamespace) "
            "AND $1::regnamespace IN (s.relnamespace, t.relnamespace)", schema):
        found.append(f"foreign key {row['conname']} crosses the schema boundary: {row['src']} -> {row['dst']}")

    # 2. Nothing in the schema depends on an object of another schema, pg_catalog apart (defaults, checks, views,
    #    triggers, functions, column types): each schema must be movable to a worker on its own.
    for row in await conn.fetch(
            f"WITH mine AS ({_OWNED_BY_SCHEMA}) "
            f"SELECT DISTINCT d.classid::regclass::text AS what, pg_describe_object(d.classid, d.objid, d.objsubid) "
            f"AS obj, pg_describe_object(d.refclassid, d.refobjid, d.refobjsubid) AS target, "
            f"({_REFERENCED_SCHEMA})::regnamespace::text AS target_schema "
            f"FROM pg_depend d JOIN mine m ON m.classid = d.classid AND m.objid = d.objid "
            f"WHERE d.deptype IN ('n', 'a') AND ({_REFERENCED_SCHEMA}) IS NOT NULL "
            f"AND ({_REFERENCED_SCHEMA}) NOT IN ($1::regnamespace, 'pg_catalog'::regnamespace)", schema):
        found.append(f"{row['obj']} depends on {row['target']} in schema {row['target_schema']}")

    # 3. Sequences belong to a column of a table in the same schema (or do not exist: we use uuids).
    for row in await conn.fetch(
            "SELECT s.oid::regclass::text AS seq, (SELECT t.relnamespace::regnamespace::text FROM pg_depend d "
            "  JOIN pg_class t ON t.oid = d.refobjid WHERE d.classid = 'pg_class'::regclass AND d.objid = s.oid "
            "  AND d.refclassid = 'pg_class'::regclass AND d.deptype IN ('a', 'i')) AS owner_schema "
            "FROM pg_class s WHERE s.relkind = 'S' AND s.relnamespace = $1::regnamespace", schema):
        if row["owner_schema"] != schema:
            found.append(f"sequence {row['seq']} is not owned by a column of this schema")

    # 4. Every table has a primary key: shard moves use logical replication, which needs a replica identity.
    for row in await conn.fetch(
            "SELECT c.oid::regclass::text AS t FROM pg_class c WHERE c.relnamespace = $1::regnamespace "
            "AND c.relkind IN ('r', 'p') AND NOT EXISTS (SELECT 1 FROM pg_constraint k "
            "WHERE k.conrelid = c.oid AND k.contype = 'p')", schema):
        found.append(f"table {row['t']} has no primary key")

    # 5. Table kinds Citus accepts in a distributed schema: no foreign tables, no inheritance across the boundary.
    for row in await conn.fetch(
            "SELECT c.oid::regclass::text AS t FROM pg_class c WHERE c.relnamespace = $1::regnamespace "
            "AND c.relkind = 'f'", schema):
        found.append(f"{row['t']} is a foreign table")
    for row in await conn.fetch(
            "SELECT i.inhrelid::regclass::text AS child, i.inhparent::regclass::text AS parent "
            "FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid JOIN pg_class p ON p.oid = i.inhparent "
            "WHERE $1::regnamespace IN (c.relnamespace, p.relnamespace) AND (c.relnamespace <> p.relnamespace "
            "OR p.relkind <> 'p')", schema):
        found.append(f"{row['child']} inherits from {row['parent']} (only partitions in the same schema are allowed)")

    # 6. The owner role owns every relation (citus_schema_distribute runs as the tables' owner), and no extension
    #    owns anything in the schema.
    for row in await conn.fetch(
            "SELECT c.oid::regclass::text AS t, pg_get_userbyid(c.relowner) AS owner FROM pg_class c "
            "WHERE c.relnamespace = $1::regnamespace AND pg_get_userbyid(c.relowner) <> $2", schema, owner):
        found.append(f"{row['t']} is owned by {row['owner']}, not the tenant's owner role")
    for row in await conn.fetch(
            f"WITH mine AS ({_OWNED_BY_SCHEMA}) SELECT pg_describe_object(d.classid, d.objid, 0) AS obj "
            "FROM pg_depend d JOIN mine m ON m.classid = d.classid AND m.objid = d.objid WHERE d.deptype = 'e'",
            schema):
        found.append(f"{row['obj']} belongs to an extension")
    if schema in ("public", "information_schema") or schema.startswith("pg_"):
        found.append(f"schema name {schema} cannot be distributed")
    return found


async def owner_of(conn: asyncpg.Connection, schema: str) -> str:
    owner: str = await conn.fetchval("SELECT owner_role FROM control.tenant WHERE schema_name = $1", schema)
    return owner


async def test_provisioned_tenant_schemas_are_compatible_with_schema_based_sharding(
        make_tenant: TenantFactory, admin_conn: asyncpg.Connection) -> None:
    for tenant in (await make_tenant("region"), await make_tenant("cohort", kind="COHORT")):
        tables = await admin_conn.fetchval("SELECT count(*) FROM pg_class WHERE relnamespace = $1::regnamespace "
                                           "AND relkind = 'r'", tenant.schema)
        assert tables >= 5, "the check must see the tenant's tables"
        assert await violations(admin_conn, tenant.schema, await owner_of(admin_conn, tenant.schema)) == []


async def test_the_checks_catch_each_kind_of_violation(make_tenant: TenantFactory,
                                                       admin_conn: asyncpg.Connection) -> None:
    tenant, other = await make_tenant("bad"), await make_tenant("other")
    s, o = f'"{tenant.schema}"', f'"{other.schema}"'
    async with admin_conn.transaction():
        await admin_conn.execute(f"""
            CREATE TABLE {s}.points_at_control (id uuid PRIMARY KEY, tenant_id uuid REFERENCES control.tenant (id));
            CREATE TABLE {o}.points_into_tenant (id uuid PRIMARY KEY, site_id uuid REFERENCES {s}.site (id));
            CREATE SEQUENCE public.shared_counter;
            CREATE TABLE {s}.counted (id bigint PRIMARY KEY DEFAULT nextval('public.shared_counter'));
            CREATE VIEW {s}.across AS SELECT t.slug FROM control.tenant t;
            CREATE TABLE {s}.no_key (note text);
            CREATE SEQUENCE {s}.loose;
        """)
        found = "\n".join(await violations(admin_conn, tenant.schema, await owner_of(admin_conn, tenant.schema)))
        checks = {
            "fk to control plane": "points_at_control_tenant_id_fkey crosses",
            "fk from another tenant": "points_into_tenant_site_id_fkey crosses",
            "shared sequence": "depends on sequence shared_counter in schema public",
            "cross-schema view": "on view " + tenant.schema + ".across depends on column slug of table control.tenant",
            "no primary key": "no_key has no primary key",
            "loose sequence": "loose is not owned by a column",
            "owner": "is owned by",  # the superuser created these, not the tenant's owner role
        }
        missing = [name for name, text in checks.items() if text not in found]
        await admin_conn.execute("SET LOCAL client_min_messages = warning")
        await admin_conn.execute(f"DROP TABLE {o}.points_into_tenant")
        await admin_conn.execute("DROP SEQUENCE public.shared_counter CASCADE")
    assert missing == [], found


REPOSITORIES = sorted((Path(__file__).resolve().parents[2] / "service").glob("*/repository.py"))
# SQL keywords are upper case in our repositories (Python's lower-case `from x.y import` does not match).
QUALIFIED = re.compile(r"\b(?:FROM|JOIN|INTO|UPDATE|REFERENCES)\s+\"?([a-z_][a-z0-9_]*)\"?\s*\.\s*[a-z_]")


def test_request_sql_names_no_schema() -> None:
    """Tenant SQL is unqualified and runs with search_path set to one tenant, so a query can never join across
    tenant schemas (which, once schemas live on different workers, would be a cross-node query). The only schema a
    repository may name is the control plane, which it reads on the application pool's own connection: inside a
    tenant transaction the runtime role is refused the control schema by privileges, so no statement can mix the
    two (tests/tenants/test_isolation.py)."""
    assert REPOSITORIES, "no repository modules found"
    offenders = [f"{path.parent.name}/repository.py: {m.group(0)}" for path in REPOSITORIES
                 for m in QUALIFIED.finditer(path.read_text()) if m.group(1) != "control"]
    assert offenders == []
