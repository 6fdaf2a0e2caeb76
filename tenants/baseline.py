"""The tenant baseline (``alembic/tenant_baseline.sql``): a tenant schema at the head revision as one SQL text, for
provisioning to create new tenants from (tenants.migrations.tenant_script).

    DATABASE_URL=postgresql://postgres@127.0.0.1:5432/postgres python -m tenants.baseline

Generated, never edited: a scratch database gets one tenant schema migrated revision by revision, exactly as the
runner migrates one, and ``pg_dump`` (of the server's major version) writes it out. What the dump says about the
schema itself (its creation, its USAGE grant) is left out — provisioning makes those — and the scratch tenant's
names become placeholders. Regenerate after adding a tenant revision: until then provisioning runs the baseline
and then the newer revisions, which is correct but slower, and a test says the baseline is behind.
"""

from __future__ import annotations

import asyncio
import os
import re
import secrets
import subprocess
import sys

import asyncpg
from sqlalchemy import make_url, text
from sqlalchemy.ext.asyncio import create_async_engine
from sqlalchemy.pool import NullPool

from tenants import migrations
from tenants.provisioning import tenant_roles_and_schema_sql
from tenants.slugs import TenantNames

# pg_dump's table of contents: each entry opens with a comment naming the object and its kind.
ENTRY = re.compile(r"^--\n-- (?:Data for )?Name: (?P<name>.*?); Type: (?P<type>.*?); Schema: .*?; Owner: .*\n--\n",
                   re.MULTILINE)
# Entries provisioning makes itself (the schema and its USAGE grant); everything else in the schema is kept.
LEFT_OUT = {"SCHEMA"}
# psql meta-commands and the session settings pg_dump sets between entries (default_tablespace, the table access
# method: the defaults; a plain SET would outlive the transaction on a pooled connection).
META = re.compile(r"^(?:\\(?:restrict|unrestrict) \S+|SET \w+ = .*;)\n?", re.MULTILINE)


CONSTRAINT = re.compile(r"ALTER TABLE ONLY (?P<table>\S+)\n\s+ADD (?P<clause>CONSTRAINT [^;]*);", re.DOTALL)
CREATE_TABLE = re.compile(r"CREATE TABLE (?P<table>\S+) \(\n.*?(?=\n\);)", re.DOTALL)
REFERENCES = re.compile(r"\bREFERENCES (?P<table>[^\s(]+)\(")


def inline_constraints(entries: list[tuple[str, str, str]]) -> list[tuple[str, str, str]]:
    """Primary keys, unique and foreign keys written inside their CREATE TABLE, tables ordered so that a table comes
    after those it references. pg_dump adds them afterwards (ALTER TABLE … ADD CONSTRAINT), as a restore into tables
    holding rows must; added that way, each foreign key runs a query to validate rows that a new table cannot have
    (measured: about a fifth of the bare DDL's time). A foreign key in a cycle of references stays where pg_dump put
    it. The same constraints, names and definitions either way: tests/tenants/test_rendered_schema.py compares."""
    tables: dict[str, int] = {}  # table → its entry
    for i, (kind, _name, body) in enumerate(entries):
        created = CREATE_TABLE.match(body) if kind == "TABLE" else None
        if created is not None:
            tables[created["table"]] = i
    constraints: dict[int, tuple[str, str, set[str]]] = {}  # entry → (table, clause, other tables it references)
    for i, (kind, _name, body) in enumerate(entries):
        found = CONSTRAINT.fullmatch(body) if kind in ("CONSTRAINT", "FK CONSTRAINT") else None
        if found is not None and found["table"] in tables:
            targets = set(REFERENCES.findall(found["clause"])) - {found["table"]}
            constraints[i] = (found["table"], found["clause"], targets)
    needs = {t: set().union(*(c[2] for c in constraints.values() if c[0] == t)) & tables.keys() for t in tables}
    order: list[str] = []
    pending = sorted(tables, key=tables.__getitem__)  # pg_dump's order, each table once those it references exist
    while pending:
        ready = next((t for t in pending if needs[t] <= set(order)), None)
        if ready is None:  # a cycle: the rest in pg_dump's order, their foreign keys added as pg_dump adds them
            order += pending
            break
        order.append(ready)
        pending.remove(ready)
    position = {t: n for n, t in enumerate(order)}
    inlined = {i for i, (table, _c, targets) in constraints.items()
               if all(position.get(t, -1) < position[table] for t in targets)}
    result: list[tuple[str, str, str]] = []
    for i, entry in enumerate(entries):
        if i == min(tables.values()):
            for table in order:
                kind, name, body = entries[tables[table]]
                extra = "".join(f",\n    {constraints[c][1]}" for c in sorted(inlined) if constraints[c][0] == table)
                created = CREATE_TABLE.match(body)
                assert created is not None
                result.append((kind, name, body[:created.end()] + extra + body[created.end():]))
        if i not in tables.values() and i not in inlined:
            result.append(entry)
    return result


DEFAULT_GRANT = re.compile(r"ALTER DEFAULT PRIVILEGES FOR ROLE (?P<owner>\S+) IN SCHEMA (?P<schema>\S+) "
                           r"GRANT (?P<privileges>\S+) ON (?P<kind>TABLES|SEQUENCES)\s+TO (?P<grantee>\S+);")
# The objects each kind of default privilege applies to, by pg_dump's entry type, and as ACL entries name them.
DEFAULT_KINDS = {"TABLES": ({"TABLE", "VIEW", "MATERIALIZED VIEW", "FOREIGN TABLE"}, "TABLE"),
                 "SEQUENCES": ({"SEQUENCE"}, "SEQUENCE")}


def grants_by_default(entries: list[tuple[str, str, str]], schema: str) -> list[tuple[str, str, str]]:
    """The schema's default privileges first, so that objects are made with the grants they end with, and an
    object's grants only where they differ from those (all of its grantee's privileges revoked, then its own given).
    pg_dump sets them last and grants every object its privileges one statement at a time, an update of each
    object's catalog row: measured, about 8% of the bare DDL's time. Left as pg_dump wrote it when a default
    privilege is not one plain GRANT."""
    defaults = [e for e in entries if e[0] == "DEFAULT ACL"]
    parsed = [DEFAULT_GRANT.fullmatch(body) for _k, _n, body in defaults]
    if not parsed or any(p is None or p["schema"] != schema for p in parsed):
        return entries
    by_kind: dict[str, list[tuple[str, str]]] = {}
    for found in parsed:
        assert found is not None
        by_kind.setdefault(DEFAULT_KINDS[found["kind"]][1], []).append((found["privileges"], found["grantee"]))
    acl = {name: i for i, (kind, name, _b) in enumerate(entries) if kind == "ACL"}
    result = list(defaults)
    for kind, name, body in entries:
        if kind == "DEFAULT ACL":
            continue
        object_kind = next((k for types, k in DEFAULT_KINDS.values() if kind in types), None)
        if kind == "ACL" and name.split(" ", 1)[0] in by_kind:
            object_kind, object_name = name.split(" ", 1)
            given = {f"GRANT {privileges} ON {object_kind} {schema}.{object_name} TO {grantee};"
                     for privileges, grantee in by_kind[object_kind]}
            if set(body.splitlines()) == given:
                continue  # the defaults gave exactly these
            revoke = "".join(f"REVOKE ALL ON {object_kind} {schema}.{object_name} FROM {grantee};\n"
                             for grantee in sorted({g for _p, g in by_kind[object_kind]}))
            result.append((kind, name, revoke + body))
            continue
        result.append((kind, name, body))
        if object_kind in by_kind and f"{object_kind} {name}" not in acl:  # no privileges at all: none by default
            result.append(("ACL", f"{object_kind} {name}", "".join(
                f"REVOKE ALL ON {object_kind} {schema}.{name} FROM {grantee};\n"
                for grantee in sorted({g for _p, g in by_kind[object_kind]})).strip()))
    return result


def normalise(dump: str, names: TenantNames) -> str:
    """The dump's entries for the schema's contents, in pg_dump's order (constraints inlined), with the scratch
    names replaced."""
    matches = list(ENTRY.finditer(dump))
    entries = []
    for match, following in zip(matches, [*matches[1:], None], strict=True):
        body = dump[match.end():following.start() if following is not None else len(dump)]
        if match["type"] in LEFT_OUT or (match["type"] == "ACL" and match["name"].startswith("SCHEMA ")):
            continue
        body = META.sub("", body).strip()
        if following is None:  # the last entry runs to the dump's closing comment
            body = body.split("\n--\n-- PostgreSQL database dump complete", 1)[0].strip()
        if body:
            entries.append((match["type"], match["name"], body))
    entries = grants_by_default(inline_constraints(entries), names.schema)
    sql = "\n".join(f"-- {kind}: {name}\n{body}\n" for kind, name, body in entries)
    for name, placeholder in ((names.owner_role, migrations.OWNER_NAME), (names.runtime_role, migrations.RUNTIME_NAME),
                              (names.schema, migrations.SCHEMA_NAME)):
        sql = re.sub(rf"\b{re.escape(name)}\b", placeholder, sql)
    return sql


async def generate(server_url: str) -> str:
    """Render the baseline at the tenant stream's head on the server at ``server_url`` (a superuser URL)."""
    run = secrets.token_hex(4)
    database = f"always_hope_baseline_{run}"
    plain = make_url(server_url).set(drivername="postgresql")
    admin = await asyncpg.connect(plain.render_as_string(hide_password=False))
    names = TenantNames.for_slug("baseline", f"ahbl{run}")
    url = plain.set(database=database)
    engine = create_async_engine(url.set(drivername="postgresql+asyncpg"), poolclass=NullPool)
    await admin.execute(f'CREATE DATABASE "{database}"')
    try:
        async with engine.begin() as conn:
            user = (await conn.execute(text("SELECT current_user"))).scalar_one()
            driver = (await conn.get_raw_connection()).driver_connection
            assert driver is not None
            await driver.execute(tenant_roles_and_schema_sql(names, user) + migrations.default_privileges_sql(
                names.schema, names.owner_role, names.runtime_role))
            async with migrations.ALEMBIC_LOCK:
                await conn.run_sync(migrations.upgrade_tenant_schema, names.schema, names.owner_role,
                                    names.runtime_role)
        env = {**os.environ, **({"PGPASSWORD": url.password} if url.password else {})}
        dump = (await asyncio.to_thread(
            subprocess.run,
            ["pg_dump", "--no-owner", "--inserts", "--schema", names.schema, "--host", url.host or "localhost",
             "--port", str(url.port or 5432), "--username", url.username or "postgres", "--dbname", database],
            check=True, capture_output=True, text=True, env=env)).stdout
    finally:
        await engine.dispose()
        await admin.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
        for role in (names.owner_role, names.runtime_role):
            await admin.execute(f'DROP ROLE IF EXISTS "{role}"')
        await admin.close()
    head = migrations.head("tenant")
    return (f"-- tenant baseline at revision {head}\n"
            "-- Generated by `python -m tenants.baseline` from the tenant revisions; do not edit.\n"
            f"-- {migrations.SCHEMA_NAME}, {migrations.OWNER_NAME} and {migrations.RUNTIME_NAME} are the tenant's "
            "schema, owner role and runtime role.\n\n" + normalise(dump, names))


def main() -> int:
    server = os.environ.get("DATABASE_URL")
    if not server:
        print("Set DATABASE_URL to a superuser URL on a server of the production major version.", file=sys.stderr)
        return 2
    migrations.baseline_path().write_text(asyncio.run(generate(server)))
    print(f"wrote {migrations.baseline_path()} at revision {migrations.head('tenant')}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
