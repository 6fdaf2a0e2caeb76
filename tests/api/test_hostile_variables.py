"""The published operations (what front-ends send, and what the compiled executor answers) with variables a client
chooses: generated from each operation's variable definitions, with ids real, forged (a well-formed global id of any
type, cursors included, around any uuid, the extremes too) and malformed, numbers far out of range, any text, nulls
and missing values. As in tests/api/test_hostile.py: no 5xx, no internals in the answer, no "unexpected error" in the
service's log, every pooled connection idle afterwards.

The default run tries a bounded, fixed set of examples; `pytest -m hostile` runs many more, freshly drawn."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Callable
from typing import Any

import pytest
from graphql import (
    GraphQLEnumType,
    GraphQLInputObjectType,
    GraphQLInputType,
    GraphQLList,
    GraphQLNonNull,
    GraphQLScalarType,
    OperationDefinitionNode,
    build_schema,
    parse,
    type_from_ast,
)
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from service.api.trusted import published_operations
from tests.api.test_hostile import SDL, World, ids, in_use, internals_in, unexpected, world  # noqa: F401
from tests.operations import OPERATIONS

SCHEMA = build_schema(SDL)
PUBLISHED = {name: path.read_text() for name, path in published_operations(OPERATIONS).items()}


def value(kind: GraphQLInputType, real: list[str], depth: int = 0) -> st.SearchStrategy[Any]:
    """Any JSON value a client could send for ``kind``: mostly well-typed, sometimes not at all."""
    if isinstance(kind, GraphQLNonNull):
        inner = value(kind.of_type, real, depth)
        return inner.filter(lambda v: v is not None)
    nothing = st.none()
    if isinstance(kind, GraphQLList):
        return st.one_of(nothing, st.lists(value(kind.of_type, real, depth + 1), max_size=4))
    if isinstance(kind, GraphQLEnumType):
        return st.one_of(nothing, st.sampled_from(sorted(kind.values)), st.text(max_size=12))
    if isinstance(kind, GraphQLInputObjectType):
        if depth > 3:
            return nothing
        fields = {name: value(f.type, real, depth + 1) for name, f in kind.fields.items()}
        return st.one_of(nothing, st.fixed_dictionaries({}, optional=fields))
    assert isinstance(kind, GraphQLScalarType)
    text = st.text(max_size=60)
    numbers = st.one_of(st.integers(-3, 120), st.integers(-(2**70), 2**70))
    by_name: dict[str, st.SearchStrategy[Any]] = {
        "ID": ids(real), "String": st.one_of(text, st.text(min_size=1000, max_size=5000)),
        "Int": st.one_of(numbers, text), "Float": st.one_of(st.floats(allow_nan=False), numbers),
        "Boolean": st.one_of(st.booleans(), text),
        "Date": st.one_of(st.dates().map(str), st.sampled_from(["2024-02-29", "2023-02-29", "20260101", "0000-01-01",
                                                                  "9999-12-31", "2026-W01-1"]), text),
        "DateTime": st.one_of(st.datetimes().map(lambda d: d.isoformat() + "Z"), text),
        "UUID": st.one_of(st.uuids().map(str), text), "JSON": st.one_of(numbers, text, st.lists(numbers, max_size=3)),
    }
    return st.one_of(nothing, by_name.get(kind.name, text))


def variables_of(text: str, real: list[str]) -> st.SearchStrategy[dict[str, Any]]:
    operation = next(d for d in parse(text).definitions if isinstance(d, OperationDefinitionNode))
    given = {}
    for definition in operation.variable_definitions or ():
        kind = type_from_ast(SCHEMA, definition.type)
        assert kind is not None
        given[definition.variable.name.value] = value(kind, real)  # type: ignore[arg-type]
    return st.fixed_dictionaries({}, optional=given)


def hostile_variables_test(examples: int, derandomize: bool) -> Callable[..., Any]:
    @settings(max_examples=examples, deadline=None, derandomize=derandomize, database=None,
              suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow,
                                     HealthCheck.data_too_large, HealthCheck.filter_too_much])
    @given(data=st.data())
    async def run(world: World, caplog: pytest.LogCaptureFixture, data: st.DataObject) -> None:  # noqa: F811
        caplog.set_level(logging.INFO)
        name = data.draw(st.sampled_from(sorted(PUBLISHED)), label="operation")
        variables = data.draw(variables_of(PUBLISHED[name], world.ids), label="variables")
        for who, caller in world.callers.items():
            async with asyncio.timeout(20):
                response = await caller.client.post(
                    "/graphql", content=json.dumps({"query": PUBLISHED[name], "variables": variables}),
                    headers={"Authorization": f"Bearer {caller.token}", "Content-Type": "application/json"})
            problems = list(internals_in(response)) + unexpected(caplog)
            assert not problems, (name, who, problems, response.text[:2000])
        leaked = {pool: n for pool, n in in_use(world.database).items() if n}
        assert not leaked, (leaked, name)

    return run


test_published_operations_with_hostile_variables = hostile_variables_test(examples=150, derandomize=True)
test_many_hostile_variables = pytest.mark.hostile(hostile_variables_test(examples=3000, derandomize=False))
