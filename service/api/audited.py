"""The declared audit policies applied to the ordinary executor: a hook on each field that can return a consulted
type (or a need-to-know field, or a field declared as a view of its own) records the view in the request's
:class:`~service.kernel.audit.ConsultLog` as the value is resolved. No resolver records a view by hand.

What a mutation returns in its payload is what it just wrote (recorded as CREATE or ALTER), so fields of
``Mutation`` and of its payload types are not hooked; anything reached below them is, as in a query.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from inspect import isawaitable
from typing import Any

from graphql import (
    GraphQLField,
    GraphQLInterfaceType,
    GraphQLObjectType,
    GraphQLResolveInfo,
    GraphQLSchema,
    GraphQLUnionType,
    default_field_resolver,
    get_named_type,
)

from service.api.model import Models, TypeModel

logger = logging.getLogger(__name__)

# Shapes every connection shares; they carry no data of their own.
_STRUCTURAL = ("Connection", "Edge", "PageInfo", "Query", "Mutation", "Payload", "Error")

ResolveInfo = GraphQLResolveInfo[Any]
After = Callable[[Any, ResolveInfo, Any], None]


def apply(schema: GraphQLSchema, models: Models) -> None:
    """Hook the audit policy of every declared type into ``schema``'s resolvers (in place)."""
    mutation = schema.mutation_type
    skipped = {mutation.name} if mutation else set()
    if mutation is not None:
        skipped |= {get_named_type(f.type).name for f in mutation.fields.values()}
    for graphql_type in schema.type_map.values():
        if not isinstance(graphql_type, GraphQLObjectType) or graphql_type.name.startswith("__") \
                or graphql_type.name in skipped:
            continue
        model = models.get(graphql_type.name)
        for name, field in graphql_type.fields.items():
            after = _policy(models, model, name, field)
            if after is not None:
                field.resolve = _hooked(field.resolve or default_field_resolver, after)


def undeclared(schema: GraphQLSchema, models: Models) -> list[str]:
    """Object types of the query side with no declaration, and fields of declared types without SQL: what only
    the field-by-field executor answers."""
    out = []
    for graphql_type in schema.type_map.values():
        if not isinstance(graphql_type, GraphQLObjectType) or graphql_type.name.startswith("__") \
                or graphql_type.name.endswith(_STRUCTURAL):
            continue
        model = models.get(graphql_type.name)
        if model is None or model.table is None:
            out.append(graphql_type.name)
            continue
        out += [f"{graphql_type.name}.{f}" for f in graphql_type.fields
                if f not in model.fields and f not in model.disclosed]
    return sorted(out)


def _policy(models: Models, model: TypeModel | None, name: str, field: GraphQLField) -> After | None:
    target = get_named_type(field.type)
    if model is not None and name in model.disclosed:
        return _disclose(model, name)
    if model is not None and name in model.consulted_fields:
        return _consult_field(model, model.consulted_fields[name])
    if isinstance(target, GraphQLInterfaceType | GraphQLUnionType) or (
            isinstance(target, GraphQLObjectType) and (found := models.get(target.name)) is not None
            and found.consulted is not None):
        return _consult(models)
    return None


def _hooked(resolve: Callable[..., Any], after: After) -> Callable[..., Any]:
    def resolve_and_record(source: Any, info: ResolveInfo, **arguments: Any) -> Any:
        result = resolve(source, info, **arguments)
        if isawaitable(result):
            return _later(result, source, info, after)
        after(source, info, result)
        return result
    return resolve_and_record


async def _later(result: Any, source: Any, info: ResolveInfo, after: After) -> Any:
    value = await result
    after(source, info, value)
    return value


def _consult(models: Models) -> After:
    def record(source: Any, info: ResolveInfo, value: Any) -> None:
        parent = _model_of(models, source)
        under_consulted = parent is not None and parent.consulted is not None
        for item in value if isinstance(value, list) else (value,):
            model = _model_of(models, item)
            if model is not None and model.consulted is not None \
                    and not (model.consulted.covered_by_parent and under_consulted):
                policy = model.consulted
                info.context.consults.consulted(model.name, getattr(item, policy.subject_attr),
                                                getattr(item, policy.young_adult_attr))
    return record


def _model_of(models: Models, value: Any) -> TypeModel | None:
    definition = getattr(type(value), "__strawberry_definition__", None)
    return None if definition is None else models.get(definition.name)


def _disclose(model: TypeModel, name: str) -> After:
    policy = model.consulted
    assert policy is not None, f"{model.name}.{name} is need-to-know, so {model.name} must be consulted"

    def record(source: Any, info: ResolveInfo, value: Any) -> None:
        if value is not None:
            info.context.consults.disclosed(model.name, getattr(source, policy.subject_attr),
                                            getattr(source, policy.young_adult_attr), name)
    return record


def _consult_field(model: TypeModel, subject_type: str) -> After:
    policy = model.consulted
    assert policy is not None, f"{model.name} has fields recorded as views, so it must be consulted"

    def record(source: Any, info: ResolveInfo, value: Any) -> None:
        young_adult = getattr(source, policy.young_adult_attr)
        info.context.consults.consulted(subject_type, young_adult, young_adult)
    return record
