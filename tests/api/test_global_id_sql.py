"""The two global-id encodings agree: :func:`to_global_id` (Python) and :func:`global_id_sql` (the same encoding
as an SQL expression, used by statements that build a response in PostgreSQL), for generated type names and uuids;
and what PostgreSQL produced decodes with :func:`from_global_id`."""

from __future__ import annotations

import uuid

import asyncpg
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from service.api.relay import from_global_id, global_id_sql, to_global_id

# GraphQL names (the only type names the API encodes): a letter or underscore, then letters, digits, underscores.
# Long names matter: base64 output past 76 characters is where PostgreSQL's encode() inserts line breaks.
TYPE_NAMES = st.from_regex(r"[A-Za-z_][A-Za-z0-9_]{0,80}", fullmatch=True)
UUIDS = st.uuids()


@settings(max_examples=300, deadline=None, database=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(type_name=TYPE_NAMES, raw=UUIDS)
async def test_python_and_sql_global_ids_agree(admin_conn: asyncpg.Connection, type_name: str,
                                               raw: uuid.UUID) -> None:
    # The type name is spliced into the statement as global_id_sql does for the compiler (GraphQL names only).
    in_sql = await admin_conn.fetchval(f"SELECT {global_id_sql(type_name, '$1::uuid')}", raw)
    assert in_sql == to_global_id(type_name, raw)
    assert from_global_id(in_sql) == (type_name, raw)


@settings(max_examples=50, deadline=None, database=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(pairs=st.lists(st.tuples(TYPE_NAMES, UUIDS), min_size=1, max_size=40))
async def test_global_ids_agree_over_a_column(admin_conn: asyncpg.Connection,
                                              pairs: list[tuple[str, uuid.UUID]]) -> None:
    """The expression over a real uuid column of many rows (as the compiled statements use it), one type at a time."""
    for type_name in {name for name, _ in pairs}:
        raws = [raw for name, raw in pairs if name == type_name]
        rows = await admin_conn.fetch(
            f"SELECT t.id, {global_id_sql(type_name, 't.id')} AS gid FROM unnest($1::uuid[]) WITH ORDINALITY "
            "AS t(id, n) ORDER BY t.n", raws)
        assert [r["gid"] for r in rows] == [to_global_id(type_name, raw) for raw in raws]
        assert [from_global_id(r["gid"]) for r in rows] == [(type_name, raw) for raw in raws]
