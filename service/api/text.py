"""Text from callers, checked in one place: every String argument and input field of the schema (and every string
inside a JSON argument) before any resolver sees it.

A value is refused when it holds a control character (tab, line feed and carriage return are allowed in the
multi-line prose fields of :data:`PROSE`), a lone surrogate (which no database encoding can store), or more
characters than its field allows. The refusal is an ``INVALID`` :class:`~service.kernel.errors.InvalidInput` naming
the field by its path below the argument (``givenName``, ``sites.1.name``, ``filter.search``; a mutation's single
``input`` is left out, as in every payload error): a mutation answers with its payload's ``errors``, having done
nothing; any other field answers with a GraphQL error with that code. The message never quotes the value.

Tighter rules of a field (a search's word count, a member's name length) stay with the feature: this is the floor
every text input stands on, so that no caller's text can reach PostgreSQL in a form it refuses.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Mapping
from typing import Any

from graphql import (
    GraphQLField,
    GraphQLFieldResolver,
    GraphQLInputObjectType,
    GraphQLInputType,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLScalarType,
    GraphQLSchema,
    GraphQLString,
    default_field_resolver,
    get_named_type,
    is_list_type,
    is_non_null_type,
)

from service.api.common import user_error
from service.kernel.errors import InvalidInput

# Input fields that hold prose a person types in a text area: they may span lines and run longer.
PROSE = frozenset({"reason", "description", "summary", "note", "outcome", "address"})
LINE_MAX = 500
PROSE_MAX = 10_000

_LINE_REFUSED = re.compile("[\x00-\x1f\x7f-\x9f]")  # C0 and C1 controls, DEL
_PROSE_REFUSED = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")  # the same, less tab, LF and CR
_SURROGATE = re.compile("[\ud800-\udfff]")  # only a lone one can be in a str decoded from JSON


def problem(value: str, prose: bool = False) -> str | None:
    """What is wrong with one text value, in words that do not quote it; None when nothing is."""
    limit = PROSE_MAX if prose else LINE_MAX
    if len(value) > limit:
        return f"must be at most {limit} characters"
    if _SURROGATE.search(value):
        return "must be valid Unicode text (it holds a lone surrogate)"
    if (_PROSE_REFUSED if prose else _LINE_REFUSED).search(value):
        allowed = " other than tab and line breaks" if prose else ""
        return f"must not contain control characters{allowed}"
    return None


Path = tuple[str | int, ...]


def _problems(value: Any, type_: GraphQLInputType, path: Path) -> Iterator[tuple[Path, str]]:
    if value is None:
        return
    if isinstance(type_, GraphQLNonNull):
        yield from _problems(value, type_.of_type, path)
    elif isinstance(type_, GraphQLList):
        items = value if isinstance(value, list) else [value]
        for i, item in enumerate(items):
            yield from _problems(item, type_.of_type, (*path, i))
    elif isinstance(type_, GraphQLInputObjectType) and isinstance(value, Mapping):
        for name, field in type_.fields.items():
            yield from _problems(value.get(name), field.type, (*path, name))
    elif type_ is GraphQLString and isinstance(value, str):
        names = [p for p in path if isinstance(p, str)]
        found = problem(value, prose=bool(names) and names[-1] in PROSE)
        if found is not None:
            yield path, found
    elif isinstance(type_, GraphQLScalarType) and type_.name == "JSON":
        yield from _json_problems(value, path)


def _json_problems(value: Any, path: Path) -> Iterator[tuple[Path, str]]:
    if isinstance(value, str):
        found = problem(value)
        if found is not None:
            yield path, found
    elif isinstance(value, list):
        for i, item in enumerate(value):
            yield from _json_problems(item, (*path, i))
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from _json_problems(key, path)
            yield from _json_problems(item, (*path, key))


def refusal(field: GraphQLField, arguments: Mapping[str, Any]) -> InvalidInput | None:
    """The first text problem in a field's arguments (as graphql-core coerced them), as the error to answer."""
    for name, argument in field.args.items():
        for path, found in _problems(arguments.get(name), argument.type, () if name == "input" else (name,)):
            where = ".".join(str(p) for p in path) or name
            return InvalidInput(f"{where} {found}.", field=where)
    return None


def _takes_text(type_: GraphQLInputType, seen: frozenset[str] = frozenset()) -> bool:
    named = get_named_type(type_)
    if isinstance(named, GraphQLInputObjectType):
        return named.name not in seen and any(_takes_text(f.type, seen | {named.name}) for f in named.fields.values())
    return named is GraphQLString or named.name == "JSON"


def text_fields(schema: GraphQLSchema) -> Iterator[tuple[GraphQLObjectType, str, GraphQLField]]:
    """Every field of the schema with an argument that is, or holds, text."""
    for type_ in schema.type_map.values():
        if isinstance(type_, GraphQLObjectType) and not type_.name.startswith("__"):
            for name, field in type_.fields.items():
                if any(_takes_text(a.type) for a in field.args.values()):
                    yield type_, name, field


def _refused_payload(type_: Any) -> Callable[[InvalidInput], Any] | None:
    """How to answer a mutation returning ``type_`` with one refusal in its ``errors``, or None when the payload
    has a field that cannot be left empty."""
    if not isinstance(type_, GraphQLObjectType) or "errors" not in type_.fields:
        return None
    empty: dict[str, Any] = {}
    for name, field in type_.fields.items():
        definition = field.extensions.get("strawberry-definition")
        if name == "errors" or definition is None or definition.base_resolver is not None:
            continue
        if is_non_null_type(field.type):
            if not is_list_type(field.type.of_type):
                return None
            empty[definition.python_name] = []
        else:
            empty[definition.python_name] = None
    origin = type_.extensions["strawberry-definition"].origin
    return lambda exc: origin(**empty, errors=[user_error(exc)])


def _guarded(field: GraphQLField, payload: Callable[[InvalidInput], Any] | None) -> GraphQLFieldResolver:
    resolve = field.resolve or default_field_resolver

    def guarded(root: Any, info: Any, **arguments: Any) -> Any:
        refused = refusal(field, arguments)
        if refused is None:
            return resolve(root, info, **arguments)
        if payload is None:
            raise refused
        return payload(refused)

    guarded.text_checked = True  # type: ignore[attr-defined]
    return guarded


def check_text_inputs(schema: GraphQLSchema) -> None:
    """Put the text check in front of the resolver of every field that takes text (once per schema)."""
    for type_, _, field in text_fields(schema):
        if getattr(field.resolve, "text_checked", False):
            continue
        payload = _refused_payload(get_named_type(field.type)) if type_ is schema.mutation_type else None
        field.resolve = _guarded(field, payload)
