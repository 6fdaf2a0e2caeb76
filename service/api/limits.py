"""What one GraphQL document may ask for: depth, tokens, aliases and an estimated cost, all set by settings.

Tokens are counted by graphql-core's parser (strawberry's ``MaxTokensLimiter``). Depth, aliases and cost are ours,
checked before graphql-core validates the document, and each is linear in the document's size: a fragment is
analysed once per request and every spread of it reuses that answer, so ``{ ...F0 } fragment F0 { ...F1 ...F1 }
…`` costs one walk per fragment, not 2^n (issue 14). Numbers saturate at :data:`CEILING`, so a fan-out document
never builds a huge integer.

The cost estimate: every field costs 1, and a field returning many items multiplies the cost of what is selected
under it by how many it may return — its ``first`` argument (or that argument's default) for a paginated field,
``default_list_size`` for a plain list. Edges of a connection are already counted by the connection's ``first``.
The estimate is reported in the response's ``extensions.cost`` as ``{requested, limit}``; above the limit the
operation is refused unexecuted.
"""

from __future__ import annotations

import functools
import re
from collections import Counter
from collections.abc import Callable, Generator, Iterator, Mapping
from typing import Any

from graphql import (
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
from graphql.language import DocumentNode
from graphql.utilities import get_operation_ast
from strawberry.extensions import MaxTokensLimiter, SchemaExtension
from strawberry.extensions.disable_introspection import DisableIntrospection

from service.kernel.settings import Settings

Fields = Mapping[str, GraphQLField]
Fragments = Mapping[str, FragmentDefinitionNode]

# Where depth, alias and cost figures stop growing: far above any limit, far below a costly integer.
CEILING = 10**15
# The most times one response name may appear among the fields of one selection set. graphql-core compares every
# pair of same-named fields when it validates a document (OverlappingFieldsCanBeMerged), which is quadratic: 490
# copies of `me { subject }` take about a second. No front-end asks for one field more than a few times.
MAX_REPEATS = 25
# The most fragments one document may define. graphql-core compares fragments spread into the same selection set
# pairwise, so its work grows with the square of their number: 150 fragments take about two seconds, 30 under a
# tenth. The published operations use one at most.
MAX_FRAGMENTS = 30


def _spreads(selection_set: SelectionSetNode) -> Iterator[str]:
    """The fragments spread anywhere inside one selection set, not following the spreads themselves."""
    for selection in selection_set.selections:
        if isinstance(selection, FragmentSpreadNode):
            yield selection.name.value
        elif isinstance(selection, FieldNode | InlineFragmentNode) and selection.selection_set is not None:
            yield from _spreads(selection.selection_set)


def fragment_order(fragments: Fragments) -> list[str]:
    """Every fragment once, each after the fragments it spreads (a cycle, refused by validation, is cut), found
    without recursion through spreads, so a long chain of fragments cannot exhaust the stack."""
    order: list[str] = []
    seen: set[str] = set()
    for root in fragments:
        if root in seen:
            continue
        seen.add(root)
        stack = [(root, iter(list(_spreads(fragments[root].selection_set))))]
        while stack:
            name, pending = stack[-1]
            child = next((c for c in pending if c not in seen and c in fragments), None)
            if child is None:
                stack.pop()
                order.append(name)
            else:
                seen.add(child)
                stack.append((child, iter(list(_spreads(fragments[child].selection_set)))))
    return order


def _capped(value: int) -> int:
    return min(value, CEILING)


class Shape:
    """Depth (as strawberry's QueryDepthLimiter counts it: nested fields with selections, introspection not
    counted) and aliases (as its MaxAliasesLimiter counts them: every aliased field each time it is reached) of a
    document's operations, and the most times one response name is repeated in any of its selection sets."""

    def __init__(self, fragments: Fragments) -> None:
        self.visits = 0  # selections examined: the work done, which tests hold to the document's size
        self.most_repeats = 0  # in any selection set of the document, used or not (validation reads them all)
        self._memo: dict[str, tuple[int, int]] = {}
        for name in fragment_order(fragments):
            self._memo[name] = self.of(fragments[name].selection_set)

    def of(self, selection_set: SelectionSetNode) -> tuple[int, int]:
        """(depth, aliases) of one selection set."""
        depth = aliases = 0
        names: Counter[str] = Counter()
        for selection in selection_set.selections:
            self.visits += 1
            if isinstance(selection, FieldNode):
                names[(selection.alias or selection.name).value] += 1
                aliases += selection.alias is not None
                if selection.selection_set is None:
                    continue
                below, inner_aliases = self.of(selection.selection_set)
                if not selection.name.value.startswith("__"):  # introspection is not counted
                    depth = max(depth, 1 + below)
            elif isinstance(selection, InlineFragmentNode):
                below, inner_aliases = self.of(selection.selection_set)
                depth = max(depth, below)
            else:
                assert isinstance(selection, FragmentSpreadNode)
                below, inner_aliases = self._memo.get(selection.name.value, (0, 0))  # unknown or cyclic: invalid
                depth = max(depth, below)
            aliases = _capped(aliases + inner_aliases)
        self.most_repeats = max(self.most_repeats, *names.values(), 0)
        return depth, aliases


class CostEstimate:
    """The cost of a document's operation for given variables; each fragment is costed once (its type condition
    fixes the type it is costed against), then every spread of it adds that figure."""

    def __init__(self, schema: GraphQLSchema, fragments: Fragments, variables: Mapping[str, Any],
                 default_list_size: int) -> None:
        self.schema = schema
        self.variables = variables
        self.default_list_size = default_list_size
        self.visits = 0  # selections examined
        self._memo: dict[str, int] = {}
        for name in fragment_order(fragments):
            fragment = fragments[name]
            self._memo[name] = self.cost(fragment.selection_set, schema.get_type(fragment.type_condition.name.value))

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

    def cost(self, selection_set: SelectionSetNode, parent: Any) -> int:
        total = 0
        for selection in selection_set.selections:
            self.visits += 1
            if isinstance(selection, FragmentSpreadNode):
                total += self._memo.get(selection.name.value, 0)
            elif isinstance(selection, InlineFragmentNode):
                condition = selection.type_condition
                inner = self.schema.get_type(condition.name.value) if condition is not None else parent
                total += self.cost(selection.selection_set, inner)
            elif isinstance(selection, FieldNode):
                total += 1 + self._below(selection, parent)
            total = _capped(total)
        return total

    def _below(self, node: FieldNode, owner: Any) -> int:
        if node.name.value.startswith("__") or not isinstance(owner, GraphQLObjectType | GraphQLInterfaceType):
            return 0  # introspection (off in production) and __typename cost one each
        field = owner.fields.get(node.name.value)
        if field is None or node.selection_set is None:
            return 0
        return _capped(self._multiplier(node, field, owner) * self.cost(node.selection_set, get_named_type(field.type)))


def fragments_of(document: DocumentNode) -> dict[str, FragmentDefinitionNode]:
    return {d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)}


def estimate_cost(schema: GraphQLSchema, operation: OperationDefinitionNode, fragments: Fragments,
                  variables: Mapping[str, Any], default_list_size: int) -> int:
    root = schema.get_root_type(operation.operation)
    if root is None:
        return 0
    return CostEstimate(schema, fragments, variables, default_list_size).cost(operation.selection_set, root)


def cost_inputs(operation: OperationDefinitionNode, fragments: Fragments) -> tuple[str, ...]:
    """The variables an estimate of ``operation`` reads: those given as a ``first`` argument anywhere in it or in
    the fragments (:meth:`CostEstimate._first` reads nothing else of the variables). Requests that agree on these —
    the same integers, or no integer — have the same estimate."""
    found: set[str] = set()
    pending = [operation.selection_set, *(f.selection_set for f in fragments.values())]
    while pending:
        for selection in pending.pop().selections:
            if isinstance(selection, FieldNode):
                found.update(a.value.name.value for a in selection.arguments or ()
                             if a.name.value == "first" and isinstance(a.value, VariableNode))
            if isinstance(selection, FieldNode | InlineFragmentNode) and selection.selection_set is not None:
                pending.append(selection.selection_set)
    return tuple(sorted(found))


class CostMemo:
    """:func:`estimate_cost` of one operation, remembered by the values of its :func:`cost_inputs` (at most
    ``size`` of them, forgotten all at once when full), for an executor that answers the same document again and
    again: an operation without ``first`` variables is estimated once. Every figure is estimate_cost's own."""

    def __init__(self, schema: GraphQLSchema, operation: OperationDefinitionNode, fragments: Fragments,
                 default_list_size: int, size: int = 64) -> None:
        self.schema = schema
        self.operation = operation
        self.fragments = fragments
        self.default_list_size = default_list_size
        self.inputs = cost_inputs(operation, fragments)
        self.size = size
        self._known: dict[tuple[int | None, ...], int] = {}

    def cost(self, variables: Mapping[str, Any]) -> int:
        key = tuple(v if isinstance(v := variables.get(name), int) else None for name in self.inputs)
        found = self._known.get(key)
        if found is None:
            if len(self._known) >= self.size:
                self._known.clear()
            found = self._known[key] = estimate_cost(self.schema, self.operation, self.fragments, variables,
                                                     self.default_list_size)
        return found


class DocumentLimits(SchemaExtension):
    """Refuse a document over its depth, alias, repeat, cost or fragment limit before graphql-core validates it (so its
    quadratic rules never see an oversized document) and before anything runs; report the cost either way."""

    def __init__(self, *, max_depth: int, max_aliases: int, max_cost: int, default_list_size: int) -> None:
        self.max_depth = max_depth
        self.max_aliases = max_aliases
        self.max_cost = max_cost
        self.default_list_size = default_list_size
        self.requested: int | None = None

    def on_validate(self) -> Generator[None, None, None]:
        ec = self.execution_context
        if ec.graphql_document is not None and ec.pre_execution_errors is None:
            refusal = self.refusal(ec.schema._schema, ec.graphql_document, ec.operation_name, ec.variables or {})
            if refusal is not None:
                ec.pre_execution_errors = [refusal]  # strawberry then skips validation and execution
        yield

    def refusal(self, schema: GraphQLSchema, document: DocumentNode, operation_name: str | None,
                variables: Mapping[str, Any]) -> GraphQLError | None:
        fragments = fragments_of(document)
        shape = Shape(fragments)
        aliases = 0
        for definition in document.definitions:
            if not isinstance(definition, OperationDefinitionNode):
                continue
            depth, found = shape.of(definition.selection_set)
            aliases = _capped(aliases + found)
            if depth > self.max_depth:
                name = definition.name.value if definition.name else "anonymous"
                return GraphQLError(f"'{name}' exceeds maximum operation depth of {self.max_depth}",
                                    extensions={"code": "QUERY_TOO_DEEP"})
        if shape.most_repeats > MAX_REPEATS:
            return GraphQLError(f"A field is selected more than {MAX_REPEATS} times in one selection set: "
                                "select it once (or alias the copies that differ).",
                                extensions={"code": "QUERY_TOO_LARGE"})
        if aliases > self.max_aliases:
            return GraphQLError(f"{aliases} aliases found. Allowed: {self.max_aliases}",
                                extensions={"code": "TOO_MANY_ALIASES"})
        operation = get_operation_ast(document, operation_name)
        if operation is not None:  # otherwise no such operation, or an ambiguous one: validation says which
            self.requested = estimate_cost(schema, operation, fragments, variables, self.default_list_size)
            if self.requested > self.max_cost:
                return GraphQLError(
                    f"This operation's estimated cost is {self.requested}, over the limit of {self.max_cost}: "
                    "ask for fewer items (a smaller `first`) or fewer nested lists.",
                    extensions={"code": "QUERY_TOO_COSTLY", "cost": self.requested, "limit": self.max_cost})
        if len(fragments) > MAX_FRAGMENTS:
            return GraphQLError(f"This document defines {len(fragments)} fragments; at most {MAX_FRAGMENTS} are "
                                "allowed.", extensions={"code": "QUERY_TOO_LARGE"})
        return None

    def get_results(self) -> dict[str, Any]:
        if self.requested is None:
            return {}
        return {"cost": {"requested": self.requested, "limit": self.max_cost}}


# How the limiters' refusals begin (graphql-core's parser, strawberry's MaxTokensLimiter and DisableIntrospection),
# and the code each gets. Anchored at the start of the message: a message also quotes what the caller sent (a
# variable's value), which must never choose the code.
_LIMIT_CODES = (
    (re.compile(r"(Syntax Error: )?(Document|Source) contains more than \d+ "), "QUERY_TOO_LARGE"),
    (re.compile(r"(Syntax Error: )?Document is nested too deeply"), "QUERY_TOO_DEEP"),
    (re.compile(r"GraphQL introspection has been disabled"), "INTROSPECTION_DISABLED"),
)


def document_error_code(error: GraphQLError) -> str:
    """The code of an error met before the operation ran (it has no path): a limiter's refusal, a document that
    does not parse, a variable that does not fit its type, or a document the schema does not validate."""
    message = error.message
    limit = next((code for opening, code in _LIMIT_CODES if opening.match(message)), None)
    if limit is not None:
        return limit
    if message.startswith("Syntax Error"):
        return "GRAPHQL_PARSE_FAILED"
    if message.startswith("Variable '$"):
        return "BAD_USER_INPUT"
    return "GRAPHQL_VALIDATION_FAILED"


class DocumentErrorCodes(SchemaExtension):
    """Give every error met before the operation ran an ``extensions.code`` a client can act on (graphql-core's
    carry only a message): the limiters' refusals, and a document or variables that do not fit the schema. Errors
    met while it runs (they have a path) keep what the error policy gave them. Part of every schema
    (service.app.schema.build_schema), whatever limits it is given."""

    def on_operation(self) -> Generator[None, None, None]:
        yield
        result = self.execution_context.result
        if result is None or not result.errors:
            return
        coded = []
        for error in result.errors:
            raised = error.original_error  # a variable's coercion error wraps graphql-core's own GraphQLError
            if error.path is not None or (raised is not None and not isinstance(raised, GraphQLError)) \
                    or (error.extensions or {}).get("code"):
                coded.append(error)
            else:
                coded.append(GraphQLError(error.message, nodes=error.nodes, source=error.source,
                                          positions=error.positions, path=error.path, original_error=raised,
                                          extensions={**(error.extensions or {}), "code": document_error_code(error)}))
        result.errors = coded


ExtensionFactory = Callable[[], SchemaExtension]


def limit_extensions(settings: Settings) -> list[ExtensionFactory]:
    """The limit extensions for these settings, as factories (strawberry makes fresh ones per operation)."""
    factories: list[ExtensionFactory] = [
        functools.partial(MaxTokensLimiter, max_token_count=settings.max_query_tokens),
        functools.partial(DocumentLimits, max_depth=settings.max_query_depth, max_aliases=settings.max_query_aliases,
                          max_cost=settings.max_query_cost, default_list_size=settings.default_list_size),
    ]
    if not settings.introspection_allowed:
        factories.append(DisableIntrospection)
    return factories
