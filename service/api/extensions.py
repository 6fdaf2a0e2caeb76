"""Schema extensions of the request path: documents parsed and validated once, the operation's kind, and the error
policy applied to field errors.

Expected failures (:class:`~service.kernel.errors.DomainError`) raised from a query field reach the caller with their
code; mutations return them as payload data instead. Every other exception is mapped by the one error policy
(:mod:`service.api.errors`): timeouts, outages and conflicts keep their codes, anything unexpected is masked behind
a reference id. The transaction itself is ended by the request path (service.app.endpoint), not here.
"""

from __future__ import annotations

import contextlib
import functools
from collections.abc import Callable, Generator
from typing import Any

from graphql import DocumentNode, GraphQLError, get_operation_ast, parse
from graphql.validation import ASTValidationRule
from strawberry.extensions import SchemaExtension
from strawberry.schema.schema import Schema, validate_document
from strawberry.types import ExecutionContext
from strawberry.types.graphql import OperationType

from service.api.errors import classify
from service.kernel.work import UnitOfWork

# Documents whose parse and validation are remembered: the published operations are a few texts of at most 2 KiB
# sent again and again (a parsed document holds about 60 times its text), so the memory this may hold is bounded by
# both figures; a longer text (an ad-hoc query in development) is parsed and validated on every request as before.
PREPARED_DOCUMENTS = 128
PREPARED_TEXT = 4096


class PreparedDocuments(SchemaExtension):
    """Parse and validate each document text once per process, not on every request: for the ordinary executor,
    graphql-core's parse and validation of a published mutation cost about a third of its service CPU.

    Listed after the limit extensions (service.api.limits), so an oversized document is refused by them before it
    is validated, and a refusal they set is left as it is. A text that does not parse is left to strawberry, which
    parses it and answers its syntax error as always. What is remembered is graphql-core's own answer for the same
    text, parse options, schema and rules: the same document (shared, never changed by the executor) and the same
    validation errors."""

    def on_parse(self) -> Generator[None, None, None]:
        ec = self.execution_context
        if ec.graphql_document is None and ec.query is not None and len(ec.query) <= PREPARED_TEXT:
            # A text that does not parse (a syntax error, a limit of the parser's): strawberry's own parse meets it
            # again, where it answers it as always.
            with contextlib.suppress(Exception):
                ec.graphql_document = _parsed(ec.query, tuple(sorted(ec.parse_options.items())))
        yield

    def on_validate(self) -> Generator[None, None, None]:
        ec = self.execution_context
        if ec.pre_execution_errors is None and ec.graphql_document is not None and ec.query is not None \
                and len(ec.query) <= PREPARED_TEXT and ec.validation_rules:
            errors = _validations(ec.schema)(ec.query, tuple(sorted(ec.parse_options.items())),
                                             tuple(ec.validation_rules))
            ec.pre_execution_errors = list(errors)
        yield


@functools.lru_cache(maxsize=PREPARED_DOCUMENTS)
def _parsed(query: str, options: tuple[tuple[str, Any], ...]) -> DocumentNode:
    return parse(query, **dict(options))


Validations = Callable[[str, tuple[tuple[str, Any], ...], tuple[type[ASTValidationRule], ...]],
                      tuple[GraphQLError, ...]]


def _validations(schema: Schema) -> Validations:
    """The schema's own memo of validations, kept on the schema (so it goes when the schema goes)."""
    found: Validations | None = getattr(schema, "_prepared_validations", None)
    if found is None:
        graphql_schema = schema._schema

        @functools.lru_cache(maxsize=PREPARED_DOCUMENTS)
        def validated(query: str, options: tuple[tuple[str, Any], ...],
                      rules: tuple[type[ASTValidationRule], ...]) -> tuple[GraphQLError, ...]:
            return tuple(validate_document(graphql_schema, _parsed(query, options), rules))

        found = validated
        setattr(schema, "_prepared_validations", found)  # noqa: B010 (an attribute strawberry's Schema does not declare)
    return found


class OperationKind(SchemaExtension):
    """Tell the unit of work whether the operation is a mutation (all or nothing) before it runs, and its name
    (the audit trail's "through which operation")."""

    def on_execute(self) -> Generator[None, None, None]:
        ec = self.execution_context
        if isinstance(ec.context, UnitOfWork) and ec.graphql_document is not None:
            ec.context.mutation = ec.operation_type is OperationType.MUTATION
            ec.context.operation = operation_name(ec)
        yield


def operation_name(ec: ExecutionContext) -> str | None:
    """The name of the operation that runs, None if anonymous."""
    operation = None if ec.graphql_document is None else get_operation_ast(ec.graphql_document, ec.operation_name)
    return None if operation is None or operation.name is None else operation.name.value


class MaskUnexpectedErrors(SchemaExtension):
    def on_operation(self) -> Generator[None, None, None]:
        yield
        result = self.execution_context.result
        if result is None or not result.errors:
            return
        result.errors = [self._public(e) for e in result.errors]

    def _public(self, error: GraphQLError) -> GraphQLError:
        original = error.original_error
        # Syntax, validation and variable-coercion errors describe the request (and may quote what the caller sent
        # back to the caller), not stored data.
        if original is None or isinstance(original, GraphQLError):
            return error
        return classify(original).graphql_error(error.nodes, error.path)
