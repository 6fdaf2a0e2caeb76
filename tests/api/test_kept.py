"""A value shared between requests (a kept national table) is completed once per selection, without graphql-core's
field-by-field execution, and answers exactly what graphql-core answers for the same value: every selection of the
national table's types is generated and run both ways, on awkward figures, first and kept."""

from __future__ import annotations

import datetime as dt
import itertools
import random
from collections.abc import Iterator
from typing import Any

import pytest
import strawberry
from graphql import GraphQLList, GraphQLNonNull, GraphQLObjectType, is_leaf_type
from strawberry.extensions import SchemaExtension

from service.api import kept
from service.api.extensions import PreparedDocuments
from service.api.kept import KeptExecution
from service.app.schema import schema as service_schema
from service.reporting import api, service
from service.reporting.catalogue import BY_KEY
from service.reporting.disclosure import Count, Figure, Reason


def figure(rng: random.Random) -> Figure:
    def count() -> Count | None:
        return rng.choice([None, Count(rng.randint(0, 40), False, None), Count(None, True, Reason.SMALL_COUNT),
                           Count(None, True, Reason.SECONDARY)])
    suppressed = rng.random() < 0.3
    value = None if suppressed else rng.choice([0.0, 1.0, 33.333333333333336, 100.0, 7.5])
    reason = rng.choice(list(Reason)) if suppressed else None
    return Figure(value=value, suppressed=suppressed, reason=reason, numerator=count(), denominator=count())


def national(shared: bool, rows: int = 25, seed: int = 3) -> service.Table:
    rng = random.Random(seed)
    labels = ["Bench", "Région \"Nord\" ü", "", "Line\nbreak", "\u2028 separator", "Emoji \U0001f600"]
    return service.Table(BY_KEY["take_up"], "QUARTER", dt.date(2024, 2, 29), "TENANT", figure(rng),
                         tuple(service.Row(f"t-{i:03d}", rng.choice(labels) + f" {i}", figure(rng))
                               for i in range(rows)), shared=shared)


TABLES = {True: national(True), False: national(False)}
CALLS = {"made": 0}


@strawberry.type
class Query:
    @strawberry.field
    def national_metric(self, shared: bool = True, empty: bool = False) -> api.MetricTable:
        CALLS["made"] += 1
        if empty:
            return api.MetricTable.of(service.Table(BY_KEY["referrals"], "MONTH", dt.date(2024, 1, 1), "TENANT",
                                                    Figure(None, True, Reason.SMALL_COUNT), (), shared=shared))
        return api.MetricTable.of(TABLES[shared])


SCHEMA = strawberry.Schema(query=Query, execution_context_class=KeptExecution, extensions=[PreparedDocuments])
PLAIN_SCHEMA = strawberry.Schema(query=Query)  # graphql-core's own execution, nothing kept


def selections(object_type: GraphQLObjectType) -> Iterator[str]:
    """Every field path under a type, one selection each, leaves by name and object fields with each of theirs."""
    for name, definition in object_type.fields.items():
        inner = definition.type
        while isinstance(inner, GraphQLNonNull | GraphQLList):
            inner = inner.of_type
        if is_leaf_type(inner):
            yield name
        else:
            assert isinstance(inner, GraphQLObjectType)
            for sub in selections(inner):
                yield f"{name} {{ {sub} }}"
    yield "__typename"


def documents() -> Iterator[tuple[str, dict[str, Any]]]:
    table = SCHEMA._schema.type_map["MetricTable"]
    assert isinstance(table, GraphQLObjectType)
    paths = list(selections(table))
    rng = random.Random(11)
    for path in paths:  # each field alone
        yield f"query($s: Boolean!) {{ nationalMetric(shared: $s) {{ {path} }} }}", {}
    for a, b in itertools.combinations(paths, 2):  # pairs, merged where they overlap
        if rng.random() < 0.25:
            yield f"query($s: Boolean!) {{ nationalMetric(shared: $s) {{ {a} {b} }} }}", {}
    for _ in range(30):  # aliases, fragments, directives with variables, the same field twice
        chosen = rng.sample(paths, 4)
        body = " ".join(f"a{i}: {p}" if rng.random() < 0.3 else p for i, p in enumerate(chosen[:2]))
        text = ("query($s: Boolean!, $on: Boolean!) { nationalMetric(shared: $s) { "
                f"{body} ...F @include(if: $on) ... on MetricTable {{ {chosen[2]} }} }} }}"
                f" fragment F on MetricTable {{ {chosen[3]} rows @skip(if: $on) {{ key }} }}")
        yield text, {"on": rng.random() < 0.5}
    yield ("query($s: Boolean!) { nationalMetric(shared: $s) { total { ...V } rows { key label value { ...V } } } }"
           " fragment V on MetricValue { value suppressed reason numerator { value suppressed reason }"
           " denominator { value suppressed reason } }"), {}


@pytest.mark.parametrize(("text", "variables"), list(documents()))
async def test_every_selection_of_a_kept_table_answers_as_graphql_core_does(text: str, variables: dict[str, Any]
                                                                            ) -> None:
    expected = await PLAIN_SCHEMA.execute(text, variable_values={**variables, "s": False})
    assert expected.errors is None
    kept.forget()
    if "on" in variables:  # the same selection completed for other variables first: kept apart
        await SCHEMA.execute(text, variable_values={**variables, "on": not variables["on"], "s": True})
    first = await SCHEMA.execute(text, variable_values={**variables, "s": True})
    again = await SCHEMA.execute(text, variable_values={**variables, "s": True})
    unshared = await SCHEMA.execute(text, variable_values={**variables, "s": False})
    assert first.errors is None
    assert again.errors is None
    assert unshared.errors is None
    assert first.data == expected.data
    assert again.data == expected.data
    assert unshared.data == expected.data


async def test_a_selection_is_completed_once_and_its_completion_kept() -> None:
    """The kept completion is the one answer object, for as long as the table is shared; a table not shared is
    completed on every request; other variables are another completion."""
    kept.forget()
    text = ("query($s: Boolean!, $on: Boolean!) { nationalMetric(shared: $s) { total { value } "
            "rows @include(if: $on) { key } } }")
    first = await SCHEMA.execute(text, variable_values={"s": True, "on": True})
    again = await SCHEMA.execute(text, variable_values={"s": True, "on": True})
    assert first.data is not None
    assert again.data is not None
    assert again.data["nationalMetric"] is first.data["nationalMetric"]
    other = await SCHEMA.execute(text, variable_values={"s": True, "on": False})
    assert other.data is not None
    assert "rows" not in other.data["nationalMetric"]
    assert other.data["nationalMetric"] is not first.data["nationalMetric"]
    plain1 = await SCHEMA.execute(text, variable_values={"s": False, "on": True})
    plain2 = await SCHEMA.execute(text, variable_values={"s": False, "on": True})
    assert plain1.data is not None
    assert plain2.data is not None
    assert plain1.data["nationalMetric"] is not plain2.data["nationalMetric"]
    assert plain1.data == first.data


async def test_an_empty_table_and_a_value_that_does_not_complete_answer_as_graphql_core_does() -> None:
    kept.forget()
    text = ("query($s: Boolean!) { nationalMetric(shared: $s, empty: true) "
            "{ metric total { value reason } rows { key } } }")
    expected = await PLAIN_SCHEMA.execute(text, variable_values={"s": False})
    assert (await SCHEMA.execute(text, variable_values={"s": True})).data == expected.data

    broken = service.Table(BY_KEY["take_up"], "QUARTER", dt.date(2024, 1, 1), "TENANT", TABLES[True].total,
                           (service.Row(None, "no key", TABLES[True].total),), shared=True)  # type: ignore[arg-type]
    saved = TABLES[True]
    TABLES[True] = broken
    try:
        text = "query($s: Boolean!) { nationalMetric(shared: $s) { rows { key label } } }"
        plain = await PLAIN_SCHEMA.execute(text, variable_values={"s": True})
        for _ in range(2):  # the key is required: graphql-core answers the error, and nothing is kept
            answer = await SCHEMA.execute(text, variable_values={"s": True})
            assert answer.data == plain.data
            assert answer.errors is not None
            assert plain.errors is not None
            assert [e.message for e in answer.errors] == [e.message for e in plain.errors]
            assert [e.path for e in answer.errors] == [e.path for e in plain.errors]
    finally:
        TABLES[True] = saved


async def test_under_a_schema_extension_that_wraps_resolvers_every_field_is_resolved_through_it() -> None:
    kept.forget()
    seen: list[str] = []

    class Counting(SchemaExtension):
        """Wraps every resolver (a middleware): kept values are then resolved through it, field by field."""

        def resolve(self, _next: Any, root: Any, info: Any, *args: Any, **kwargs: Any) -> Any:
            seen.append(info.field_name)
            return _next(root, info, *args, **kwargs)

    wrapped = strawberry.Schema(query=Query, execution_context_class=KeptExecution,
                                extensions=[PreparedDocuments, Counting])
    text = "{ nationalMetric { rows { key } } }"
    for _ in range(2):
        await wrapped.execute(text)
    assert seen.count("key") == 2 * len(TABLES[True].rows)


def test_only_plain_types_are_completed_without_graphql_core() -> None:
    """The national table's types are plain data; a type with a resolver of its own (a young adult: audited,
    need-to-know) is not, nor anything reaching it."""
    types = service_schema._schema.type_map
    for name in ("MetricTable", "MetricRow", "MetricValue", "DisclosedCount"):
        assert kept.plain(types[name]), name  # type: ignore[arg-type]
    for name in ("YoungAdult", "NetworkMember", "Query", "PlanVersion"):
        assert not kept.plain(types[name]), name  # type: ignore[arg-type]


def test_the_service_schema_completes_with_kept_execution() -> None:
    assert service_schema.execution_context_class is KeptExecution
