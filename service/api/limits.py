"""What one GraphQL document may ask for: depth, tokens, aliases and an estimated cost, all set by settings.

Depth, tokens and aliases are strawberry's own validators. The cost estimate is ours: every field costs 1, and a
field returning many items multiplies the cost of what is selected under it by how many it may return — its
``first`` argument (or that argument's default) for a paginated field, ``default_list_size`` for a plain list.
Edges of a connection are already counted by the connection's ``first``. The estimate is reported in the
response's ``extensions.cost`` as ``{requested, limit}``; above the limit the operation is refused unexecuted.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Generator, Iterator, Mapping
from typing import Any

from graphql import (
    ExecutionResult,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    GraphQLField,
    GraphQLInterfaceType,
    GraphQLObjectType,
    GraphQLSchema,
    InlineFragmentNode,
    IntValueNode,
    OperationDefinitionNode,
    SelectionSetNode,
    VariableNode,
    get_named_type,
    get_nullable_type,
    is_list_type,
)
from graphql.utilities import get_operation_ast
from strawberry.extensions import MaxAliasesLimiter, MaxTokensLimiter, QueryDepthLimiter, SchemaExtension
from strawberry.extensions.disable_introspection import DisableIntrospection

from service.kernel.settings import Settings

Fields = Mapping[str, GraphQLField]


class CostEstimate:
    def __init__(self, schema: GraphQLSchema, fragments: Mapping[str, FragmentDefinitionNode],
                 variables: Mapping[str, Any], default_list_size: int) -> None:
        self.schema = schema
        self.fragments = fragments
        self.variables = variables
        self.default_list_size = default_list_size

    def _first(self, node: FieldNode, field: GraphQLField) -> int:
        for argument in node.arguments or ():
            if argument.name.value != "first":
                continue
            value = argument.value
            if isinstance(value, IntValueNode):
                return max(int(value.value), 0)
            if isinstance(value, VariableNode):
                given = self.variables.get(value.name.value)
                if isinstance(given, int):
                    return max(given, 0)
        default = field.args["first"].default_value
        return default if isinstance(default, int) and default > 0 else self.default_list_size

    def _multiplier(self, node: FieldNode, field: GraphQLField, parent: GraphQLObjectType | GraphQLInterfaceType,
                    ) -> int:
        if "first" in field.args:
            return self._first(node, field)
        if is_list_type(get_nullable_type(field.type)):
            return 1 if parent.name.endswith("Connection") else self.default_list_size
        return 1

    def _selections(self, selection_set: SelectionSetNode, parent: Any) -> Iterator[tuple[FieldNode, Any]]:
        for selection in selection_set.selections:
            if isinstance(selection, FieldNode):
                yield selection, parent
            elif isinstance(selection, InlineFragmentNode):
                condition = selection.type_condition
                inner = self.schema.get_type(condition.name.value) if condition is not None else parent
                yield from self._selections(selection.selection_set, inner)
            elif isinstance(selection, FragmentSpreadNode):
                fragment = self.fragments.get(selection.name.value)
                if fragment is not None:
                    yield from self._selections(fragment.selection_set,
                                                self.schema.get_type(fragment.type_condition.name.value))

    def cost(self, selection_set: SelectionSetNode, parent: Any) -> int:
        total = 0
        for node, owner in self._selections(selection_set, parent):
            total += 1
            if node.name.value.startswith("__") or not isinstance(owner, GraphQLObjectType | GraphQLInterfaceType):
                continue  # introspection (off in production) and __typename cost one each
            field = owner.fields.get(node.name.value)
            if field is None or node.selection_set is None:
                continue
            total += self._multiplier(node, field, owner) * self.cost(node.selection_set,
                                                                      get_named_type(field.type))
        return total


def estimate_cost(schema: GraphQLSchema, operation: OperationDefinitionNode,
                  fragments: Mapping[str, FragmentDefinitionNode], variables: Mapping[str, Any],
                  default_list_size: int) -> int:
    root = schema.get_root_type(operation.operation)
    if root is None:
        return 0
    return CostEstimate(schema, fragments, variables, default_list_size).cost(operation.selection_set, root)


class CostLimit(SchemaExtension):
    """Refuse an operation whose estimated cost exceeds the limit, before it runs; report the cost either way."""

    def __init__(self, *, limit: int, default_list_size: int) -> None:
        self.limit = limit
        self.default_list_size = default_list_size
        self.requested: int | None = None

    def on_execute(self) -> Generator[None, None, None]:
        ec = self.execution_context
        document = ec.graphql_document
        operation = None if document is None else get_operation_ast(document, ec.operation_name)
        if document is not None and operation is not None:
            fragments = {d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)}
            self.requested = estimate_cost(ec.schema._schema, operation, fragments, ec.variables or {},
                                           self.default_list_size)
            if self.requested > self.limit:
                ec.result = ExecutionResult(data=None, errors=[GraphQLError(
                    f"This operation's estimated cost is {self.requested}, over the limit of {self.limit}: "
                    "ask for fewer items (a smaller `first`) or fewer nested lists.",
                    extensions={"code": "QUERY_TOO_COSTLY", "cost": self.requested, "limit": self.limit})])
        yield

    def get_results(self) -> dict[str, Any]:
        if self.requested is None:
            return {}
        return {"cost": {"requested": self.requested, "limit": self.limit}}


# Validation messages of strawberry's and graphql-core's limiters, and the code each gets.
_LIMIT_CODES = (
    ("exceeds maximum operation depth", "QUERY_TOO_DEEP"),
    ("more than", "QUERY_TOO_LARGE"),  # "Document contains more than N tokens. Parsing aborted."
    ("aliases found", "TOO_MANY_ALIASES"),
    ("introspection", "INTROSPECTION_DISABLED"),
)


class LimitErrorCodes(SchemaExtension):
    """Give the limiters' refusals an ``extensions.code`` a client can act on."""

    def on_operation(self) -> Generator[None, None, None]:
        yield
        result = self.execution_context.result
        if result is None or not result.errors:
            return
        coded = []
        for error in result.errors:
            code = next((c for text, c in _LIMIT_CODES if text in error.message), None)
            if code is None or error.original_error is not None or (error.extensions or {}).get("code"):
                coded.append(error)
            else:
                coded.append(GraphQLError(error.message, nodes=error.nodes, path=error.path,
                                          extensions={**(error.extensions or {}), "code": code}))
        result.errors = coded


ExtensionFactory = Callable[[], SchemaExtension]


def limit_extensions(settings: Settings) -> list[ExtensionFactory]:
    """The limit extensions for these settings, as factories (strawberry makes fresh ones per operation)."""
    factories: list[ExtensionFactory] = [
        LimitErrorCodes,
        functools.partial(MaxTokensLimiter, max_token_count=settings.max_query_tokens),
        functools.partial(QueryDepthLimiter, max_depth=settings.max_query_depth),
        functools.partial(MaxAliasesLimiter, max_alias_count=settings.max_query_aliases),
        functools.partial(CostLimit, limit=settings.max_query_cost, default_list_size=settings.default_list_size),
    ]
    if not settings.introspection_allowed:
        factories.append(DisableIntrospection)
    return factories
