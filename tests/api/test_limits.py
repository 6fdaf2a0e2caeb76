"""Each query limit, hit: depth, tokens, aliases, estimated cost (reported in extensions), introspection."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from graphql import FragmentDefinitionNode, parse
from graphql.utilities import get_operation_ast

from service.api.limits import estimate_cost
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
