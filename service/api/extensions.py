"""Schema extensions of the request path: the operation's kind, and the error policy applied to field errors.

Expected failures (:class:`~service.kernel.errors.DomainError`) raised from a query field reach the caller with their
code; mutations return them as payload data instead. Every other exception is mapped by the one error policy
(:mod:`service.api.errors`): timeouts, outages and conflicts keep their codes, anything unexpected is masked behind
a reference id. The transaction itself is ended by the request path (service.app.endpoint), not here.
"""

from __future__ import annotations

from collections.abc import Generator

from graphql import GraphQLError, get_operation_ast
from strawberry.extensions import SchemaExtension
from strawberry.types import ExecutionContext
from strawberry.types.graphql import OperationType

from service.api.errors import classify
from service.kernel.work import UnitOfWork


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
