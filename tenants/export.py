"""Export and restore one tenant's data: a complete, self-describing copy, for hand-over or a subject access request.

The file is JSON Lines. The first line is the manifest::

    {"kind": "manifest", "format": "always-hope-tenant-export", "formatVersion": 1, "exportedAt": ...,
     "tenant": {"slug", "name", "kind", "ruleTemplate"}, "schemaRevision": "t0002",
     "tables": [{"name", "primaryKey": [...], "columns": [{"name", "type", "generated"}], "rows", "sha256"}]}

and every other line is one row, ``{"t": table, "v": [values in the manifest's column order]}``, tables in
foreign-key order (parents first). Values are PostgreSQL's own JSON rendering of each column (``to_jsonb``), and a
table's checksum is the SHA-256 of its rows' ``v`` arrays as the server renders them, one per line, in primary-key
order, so a restored tenant exported again gives the same checksums.

Nothing here names a table: the list comes from the catalog of the tenant's schema, so tables that later
migrations add are exported and restored without a change here. Both directions run as the tenant's owner role
with ``search_path`` set to its schema, in one transaction: an export is a consistent snapshot, a restore is all or
nothing and only into a tenant whose tables are all empty and whose schema is at the export's revision.
"""

from __future__ import annotations

import datetime as dt
import graphlib
import hashlib
import json
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import IO, Any

import asyncpg

from service.kernel.errors import Conflict, InvalidInput
from service.kernel.tenancy import Connection
from tenants.lifecycle import TenantRecord

FORMAT = "always-hope-tenant-export"
FORMAT_VERSION = 1
VERSION_TABLE = "alembic_version"
# Bookkeeping, not data: the migration state and the reporting change counter (tenant revision t0007).
BOOKKEEPING_TABLES = [VERSION_TABLE, "reporting_watermark"]
BATCH = 500
MAX_FUNCTION_ARGS = 90  # jsonb_build_array takes at most 100 arguments; wider rows are built in pieces


@dataclass(frozen=True, slots=True)
class Column:
    name: str
    type: str
    generated: bool
    identity: bool


@dataclass(slots=True)
class Table:
    name: str
    columns: list[Column]
    primary_key: list[str]
    self_referencing: bool = False
    rows: int = 0
    sha256: str = ""
    _digest: Any = field(default_factory=hashlib.sha256, repr=False)

    def add(self, line: str) -> None:
        self.rows += 1
        self._digest.update(line.encode())
        self._digest.update(b"\n")

    def finish(self) -> None:
        self.sha256 = self._digest.hexdigest()

    def describe(self) -> dict[str, Any]:
        return {"name": self.name, "primaryKey": self.primary_key,
                "columns": [{"name": c.name, "type": c.type, "generated": c.generated} for c in self.columns],
                "rows": self.rows, "sha256": self.sha256}


def ident(name: str) -> str:
    """Quote a catalog name (never caller text: every name comes from pg_catalog of the tenant's schema)."""
    return '"' + name.replace('"', '""') + '"'


async def tables_in_dependency_order(conn: Connection, schema: str) -> list[Table]:
    """The schema's tables, parents before children, each with its columns in order and its primary key."""
    rows = await conn.fetch(
        "SELECT c.relname AS table_name, a.attname AS column_name, format_type(a.atttypid, a.atttypmod) AS type, "
        "a.attgenerated <> '' AS generated, a.attidentity <> '' AS identity, "
        "coalesce(a.attnum = ANY(pk.conkey), false) AS in_pk, array_position(pk.conkey, a.attnum) AS pk_position "
        "FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
        "JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped "
        "LEFT JOIN pg_constraint pk ON pk.conrelid = c.oid AND pk.contype = 'p' "
        "WHERE n.nspname = $1 AND c.relkind IN ('r', 'p') AND NOT c.relispartition "
        "AND c.relname <> ALL($2::text[]) ORDER BY c.relname, a.attnum", schema, BOOKKEEPING_TABLES)
    tables: dict[str, Table] = {}
    pk_positions: dict[str, list[tuple[int, str]]] = {}
    for r in rows:
        table = tables.setdefault(r["table_name"], Table(r["table_name"], [], []))
        table.columns.append(Column(r["column_name"], r["type"], r["generated"], r["identity"]))
        if r["in_pk"]:
            pk_positions.setdefault(r["table_name"], []).append((r["pk_position"], r["column_name"]))
    for name, positions in pk_positions.items():
        tables[name].primary_key = [c for _, c in sorted(positions)]
    edges = await conn.fetch(
        "SELECT c.relname AS child, p.relname AS parent FROM pg_constraint fk "
        "JOIN pg_class c ON c.oid = fk.conrelid JOIN pg_class p ON p.oid = fk.confrelid "
        "JOIN pg_namespace n ON n.oid = c.relnamespace WHERE fk.contype = 'f' AND n.nspname = $1", schema)
    sorter: graphlib.TopologicalSorter[str] = graphlib.TopologicalSorter()
    for name in sorted(tables):
        sorter.add(name)
    for e in sorted(edges, key=lambda e: (e["child"], e["parent"])):
        if e["child"] == e["parent"]:
            tables[e["child"]].self_referencing = True
        elif e["child"] in tables and e["parent"] in tables:
            sorter.add(e["child"], e["parent"])
    return [tables[name] for name in sorter.static_order()]


def _row_sql(table: Table) -> str:
    names = [ident(c.name) for c in table.columns]
    pieces = [f"jsonb_build_array({', '.join(names[i:i + MAX_FUNCTION_ARGS])})"
              for i in range(0, len(names), MAX_FUNCTION_ARGS)]
    order = table.primary_key or [c.name for c in table.columns]
    # Rows without a primary key are ordered by their text form, which is total for any column type.
    order_sql = ", ".join(ident(c) for c in table.primary_key) if table.primary_key else \
        ", ".join(f"{ident(c)}::text" for c in order)
    return f"SELECT ({' || '.join(pieces)})::text AS v FROM {ident(table.name)} ORDER BY {order_sql}"


async def _enter(conn: Connection, tenant: TenantRecord) -> None:
    await conn.fetchrow("SELECT set_config('role', $1, true), set_config('search_path', $2, true), "
                        "set_config('TimeZone', 'UTC', true)", tenant.owner_role, tenant.schema)


async def export_tenant(conn: asyncpg.Connection, tenant: TenantRecord, out: IO[str]) -> dict[str, Any]:
    """Write the tenant's export to ``out``; returns the manifest. ``conn`` is an admin connection (it may
    become the tenant's owner role); nothing is written to the tenant."""
    with tempfile.TemporaryFile("w+", encoding="utf-8") as body:
        async with conn.transaction(isolation="repeatable_read", readonly=True):
            await _enter(conn, tenant)
            revision = await conn.fetchval(f"SELECT version_num FROM {VERSION_TABLE}")
            tables = await tables_in_dependency_order(conn, tenant.schema)
            for table in tables:
                name = json.dumps(table.name)
                async for record in conn.cursor(_row_sql(table), prefetch=1000):
                    line: str = record["v"]
                    table.add(line)
                    body.write(f'{{"t":{name},"v":{line}}}\n')
                table.finish()
        manifest = {
            "kind": "manifest", "format": FORMAT, "formatVersion": FORMAT_VERSION,
            "exportedAt": dt.datetime.now(dt.UTC).isoformat(),
            "tenant": {"slug": tenant.slug, "name": tenant.name, "kind": tenant.kind,
                       "ruleTemplate": tenant.rule_template},
            "schemaRevision": revision,
            "tables": [t.describe() for t in tables],
        }
        out.write(json.dumps(manifest, ensure_ascii=False) + "\n")
        body.seek(0)
        for chunk in iter(lambda: body.read(1 << 16), ""):
            out.write(chunk)
    return manifest


def read_manifest(source: IO[str]) -> dict[str, Any]:
    try:
        manifest = json.loads(source.readline())
    except json.JSONDecodeError:
        raise InvalidInput("This is not a tenant export: its first line is not JSON.", field="file") from None
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise InvalidInput("This is not a tenant export (no manifest on its first line).", field="file")
    if manifest.get("formatVersion") != FORMAT_VERSION:
        raise InvalidInput(f"Export format version {manifest.get('formatVersion')} is not supported "
                           f"(this platform reads version {FORMAT_VERSION}).", field="file")
    return manifest


_DECODER = json.JSONDecoder()
_ROW_START = '{"t":'
_VALUES = ',"v":'


def _rows(source: IO[str]) -> Iterator[tuple[str, str]]:
    """(table, the row's ``v`` exactly as written) for each row line. The values are never parsed here: they go
    back to the server as written (so numbers keep their precision) and the checksum covers the same text."""
    for number, raw in enumerate(source, start=2):
        text = raw.rstrip("\n")
        try:
            if not text.startswith(_ROW_START):
                raise ValueError
            table, end = _DECODER.raw_decode(text, len(_ROW_START))
            if not isinstance(table, str) or not text.startswith(_VALUES, end) or not text.endswith("]}"):
                raise ValueError
        except ValueError:
            raise InvalidInput(f"Line {number} of the export is not a row.", field="file") from None
        yield table, text[end + len(_VALUES):-1]


async def _insert(conn: Connection, table: Table, batch: list[str]) -> None:
    """Insert rows given as the JSON arrays the export wrote; PostgreSQL turns each into a record of the table."""
    stored = [c for c in table.columns if not c.generated]
    names = ", ".join(ident(c.name) for c in stored)
    overriding = " OVERRIDING SYSTEM VALUE" if any(c.identity for c in stored) else ""
    selected = ", ".join("r." + ident(c.name) for c in stored)
    await conn.execute(
        f"INSERT INTO {ident(table.name)} ({names}){overriding} SELECT {selected} "
        "FROM jsonb_array_elements($1::jsonb) WITH ORDINALITY AS src(v, n) "
        f"CROSS JOIN LATERAL jsonb_populate_record(NULL::{ident(table.name)}, ("
        "    SELECT jsonb_object_agg(c.name, src.v -> (c.i::int - 1)) "
        "    FROM unnest($2::text[]) WITH ORDINALITY AS c(name, i))) AS r ORDER BY src.n",
        "[" + ",".join(batch) + "]", [c.name for c in table.columns])


async def restore_tenant(conn: asyncpg.Connection, tenant: TenantRecord, source: IO[str]) -> dict[str, Any]:
    """Load an export into ``tenant``, which must be empty and at the export's schema revision. All or nothing;
    every table's row count and checksum must match the manifest. Returns the manifest."""
    manifest = read_manifest(source)
    async with conn.transaction():
        await _enter(conn, tenant)
        revision = await conn.fetchval(f"SELECT version_num FROM {VERSION_TABLE}")
        if revision != manifest["schemaRevision"]:
            raise Conflict(f"The export is at schema revision {manifest['schemaRevision']} and this tenant at "
                           f"{revision}; restore into a tenant at the export's revision.", field="file")
        tables = {t.name: t for t in await tables_in_dependency_order(conn, tenant.schema)}
        described = {t["name"]: t for t in manifest["tables"]}
        if set(described) != set(tables) or any(
                [(c.name, c.type) for c in tables[n].columns] != [(c["name"], c["type"]) for c in d["columns"]]
                for n, d in described.items()):
            raise Conflict("The export's tables and columns differ from this tenant's.", field="file")
        for name in tables:
            if await conn.fetchval(f"SELECT EXISTS (SELECT 1 FROM {ident(name)})"):
                raise Conflict("Restore only into an empty tenant: this one already has data.", field="slug")
        batch: list[str] = []
        current: Table | None = None
        for name, line in _rows(source):
            if current is None or name != current.name:
                if current is not None and batch:
                    await _insert(conn, current, batch)
                    batch = []
                if name not in tables:
                    raise InvalidInput("The export has rows for a table its manifest does not list.", field="file")
                current = tables[name]
            current.add(line)
            batch.append(line)
            if len(batch) >= BATCH and not current.self_referencing:
                await _insert(conn, current, batch)
                batch = []
        if current is not None and batch:
            await _insert(conn, current, batch)
        for table in tables.values():
            table.finish()
            expected = described[table.name]
            if (table.rows, table.sha256) != (expected["rows"], expected["sha256"]):
                raise InvalidInput("The export is damaged: a table's rows do not match its manifest checksum.",
                                   field="file")
        await _reset_sequences(conn, list(tables.values()))
    return manifest


async def _reset_sequences(conn: Connection, tables: list[Table]) -> None:
    """Identity and serial columns continue after the restored rows."""
    for table in tables:
        for column in table.columns:
            sequence = await conn.fetchval("SELECT pg_get_serial_sequence($1, $2)", ident(table.name), column.name)
            if sequence is not None:
                await conn.fetchval(
                    f"SELECT setval($1::regclass, max({ident(column.name)})) FROM {ident(table.name)} "
                    f"HAVING max({ident(column.name)}) IS NOT NULL", sequence)
