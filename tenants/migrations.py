"""Two alembic streams: ``control`` (the control-plane schema) and ``tenant`` (applied to every tenant schema,
each with its own ``alembic_version`` table inside the schema).

A tenant is migrated in one transaction as its owner role with ``search_path`` set to its schema: DDL is
transactional in PostgreSQL, so a tenant is either fully migrated or untouched.
"""

from __future__ import annotations

import asyncio
import io
import os
import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Literal

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, text

from tenants.slugs import quote_ident, quote_name_literal

Stream = Literal["control", "tenant"]
CONTROL_SCHEMA = "control"

# alembic keeps its `op` and `context` proxies in module globals, so two upgrades interleaving in one event loop
# (run_sync yields at every statement) would clobber each other. Every alembic run in a process holds this lock;
# parallelism across tenants comes from separate processes, never from coroutines.
ALEMBIC_LOCK = asyncio.Lock()


def alembic_dir() -> Path:
    """The repository's ``alembic/`` in a checkout; the copy shipped inside the wheel otherwise."""
    here = Path(__file__).resolve().parent
    for candidate in (here / "alembic", here.parent / "alembic"):
        if (candidate / "env.py").is_file():
            return candidate
    raise RuntimeError("alembic scripts not found beside the tenants package")


def make_config(stream: Stream, connection: Connection | None = None, schema: str = CONTROL_SCHEMA,
                extra_locations: Sequence[Path] = ()) -> Config:
    """``extra_locations`` adds revision folders to the stream (tests and benchmarks add a revision of their own)."""
    root = alembic_dir()
    cfg = Config()
    cfg.set_main_option("script_location", str(root))
    cfg.set_main_option("version_locations", os.pathsep.join(str(p) for p in (root / stream, *extra_locations)))
    cfg.set_main_option("path_separator", "os")
    cfg.attributes["connection"] = connection
    cfg.attributes["schema"] = schema
    cfg.attributes["stream"] = stream
    return cfg


@cache
def head(stream: Stream) -> str:
    heads = ScriptDirectory.from_config(make_config(stream)).get_heads()
    assert len(heads) == 1, f"the {stream} stream must have exactly one head, has {heads}"
    return heads[0]


def stream_head(stream: Stream, extra_locations: Sequence[Path] = ()) -> str:
    """The head of a stream including extra revision folders (uncached: the folders may change between calls)."""
    if not extra_locations:
        return head(stream)
    heads = ScriptDirectory.from_config(make_config(stream, extra_locations=extra_locations)).get_heads()
    assert len(heads) == 1, f"the {stream} stream must have exactly one head, has {heads}"
    return heads[0]


def current_revision(connection: Connection, schema: str) -> str | None:
    ctx = MigrationContext.configure(connection, opts={"version_table_schema": schema})
    return ctx.get_current_revision()


def tenant_revisions(connection: Connection, slugs: Sequence[str] | None = None) -> dict[str, str | None]:
    """Each tenant's revision as its own ``alembic_version`` table records it (None: no version table), by slug.

    The schema's own table is the truth: ``control.tenant.schema_revision`` is a copy that a restore, a manual
    alembic run or a failed write can leave behind. One statement per 500 tenants; schema names come from the
    registry and are quoted as identifiers."""
    rows = connection.execute(text(
        "SELECT slug, schema_name, to_regclass(format('%I.alembic_version', schema_name)) IS NOT NULL AS versioned "
        "FROM control.tenant WHERE (CAST(:slugs AS text[]) IS NULL OR slug = ANY(CAST(:slugs AS text[]))) "
        "ORDER BY slug"), {"slugs": list(slugs) if slugs is not None else None}).all()
    revisions: dict[str, str | None] = {r.slug: None for r in rows}
    versioned = [r for r in rows if r.versioned]
    for start in range(0, len(versioned), 500):
        chunk = versioned[start:start + 500]
        union = " UNION ALL ".join(
            f"SELECT CAST(:s{i} AS text) AS slug, version_num FROM {quote_ident(r.schema_name)}.alembic_version"
            for i, r in enumerate(chunk))
        for slug, version in connection.execute(text(union), {f"s{i}": r.slug for i, r in enumerate(chunk)}):
            revisions[slug] = version
    return revisions


def upgrade_control(connection: Connection) -> None:
    """Upgrade the control plane on ``connection`` inside the caller's transaction."""
    connection.execute(text(f'CREATE SCHEMA IF NOT EXISTS "{CONTROL_SCHEMA}"'))
    command.upgrade(make_config("control", connection, CONTROL_SCHEMA), "head")


def upgrade_tenant_schema(connection: Connection, schema: str, owner_role: str, runtime_role: str,
                          target: str = "head", extra_locations: Sequence[Path] = ()) -> None:
    """Upgrade one tenant schema inside the caller's transaction, as the tenant's owner role. Migrations that
    restrict the runtime role (the append-only audit trail) read its name from ``always_hope.runtime_role``."""
    connection.execute(text("SELECT set_config('role', :r, true), set_config('search_path', :s, true), "
                            "set_config('always_hope.runtime_role', :rt, true)"),
                       {"r": owner_role, "s": schema, "rt": runtime_role})
    command.upgrade(make_config("tenant", connection, schema, extra_locations), target)
    connection.execute(text("SELECT set_config('role', 'none', true), set_config('search_path', 'public', true)"))


BASELINE_FILE = "tenant_baseline.sql"
BASELINE_HEADER = re.compile(r"-- tenant baseline at revision (?P<revision>\S+)\n")
# Placeholders for the tenant's names in the baseline; each is substituted before the text reaches the server.
SCHEMA_NAME, OWNER_NAME, RUNTIME_NAME = "@schema@", "@owner@", "@runtime@"


def default_privileges_sql(schema: str, owner_role: str, runtime_role: str) -> str:
    """What the runtime role may do with whatever the owner creates in the schema (tables and their sequences)."""
    owner, runtime, quoted = (quote_ident(n) for n in (owner_role, runtime_role, schema))
    return (f"ALTER DEFAULT PRIVILEGES FOR ROLE {owner} IN SCHEMA {quoted} "
            f"GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO {runtime};\n"
            f"ALTER DEFAULT PRIVILEGES FOR ROLE {owner} IN SCHEMA {quoted} "
            f"GRANT USAGE, SELECT ON SEQUENCES TO {runtime};\n")


@dataclass(frozen=True, slots=True)
class Baseline:
    """A tenant schema at ``revision`` as one SQL text: generated (``python -m tenants.baseline``) by migrating a
    scratch tenant revision by revision and dumping it, its own names replaced by placeholders. It makes what the
    revisions make without their history (no table made and dropped again, no column added by a rewrite) —
    tests/tenants/test_rendered_schema.py proves it, catalog for catalog. It sets the schema's default privileges
    itself (first, then only the grants that differ from them)."""

    revision: str
    sql: str


def baseline_path() -> Path:
    return alembic_dir() / BASELINE_FILE


def read_baseline() -> Baseline | None:
    """The generated baseline, or None when there is none or its revision is not in the tenant stream."""
    path = baseline_path()
    if not path.is_file():
        return None
    sql = path.read_text()
    header = BASELINE_HEADER.match(sql)
    if header is None:
        return None
    revision = header["revision"]
    if ScriptDirectory.from_config(make_config("tenant")).get_revision(revision) is None:
        return None
    return Baseline(revision, sql)


@dataclass(frozen=True, slots=True)
class TenantScript:
    """A new tenant's schema at ``revision`` as one SQL text: the baseline (when there is one in the stream), then
    every later revision's statements as ``alembic upgrade`` would run them, version stamps included, unqualified
    (the caller sets ``search_path``). Without a baseline, every revision from the first."""

    revision: str
    baseline: Baseline | None
    revisions: str


@cache
def _render_tenant_script(extra_locations: tuple[Path, ...]) -> TenantScript:
    buffer = io.StringIO()
    cfg = make_config("tenant", None, CONTROL_SCHEMA, extra_locations)
    cfg.output_buffer = buffer
    target = stream_head("tenant", extra_locations)
    baseline = read_baseline()
    if baseline is None:
        command.upgrade(cfg, "head", sql=True)  # alembic's offline mode: renders, touches no database
    elif baseline.revision != target:
        command.upgrade(cfg, f"{baseline.revision}:head", sql=True)
    return TenantScript(target, baseline, buffer.getvalue())


def tenant_script(extra_locations: Sequence[Path] = ()) -> TenantScript:
    """The tenant stream rendered for a new tenant (once per process and set of revision folders). A new tenant
    runs it in one round trip instead of replaying the revisions through alembic; a test proves the result equal,
    catalog for catalog, to a tenant migrated revision by revision. Renders under alembic's global proxies: call
    it holding :data:`ALEMBIC_LOCK` from async code."""
    return _render_tenant_script(tuple(extra_locations))


def tenant_script_sql(script: TenantScript, schema: str, owner_role: str, runtime_role: str) -> str:
    """``script`` run as :func:`upgrade_tenant_schema` runs a revision — as the owner role, in the schema, with the
    runtime role's name in ``always_hope.runtime_role`` — then back to the caller's role. One text, for one round
    trip (the simple-query protocol) inside the caller's transaction, in a schema that has no default privileges
    yet (the baseline sets them after its objects; without one, they are set first)."""
    if script.baseline is None:
        head = default_privileges_sql(schema, owner_role, runtime_role)
    else:
        # Bare, as pg_dump wrote the names it replaced (identifiers, and the search_path its functions pin): names
        # derived from a slug never need quoting, and quote_ident refuses any other.
        names = {SCHEMA_NAME: schema, OWNER_NAME: owner_role, RUNTIME_NAME: runtime_role}
        for name in names.values():
            quote_ident(name)
        head = re.sub("|".join(map(re.escape, names)), lambda m: names[m[0]], script.baseline.sql)
        # Function bodies are checked once every table exists, as a restore does.
        head = (f"SELECT set_config('always_hope.check_function_bodies', current_setting('check_function_bodies'), "
                f"true), set_config('check_function_bodies', 'off', true);\n{head}\n"
                "SELECT set_config('check_function_bodies', current_setting('always_hope.check_function_bodies'), "
                "true);\n")
    return (f"SELECT set_config('role', {quote_name_literal(owner_role)}, true), "
            f"set_config('search_path', {quote_name_literal(schema)}, true), "
            f"set_config('always_hope.runtime_role', {quote_name_literal(runtime_role)}, true);\n"
            f"{head}{script.revisions}\n"
            "SELECT set_config('role', 'none', true), set_config('search_path', 'public', true);\n")
