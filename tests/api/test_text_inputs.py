"""Every text input of the committed schema, found by walking it (not listed by hand), tried with what PostgreSQL
or a reader cannot take: NUL, a lone surrogate, an escape character, a value past the length limit. Each is refused
as INVALID naming the field (a mutation in its payload's errors, a query as a GraphQL error), nothing reaches the
database, and no "unexpected error" is logged (issue 14)."""

from __future__ import annotations

import json
import logging
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from graphql import (
    GraphQLEnumType,
    GraphQLField,
    GraphQLInputObjectType,
    GraphQLInputType,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLScalarType,
    GraphQLSchema,
    build_schema,
    get_named_type,
)
from graphql.pyutils import Undefined

from service.api.text import LINE_MAX, PROSE, PROSE_MAX, problem
from service.kernel.principal import Role
from tests.conftest import Caller, CallerFactory, TenantFactory

SDL = Path(__file__).resolve().parents[2] / "graphql" / "schema.graphql"
Step = str | int  # an input field's name, or 0 for the first item of a list


@dataclass(frozen=True)
class TextInput:
    """One place a caller can send text: a root field's argument and the path to a String inside it."""

    operation: str  # "query" or "mutation"
    field: str
    argument: str
    path: tuple[Step, ...]

    @property
    def name(self) -> str:
        """The field as errors name it: its path below the argument, a mutation's `input` left out."""
        steps = self.path if self.argument == "input" else (self.argument, *self.path)
        return ".".join(str(s) for s in steps)

    @property
    def prose(self) -> bool:
        return [s for s in (self.argument, *self.path) if isinstance(s, str)][-1] in PROSE

    def __str__(self) -> str:
        return f"{self.field}({self.name})"


def _text_paths(type_: GraphQLInputType, seen: frozenset[str] = frozenset()) -> list[tuple[Step, ...]]:
    if isinstance(type_, GraphQLNonNull):
        return _text_paths(type_.of_type, seen)
    if isinstance(type_, GraphQLList):
        return [(0, *p) for p in _text_paths(type_.of_type, seen)]
    if isinstance(type_, GraphQLInputObjectType) and type_.name not in seen:
        return [(name, *p) for name, f in type_.fields.items() for p in _text_paths(f.type, seen | {type_.name})]
    if isinstance(type_, GraphQLScalarType) and type_.name == "String":
        return [()]
    return []


def committed_schema() -> GraphQLSchema:
    return build_schema(SDL.read_text())


def text_inputs(schema: GraphQLSchema) -> list[TextInput]:
    found: list[TextInput] = []
    for operation, root in (("query", schema.query_type), ("mutation", schema.mutation_type)):
        assert root is not None
        for field_name, field in root.fields.items():
            for argument, arg in field.args.items():
                found.extend(TextInput(operation, field_name, argument, p) for p in _text_paths(arg.type))
    return found


SCHEMA = committed_schema()
INPUTS = text_inputs(SCHEMA)
SCALARS: dict[str, Any] = {"Int": 1, "Float": 1.0, "Boolean": False, "Date": "2026-01-05", "ID": "x",
                           "DateTime": "2026-01-05T10:00:00+00:00", "String": "x", "JSON": "x"}


def sample(type_: GraphQLInputType, path: tuple[Step, ...] | None, text: str) -> Any:
    """A value of the type that coerces, with `text` at `path` (None: nowhere in this value)."""
    if isinstance(type_, GraphQLNonNull):
        return sample(type_.of_type, path, text)
    if isinstance(type_, GraphQLList):
        return [sample(type_.of_type, None if path is None else path[1:], text)]
    if isinstance(type_, GraphQLInputObjectType):
        value = {}
        for name, field in type_.fields.items():
            target = path is not None and path[0] == name
            if target or (isinstance(field.type, GraphQLNonNull) and field.default_value is Undefined):
                value[name] = sample(field.type, path[1:] if target and path is not None else None, text)
        return value
    if isinstance(type_, GraphQLEnumType):
        return next(iter(type_.values))
    if path == ():
        return text
    if type_.name == "UUID":
        return str(uuid.uuid4())
    return SCALARS[type_.name]


def _selection(field: GraphQLField) -> str:
    named = get_named_type(field.type)
    if isinstance(named, GraphQLObjectType) and "errors" in named.fields:
        return "{ errors { code field message } }"
    return "" if isinstance(named, GraphQLScalarType | GraphQLEnumType) else "{ __typename }"


def request(target: TextInput, text: str) -> tuple[str, dict[str, Any]]:
    root = SCHEMA.query_type if target.operation == "query" else SCHEMA.mutation_type
    assert root is not None
    field = root.fields[target.field]
    arguments = {name: arg for name, arg in field.args.items()
                 if name == target.argument or isinstance(arg.type, GraphQLNonNull)}
    definitions = ", ".join(f"${name}: {arg.type}" for name, arg in arguments.items())
    passed = ", ".join(f"{name}: ${name}" for name in arguments)
    document = f"{target.operation} Probe({definitions}) {{ {target.field}({passed}) {_selection(field)} }}"
    variables = {name: sample(arg.type, target.path if name == target.argument else None, text)
                 for name, arg in arguments.items()}
    return document, variables


async def send(caller: Caller, target: TextInput, text: str) -> dict[str, Any]:
    """Post the probe as JSON with \\u escapes, as a browser's JSON.stringify sends a lone surrogate."""
    document, variables = request(target, text)
    response = await caller.client.post(
        "/graphql", content=json.dumps({"query": document, "variables": variables}),
        headers={"Authorization": f"Bearer {caller.token}", "Content-Type": "application/json"})
    assert response.status_code == 200, (target, response.text)
    body: dict[str, Any] = response.json()
    return body


def refused_as_invalid(body: dict[str, Any], target: TextInput) -> dict[str, Any]:
    """The refusal naming the field, wherever the operation kind puts it."""
    if target.operation == "mutation" and "{ errors" in request(target, "")[0]:
        assert body.get("errors") is None, body
        errors = body["data"][target.field]["errors"]
        assert [(e["code"], e["field"]) for e in errors] == [("INVALID", target.name)], body
        refusal: dict[str, Any] = errors[0]
        return refusal
    assert body["errors"][0]["extensions"] == {"code": "INVALID", "field": target.name}, body
    return dict(body["errors"][0])


def test_the_walk_finds_every_text_input_of_the_schema() -> None:
    # Issue 14 names 28 that failed; the schema has these, and the walk must find the ones it named.
    names = {str(t) for t in INPUTS}
    for known in ("createYoungAdult(givenName)", "addNetworkMember(familyName)", "renameSite(name)",
                  "caseload(filter.search)", "practiceRuleHistory(rule)", "tenantSites(slug)",
                  "changePracticeRules(changes.0.rule)", "onboardTenant(sites.0.name)"):
        assert known in names
    assert len(INPUTS) >= 90
    assert any(t.prose for t in INPUTS)
    assert any(not t.prose for t in INPUTS)


HOSTILE = {
    "nul": "Sam\x00Jones",
    "lone surrogate": "Sam\ud800Jones",
    "escape": "Sam\x1b[2JJones",
    "C1 control": "Sam\x85Jones",
}


@pytest.fixture
async def admin(make_tenant: TenantFactory, login: CallerFactory) -> Caller:
    return await login(Role.TENANT_ADMIN, await make_tenant())


@pytest.mark.parametrize("kind", sorted(HOSTILE))
async def test_every_text_input_refuses_control_characters_and_lone_surrogates(
        admin: Caller, kind: str, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO)
    for target in INPUTS:
        body = await send(admin, target, HOSTILE[kind])
        refusal = refused_as_invalid(body, target)
        assert target.name in refusal["message"]
        assert "Sam" not in refusal["message"]  # the value is never quoted back, nor logged
    assert not [r for r in caplog.records if "unexpected error" in r.getMessage()]


async def test_every_text_input_refuses_an_over_long_value(admin: Caller) -> None:
    for target in INPUTS:
        limit = PROSE_MAX if target.prose else LINE_MAX
        refusal = refused_as_invalid(await send(admin, target, "x" * (limit + 1)), target)
        assert f"at most {limit} characters" in refusal["message"]


async def test_line_breaks_are_prose_only(admin: Caller) -> None:
    for target in INPUTS:
        body = await send(admin, target, "first line\n\tsecond line")
        if target.prose:  # accepted by the text check: whatever else the resolver says, it is not about this
            assert target.name not in str(body), (target, body)
        else:
            refused_as_invalid(body, target)


def test_the_check_itself() -> None:
    assert problem("Zoë O'Brien-Ngata 李") is None
    assert problem("first\r\nsecond\tthird", prose=True) is None
    assert problem("a\u2028b") is None  # a Unicode line separator is text, not a control character
    assert problem("x" * LINE_MAX) is None
    assert problem("\x7f") == "must not contain control characters"
    assert problem("\x00", prose=True) == "must not contain control characters other than tab and line breaks"
    assert problem("\udfff") == "must be valid Unicode text (it holds a lone surrogate)"
