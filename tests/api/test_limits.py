"""Each query limit, hit: depth, tokens, aliases, repeats, fragments, estimated cost (reported in extensions),
introspection; and the analyses behind them, held to linear work on a fragment fan-out (issue 14)."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from graphql import DocumentNode, FragmentDefinitionNode, SelectionNode, SelectionSetNode, parse
from graphql.utilities import get_operation_ast

from service.api.limits import (
    CEILING,
    MAX_FRAGMENTS,
    MAX_REPEATS,
    CostEstimate,
    CostMemo,
    DocumentLimits,
    Shape,
    estimate_cost,
    fragments_of,
)
from service.app.schema import schema
from service.kernel.principal import Role
from tests.conftest import CallerFactory, ClientFactory, TenantFactory

DEEP = """{ sites { youngAdults(first: 1) { edges { node { enrolments { site { youngAdults(first: 1) {
  edges { node { enrolments { site { code } } } } } } } } } } } }"""


async def post(client: httpx.AsyncClient, token: str, query: str, variables: dict[str, Any] | None = None,
               ) -> dict[str, Any]:
    response = await client.post("/graphql", json={"query": query, "variables": variables or {}},
                                 headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


@pytest.fixture
async def admin_token(make_tenant: TenantFactory, login: CallerFactory) -> str:
    return (await login(Role.TENANT_ADMIN, await make_tenant())).token


async def test_depth_over_the_limit_is_refused_unexecuted(client_with: ClientFactory, admin_token: str) -> None:
    client = await client_with(max_query_depth=6)
    body = await post(client, admin_token, DEEP)
    assert body.get("data") is None
    assert body["errors"][0]["extensions"]["code"] == "QUERY_TOO_DEEP"
    assert "exceeds maximum operation depth of 6" in body["errors"][0]["message"]
    ok = await post(client, admin_token, "{ sites { code } }")
    assert "errors" not in ok


async def test_too_many_tokens_is_refused(client_with: ClientFactory, admin_token: str) -> None:
    client = await client_with(max_query_tokens=50)
    body = await post(client, admin_token, "{ sites { " + " ".join(["code"] * 60) + " } }")
    assert body["errors"][0]["extensions"]["code"] == "QUERY_TOO_LARGE"
    assert "more than 50 tokens" in body["errors"][0]["message"]


async def test_too_many_aliases_is_refused(client_with: ClientFactory, admin_token: str) -> None:
    client = await client_with(max_query_aliases=3)
    body = await post(client, admin_token, "{ " + " ".join(f"a{i}: sites {{ code }}" for i in range(5)) + " }")
    assert body["errors"][0]["extensions"]["code"] == "TOO_MANY_ALIASES"
    assert "aliases found" in body["errors"][0]["message"]


PAGE = """query($site: ID!, $first: Int!) { youngAdults(siteId: $site, first: $first) {
  edges { node { familyName enrolments { status } } } } }"""


async def test_cost_is_reported_and_an_expensive_operation_refused(client_with: ClientFactory,
                                                                   admin_token: str) -> None:
    client = await client_with(max_query_cost=400, default_list_size=10)
    sites = (await post(client, admin_token, "{ sites { id code } }"))
    assert sites["extensions"]["cost"] == {"requested": 21, "limit": 400}  # sites 1 + 10 × (id 1 + code 1)
    site = next(s["id"] for s in sites["data"]["sites"] if s["code"] == "BSI")

    # youngAdults 1 + first × (edges 1 + node 1 + familyName 1 + enrolments 1 + 10 × status 1)
    cheap = await post(client, admin_token, PAGE, {"site": site, "first": 10})
    assert "errors" not in cheap
    assert cheap["extensions"]["cost"] == {"requested": 1 + 10 * 14, "limit": 400}

    costly = await post(client, admin_token, PAGE, {"site": site, "first": 50})
    assert costly["data"] is None
    assert costly["errors"][0]["extensions"] == {"code": "QUERY_TOO_COSTLY", "cost": 701, "limit": 400}
    assert "estimated cost is 701, over the limit of 400" in costly["errors"][0]["message"]
    assert costly["extensions"]["cost"] == {"requested": 701, "limit": 400}


def test_cost_counts_fragments_and_nested_lists() -> None:
    document = parse("""
      query($n: Int) { sites { ...S } caseload(first: $n) { edges { node { ...Y } } } }
      fragment S on Site { code practitioners { id } }
      fragment Y on YoungAdult { id enrolments { id } }""")
    operation = get_operation_ast(document)
    assert operation is not None
    fragments = {d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)}
    # sites 1 + 10 × (code 1 + practitioners 1 + 10 × id 1)
    # + caseload 1 + n × (edges 1 + node 1 + id 1 + enrolments 1 + 10 × id 1)
    sites = 1 + 10 * (2 + 10 * 1)
    assert estimate_cost(schema._schema, operation, fragments, {"n": 5}, 10) == sites + 1 + 5 * (4 + 10)
    # without the variable, the argument's default (20) applies
    assert estimate_cost(schema._schema, operation, fragments, {}, 10) == sites + 1 + 20 * (4 + 10)


async def test_introspection_and_suggestions_are_off_when_configured(client_with: ClientFactory,
                                                                     admin_token: str) -> None:
    closed = await client_with(introspection=False)
    body = await post(closed, admin_token, "{ __schema { types { name } } }")
    assert body["errors"][0]["extensions"]["code"] == "INTROSPECTION_DISABLED"
    typo = await post(closed, admin_token, "{ sitez { code } }")
    assert "Did you mean" not in typo["errors"][0]["message"]

    open_ = await client_with(introspection=True)
    assert "errors" not in await post(open_, admin_token, "{ __schema { queryType { name } } }")
    assert "Did you mean" in (await post(open_, admin_token, "{ sitez { code } }"))["errors"][0]["message"]


def test_every_published_operation_fits_the_default_cost_limit() -> None:
    """Production accepts only published operations, so each must pass the default limits, at the largest page a
    caller may ask for (`first: 100`) where it pages."""
    from service.kernel.settings import Settings
    from tests.operations import document, names

    settings = Settings()
    for name in names():
        parsed = parse(document(name))
        operation = get_operation_ast(parsed)
        assert operation is not None
        fragments = {d.name.value: d for d in parsed.definitions if isinstance(d, FragmentDefinitionNode)}
        cost = estimate_cost(schema._schema, operation, fragments, {"first": 100}, settings.default_list_size)
        assert cost <= settings.max_query_cost, (name, cost)


# Values a variable may take in a request, integers or not: the estimate reads integers only.
ANY_VALUES: tuple[Any, ...] = (None, 0, 1, 7, 100, 10**9, -3, True, "12", 2.5, ["x"], {"first": 3})


def test_a_remembered_estimate_is_the_estimate_for_every_published_operation_and_any_variables() -> None:
    """CostMemo answers what estimate_cost answers: for every published operation, every variable it declares set
    to each of many values (one at a time, then all the ``first`` ones together), asked twice. A variable the
    estimate reads but cost_inputs missed would make the memo answer an earlier request's figure, and fail here."""
    from tests.operations import document, names

    for name in names():
        parsed = parse(document(name))
        operation = get_operation_ast(parsed)
        assert operation is not None
        fragments = fragments_of(parsed)
        declared = [d.variable.name.value for d in operation.variable_definitions or ()]
        memo = CostMemo(schema._schema, operation, fragments, 20, size=4)  # small: it fills and forgets too
        trials: list[dict[str, Any]] = [{}]
        trials += [{variable: value} for variable in declared for value in ANY_VALUES]
        trials += [dict.fromkeys(memo.inputs, value) for value in ANY_VALUES]
        for variables in (*trials, *trials):
            assert memo.cost(variables) == estimate_cost(schema._schema, operation, fragments, variables, 20), (
                name, variables)
    paged = parse("query ($a: Int, $b: Int, $s: ID) { sites { youngAdults(first: $a) { edges { node { id "
                  "enrolments { id } } } } } caseload(first: $b, filter: {siteId: $s}) { edges { node { id } } } }")
    operation = get_operation_ast(paged)
    assert operation is not None
    assert CostMemo(schema._schema, operation, {}, 20).inputs == ("a", "b")


def fan_out(levels: int) -> str:
    """Issue 14: each fragment spreads the next twice, so the document names 2^levels copies of the last one."""
    fragments = " ".join(f"fragment F{i} on Query {{ ...F{i + 1} ...F{i + 1} }}" for i in range(levels))
    return f"query FanOut {{ ...F0 }} {fragments} fragment F{levels} on Query {{ me {{ subject }} }}"


class CountedSelectionSet(SelectionSetNode):
    """A selection set that counts how often its selections are read: the work an analysis does on it."""

    __slots__ = ("_selections", "reads")
    _selections: tuple[SelectionNode, ...]
    reads: int

    def __init__(self, original: SelectionSetNode) -> None:  # nodes are frozen dataclasses: set past that
        object.__setattr__(self, "_selections", original.selections)
        object.__setattr__(self, "reads", 0)
        object.__setattr__(self, "loc", None)

    @property  # shadows the field of the same name: reading it is what is counted
    def selections(self) -> tuple[SelectionNode, ...]:
        object.__setattr__(self, "reads", self.reads + 1)
        return self._selections


def counted(document: DocumentNode) -> list[CountedSelectionSet]:
    """Replace every selection set of the document by a counting one; return them all."""
    found: list[CountedSelectionSet] = []

    def swap(owner: Any) -> None:
        if getattr(owner, "selection_set", None) is None:
            return
        replacement = CountedSelectionSet(owner.selection_set)
        object.__setattr__(owner, "selection_set", replacement)
        found.append(replacement)
        for selection in replacement._selections:
            swap(selection)

    for definition in document.definitions:
        swap(definition)
    return found


@pytest.mark.parametrize("levels", [4, 12, 21])
def test_each_fragment_is_analysed_once_however_often_it_is_spread(levels: int) -> None:
    document = parse(fan_out(levels))
    selection_sets = counted(document)
    assert len(selection_sets) == levels + 3  # the operation's, one per fragment, and `me { subject }`'s
    limits = DocumentLimits(max_depth=10, max_aliases=15, max_cost=100_000, default_list_size=10)

    refusal = limits.refusal(schema._schema, document, None, {})

    # Depth, aliases, repeats and cost each read a selection set once, and the order of fragments is found once
    # for each of the two analyses: at most 4 reads each, so the work is linear in the fragments, where walking
    # every spread again read `me { subject }` 2^levels times.
    assert max(s.reads for s in selection_sets) <= 4
    assert sum(s.reads for s in selection_sets) <= 4 * (levels + 3)
    # ...and the estimate is still what the fan-out asks for: 2^levels copies of `me { subject }` (cost 2).
    assert limits.requested == 2 ** levels * 2
    if 2 ** levels * 2 > 100_000:
        assert refusal is not None
        assert refusal.extensions == {"code": "QUERY_TOO_COSTLY", "cost": 2 ** (levels + 1), "limit": 100_000}
    else:
        assert refusal is None


def test_the_work_counted_by_the_analyses_is_the_documents_size() -> None:
    for levels in (5, 21, 200):
        document = parse(fan_out(levels), max_tokens=5000)
        fragments = fragments_of(document)
        operation = get_operation_ast(document)
        assert operation is not None
        shape = Shape(fragments)
        shape.of(operation.selection_set)
        estimate = CostEstimate(schema._schema, fragments, {}, 10)
        cost = estimate.cost(operation.selection_set, schema._schema.query_type)
        selections = 1 + 2 * levels + 2  # `...F0`, two spreads per fragment, `me` and `subject`
        assert shape.visits == selections
        assert estimate.visits == selections
        assert cost == min(2 ** (levels + 1), CEILING)  # saturates instead of building a 200-bit integer


async def test_a_fan_out_document_is_refused_as_too_costly(client: httpx.AsyncClient, admin_token: str) -> None:
    body = await post(client, admin_token, fan_out(21))
    assert body["data"] is None
    assert body["errors"][0]["extensions"] == {"code": "QUERY_TOO_COSTLY", "cost": 2 ** 22, "limit": 100_000}


async def test_a_long_chain_of_fragments_is_analysed_without_recursion_and_refused(client_with: ClientFactory,
                                                                                  admin_token: str) -> None:
    """Our analyses follow spreads without recursion, so a chain longer than Python's stack is no RecursionError
    and no 500: the document is refused for its number of fragments, before graphql-core validates it."""
    client = await client_with(max_query_tokens=20_000)
    chain = " ".join(f"fragment F{i} on Query {{ ...F{i + 1} }}" for i in range(1500))
    body = await post(client, admin_token, f"{{ ...F0 }} {chain} fragment F1500 on Query {{ me {{ subject }} }}")
    assert body["data"] is None
    assert [e["extensions"]["code"] for e in body["errors"]] == ["QUERY_TOO_LARGE"]
    assert f"defines 1501 fragments; at most {MAX_FRAGMENTS}" in body["errors"][0]["message"]


async def test_many_fragments_in_one_selection_are_refused_before_validation(client: httpx.AsyncClient,
                                                                            admin_token: str) -> None:
    """graphql-core compares every pair of fragments spread together: 150 of them took two seconds."""
    def spreading(n: int) -> str:
        return "{ " + " ".join(f"...A{i}" for i in range(n)) + " } " + " ".join(
            f"fragment A{i} on Query {{ me {{ subject }} }}" for i in range(n))

    assert "errors" not in await post(client, admin_token, spreading(MAX_FRAGMENTS))
    body = await post(client, admin_token, spreading(150))
    assert body["errors"][0]["extensions"]["code"] == "QUERY_TOO_LARGE"


async def test_selections_nested_past_the_parsers_guard_are_too_deep(client: httpx.AsyncClient,
                                                                     admin_token: str) -> None:
    body = await post(client, admin_token, "{ " + "me { " * 200 + "subject" + " }" * 201)
    assert body["errors"][0]["extensions"]["code"] == "QUERY_TOO_DEEP"


async def test_a_field_repeated_past_the_budget_is_refused_before_validation(client: httpx.AsyncClient,
                                                                           admin_token: str) -> None:
    """graphql-core compares every pair of same-named fields; the copies are bounded before it sees them."""
    allowed = await post(client, admin_token, "{ " + "me { subject } " * MAX_REPEATS + "}")
    assert "errors" not in allowed
    for document in ("{ " + "me { subject } " * 490 + "}",
                     "{ me { subject } } fragment Unused on Query { " + "me { subject } " * 490 + "}"):
        body = await post(client, admin_token, document)
        assert body["errors"][0]["extensions"]["code"] == "QUERY_TOO_LARGE", body
        assert f"more than {MAX_REPEATS} times" in body["errors"][0]["message"]
