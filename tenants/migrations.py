"""Two alembic streams: ``control`` (the control-plane schema) and ``tenant`` (applied to every tenant schema,
each with its own ``alembic_version`` table inside the schema).

A tenant is migrated in one transaction as its owner role with ``search_path`` set to its schema: DDL is
transactional in PostgreSQL, so a tenant is either fully migrated or untouched.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Sequence
from functools import cache
from pathlib import Path
from typing import Literal

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, text

from tenants.slugs import quote_ident

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
