"""Operations generated from the committed schema (hypothesis-graphql), sent as a practitioner and as a tenant
administrator: whatever a client chooses to send, no 5xx, no internals in the answer, no "unexpected error" in the
service's log, and every pooled connection idle afterwards (issue 14).

The default run tries a bounded, fixed set of examples; `pytest -m hostile` runs many more, freshly drawn."""

from __future__ import annotations

import asyncio
import json
import logging
import re
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from graphql import ValueNode, build_schema
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis_graphql import nodes
from hypothesis_graphql import strategies as gql

from service.api.relay import to_global_id
from service.app.asgi import create_app
from service.kernel.database import Database
from tests.conftest import Caller, CallerFactory, TenantFactory
from tests.operations import Operations
from tests.records.casework import casework, young_adult

SDL = (Path(__file__).resolve().parents[2] / "graphql" / "schema.graphql").read_text()

# What a response must never carry: a stack, driver or SQL text, a source path.
INTERNALS = re.compile(r"Traceback|asyncpg|psycopg|SQLSTATE|syntax error at or near|violates .* constraint|"
                       r"relation \"|column \"|duplicate key|/site-packages/|\.py\b|File \"", re.IGNORECASE)


@dataclass
class World:
    database: Database  # the app's own, so whatever it does to its pools touches no other test
    callers: dict[str, Caller]
    ids: list[str]


@pytest.fixture
async def world(db: Database, make_tenant: TenantFactory, login: CallerFactory) -> AsyncIterator[World]:
    """A tenant with sites, practitioners and a young adult, so generated ids can name real records, and an app of
    its own to send the generated operations to."""
    work = await casework(make_tenant, login, Operations())
    created = await work.ops.ok(work.admin, "CreateYoungAdult", young_adult(work.sites["BSI"], "Hostile"))
    ids = [*work.sites.values(), *work.practitioner_ids.values(), created["youngAdult"]["id"]]
    database = Database.connect(db.settings)
    await database.open_pool()
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=create_app(database)),
                                 base_url="http://test") as client:
        yield World(database, {"practitioner": Caller(client, work.callers["pom"].token),
                               "tenant admin": Caller(client, work.admin.token)}, ids)
    await database.close()


def _int_list(values: list[int]) -> ValueNode:
    items: list[ValueNode] = [nodes.Int(v) for v in values]
    return nodes.List(items)


TYPE_NAMES = sorted({*(n for n in build_schema(SDL).type_map if not n.startswith("__")), "cursor", ""})
EXTREME_UUIDS = [uuid.UUID(int=0), uuid.UUID(int=2**128 - 1), uuid.UUID(int=2**63), uuid.UUID(int=2**127 + 1),
                 uuid.UUID(int=(2**63 - 1) << 32 | 0xFFFFFFFF)]


def ids(real: list[str]) -> st.SearchStrategy[str]:
    """Ids a client could send: real ones, forged ones (a well-formed global id of any type, cursors included, around
    any uuid, the extremes too) and malformed text."""
    forged = st.builds(to_global_id, st.sampled_from(TYPE_NAMES),
                       st.one_of(st.sampled_from(EXTREME_UUIDS), st.uuids()))
    return st.one_of(st.sampled_from(real), forged, st.text(max_size=40))


def _scalars(ids_: list[str]) -> dict[str, st.SearchStrategy[Any]]:
    text = st.text(max_size=40)
    return {
        "ID": ids(ids_).map(nodes.String),
        "Date": st.one_of(st.dates().map(str), text).map(nodes.String),
        "DateTime": st.one_of(st.datetimes().map(lambda d: d.isoformat() + "Z"), text).map(nodes.String),
        "UUID": st.one_of(st.uuids().map(str), text).map(nodes.String),
        "JSON": st.one_of(st.integers(-10, 10).map(nodes.Int), text.map(nodes.String),
                          st.lists(st.integers(0, 30), max_size=3).map(_int_list)),
    }


def operations(ids: list[str]) -> st.SearchStrategy[str]:
    scalars = _scalars(ids)
    return st.one_of(gql.queries(SDL, custom_scalars=scalars), gql.mutations(SDL, custom_scalars=scalars))


def internals_in(response: httpx.Response) -> Iterator[str]:
    if response.status_code >= 500:
        yield f"HTTP {response.status_code}"
    found = INTERNALS.search(response.text)
    if found:
        yield f"internals in the answer: {found.group(0)!r}"
    for error in (response.json().get("errors") or []) if response.headers.get("content-type", "").startswith(
            "application/json") else []:
        if (error.get("extensions") or {}).get("code") == "INTERNAL":
            yield "an INTERNAL error"


def unexpected(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage().splitlines()[0] for r in caplog.records if "unexpected error" in r.getMessage()]


async def post(caller: Caller, document: str) -> httpx.Response:
    # \u escapes keep any generated character (NUL included) inside valid JSON, as a browser would send it. A
    # request still waiting after 20 s is a failure to report, not a reason to hang the suite.
    async with asyncio.timeout(20):
        return await caller.client.post("/graphql", content=json.dumps({"query": document}),
                                        headers={"Authorization": f"Bearer {caller.token}",
                                                 "Content-Type": "application/json"})


def in_use(database: Database) -> dict[str, int]:
    """Connections taken from each pool and not given back."""
    pools = {"request pool": database.pool, "jobs pool": database.jobs_pool}
    return {name: p.get_size() - p.get_idle_size() for name, p in pools.items() if p is not None}


def hostile_test(examples: int, derandomize: bool) -> Callable[..., Any]:
    """The property, with its budget: run each generated operation as each caller."""

    @settings(max_examples=examples, deadline=None, derandomize=derandomize, database=None,
              suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow,
                                     HealthCheck.data_too_large])
    @given(data=st.data())
    async def run(world: World, caplog: pytest.LogCaptureFixture, data: st.DataObject) -> None:
        caplog.set_level(logging.INFO)
        document = data.draw(operations(world.ids), label="operation")
        for who, caller in world.callers.items():
            response = await post(caller, document)
            problems = list(internals_in(response)) + unexpected(caplog)
            assert not problems, (who, problems, response.text[:2000])
        leaked = {name: n for name, n in in_use(world.database).items() if n}
        assert not leaked, (leaked, document)

    return run


test_generated_operations_get_no_5xx_and_leak_nothing = hostile_test(examples=80, derandomize=True)
test_many_generated_operations = pytest.mark.hostile(hostile_test(examples=2000, derandomize=False))
