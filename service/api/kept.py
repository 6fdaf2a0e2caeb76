"""Values shared between requests, completed once per selection instead of field by field on every request.

A national table by tenant at 1,000 tenants is about 14,000 fields: graphql-core's execution of them, one resolve
info, one resolver call and one completion each, took about 60 ms of a request whose reads took under 1 ms (the
table itself is kept per process while its figures hold: service.reporting.service.published_tenant_table). So a
GraphQL value made by :func:`shared` from such a source is completed once for each selection and variables that ask
for it, and that completion is kept with it:

- the first time by what :meth:`KeptExecution._completer` makes for the selection, which walks it with graphql-core's
  own pieces (its field collection, the fields' own resolvers, its leaf coercion) but without a resolve info, a path
  or an awaitable check per field (a table of 1,000 tenants: about 10 ms instead of 60). It takes only types made
  of plain data (:func:`plain`: fields read from the value by strawberry's own attribute resolver, no arguments, no
  abstract types); on anything else, or a value that does not complete (a null where the schema forbids one, a leaf
  that does not coerce), graphql-core completes it as it always does, errors and all, and nothing is kept;
- later from what was kept, the same objects: a completed value is never changed by the executor after it is made.

The completion depends on nothing but the value, the selection (its nodes, which a parsed document keeps:
service.api.extensions.PreparedDocuments) and the variables, never on the caller: plain types have no resolvers of
their own and no audit policy. A generated test runs every selection of the national table both ways and compares.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Hashable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from graphql import (
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLOutputType,
    GraphQLResolveInfo,
    is_leaf_type,
    is_list_type,
    is_non_null_type,
    is_object_type,
)
from graphql.execution.collect_fields import FieldDetailsList
from graphql.pyutils import Path
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext

S = TypeVar("S")
T = TypeVar("T")

# Shared values kept, and selections kept per value: a national table of 1,000 tenants made into GraphQL and
# completed once holds about 1.2 MiB (tracemalloc), so all of this holds a few tens of MiB at most.
SHARED_VALUES = 8
SELECTIONS = 2


@dataclass(slots=True)
class _Shared:
    source: object  # kept alive with its value, so its id is not reused while the entry exists
    value: object
    completions: OrderedDict[Hashable, tuple[tuple[object, ...], Any]] = field(default_factory=OrderedDict)


_SHARED: OrderedDict[int, _Shared] = OrderedDict()  # by id(value)
_BY_SOURCE: dict[int, int] = {}  # id(source) -> id(value)


def shared(source: S, make: Callable[[S], T]) -> T:
    """The GraphQL value for ``source``, a value shared between requests and never changed: made by ``make`` once
    while it is kept, and each of its selections completed once (KeptExecution)."""
    made = _BY_SOURCE.get(id(source))
    if made is not None:
        entry = _SHARED[made]
        if entry.source is source:
            _SHARED.move_to_end(made)
            return entry.value  # type: ignore[return-value]
    value = make(source)
    if len(_SHARED) >= SHARED_VALUES:
        _, oldest = _SHARED.popitem(last=False)
        _BY_SOURCE.pop(id(oldest.source), None)
    _SHARED[id(value)] = _Shared(source, value)
    _BY_SOURCE[id(source)] = id(value)
    return value


def forget() -> None:
    """Drop every kept value (tests, benchmarks)."""
    _SHARED.clear()
    _BY_SOURCE.clear()


_PLAIN: dict[GraphQLObjectType, bool] = {}


def plain(object_type: GraphQLObjectType) -> bool:
    """Whether a type, and every object type it reaches, is plain data: each field read from the value by
    strawberry's own attribute resolver (no resolver, permission or extension of its own), with no arguments, and no
    interfaces, unions or type checks. Only these are completed without graphql-core's field-by-field execution."""
    known = _PLAIN.get(object_type)
    if known is not None:
        return known
    _PLAIN[object_type] = True  # a type that reaches itself: decided by its other fields
    verdict = object_type.is_type_of is None and not object_type.interfaces
    for definition in object_type.fields.values():
        if not verdict:
            break
        inner = definition.type
        while isinstance(inner, (GraphQLNonNull, GraphQLList)):
            inner = inner.of_type
        verdict = (not definition.args and getattr(definition.resolve, "_is_default", False)
                   and (is_leaf_type(inner) or (is_object_type(inner) and plain(inner))))
    _PLAIN[object_type] = verdict
    return verdict


class _NotPlain(Exception):
    """The value does not complete as plain data: graphql-core completes it instead."""


def _frozen(value: Any) -> Hashable:
    if isinstance(value, dict):
        return tuple(sorted((k, _frozen(v)) for k, v in value.items()))
    if isinstance(value, list | tuple):
        return tuple(_frozen(v) for v in value)
    hash(value)  # raises TypeError for anything else unhashable: then nothing is kept
    return value  # type: ignore[no-any-return]


class KeptExecution(StrawberryGraphQLCoreExecutionContext):
    """graphql-core's execution, with a shared value's completion made once per selection and variables (above).
    Not while a schema extension wraps every resolver (a middleware): each field must then be resolved through it."""

    def complete_value(self, return_type: GraphQLOutputType, field_details_list: FieldDetailsList,
                       info: GraphQLResolveInfo[Any], path: Path, result: Any, position_context: Any) -> Any:
        entry = _SHARED.get(id(result)) if _SHARED else None
        if entry is None or entry.value is not result or not is_object_type(return_type) \
                or not plain(return_type) or (self.middleware_manager is not None
                                              and self.middleware_manager.middlewares):
            return super().complete_value(return_type, field_details_list, info, path, result, position_context)
        nodes = tuple(details.node for details in field_details_list)
        try:
            key: Hashable = (return_type, tuple(map(id, nodes)), _frozen(self.variable_values.coerced))
        except TypeError:
            return super().complete_value(return_type, field_details_list, info, path, result, position_context)
        kept = entry.completions.get(key)
        if kept is not None and all(a is b for a, b in zip(kept[0], nodes, strict=True)):
            entry.completions.move_to_end(key)
            return kept[1]
        try:
            completed = self._completer(return_type, field_details_list)(result)
        except _NotPlain:
            return super().complete_value(return_type, field_details_list, info, path, result, position_context)
        if len(entry.completions) >= SELECTIONS:
            entry.completions.popitem(last=False)
        entry.completions[key] = (nodes, completed)  # the nodes kept alive with it, so their ids are not reused
        return completed

    def _completer(self, return_type: GraphQLOutputType, details: FieldDetailsList) -> Callable[[Any], Any]:
        """What completes a value of ``return_type`` for the selection ``details``, worked out once per execution
        for every value it completes (a list's thousand rows share one), as graphql-core's collect_subfields is."""
        plans: dict[tuple[GraphQLOutputType, int], tuple[FieldDetailsList, Callable[[Any], Any]]]
        plans = self.__dict__.setdefault("_kept_completers", {})
        known = plans.get((return_type, id(details)))
        if known is not None:
            return known[1]
        made = self._make_completer(return_type, details)
        plans[(return_type, id(details))] = (details, made)  # details kept alive, as collect_subfields keeps them
        return made

    def _make_completer(self, return_type: GraphQLOutputType, details: FieldDetailsList) -> Callable[[Any], Any]:
        if is_non_null_type(return_type):
            inner = self._completer(return_type.of_type, details)

            def required(value: Any) -> Any:
                if value is None:
                    raise _NotPlain
                return inner(value)
            return required
        if is_list_type(return_type):
            item = self._completer(return_type.of_type, details)

            def listed(value: Any) -> Any:
                if value is None:
                    return None
                if isinstance(value, str | bytes | dict) or not hasattr(value, "__iter__"):
                    raise _NotPlain
                return [item(v) for v in value]
            return listed
        if is_leaf_type(return_type):
            complete_leaf = self.complete_leaf_value

            def leaf(value: Any) -> Any:
                if value is None:
                    return None
                try:
                    return complete_leaf(return_type, value)
                except Exception:
                    raise _NotPlain from None
            return leaf
        assert is_object_type(return_type), "plain() admits only leaves, lists and object types"
        grouped, defer_usages, _ = self.collect_subfields(return_type, details)
        if defer_usages:
            raise _NotPlain
        type_name = return_type.name
        fields: list[tuple[str, Callable[..., Any], Callable[[Any], Any]]] = []
        for response_name, field_details in grouped.items():
            name = field_details[0].node.name.value
            if name == "__typename":
                fields.append((response_name, lambda _source, _info: type_name, lambda v: v))
                continue
            definition = return_type.fields.get(name)
            if definition is not None:  # as graphql-core: a field the type does not have is left out
                fields.append((response_name, definition.resolve,  # plain(): set
                               self._completer(definition.type, field_details)))

        def complete(source: Any) -> Any:
            if source is None:
                return None
            return {response_name: completion(resolve(source, None)) for response_name, resolve, completion in fields}
        return complete
