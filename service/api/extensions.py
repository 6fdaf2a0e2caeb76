"""Schema extensions: the request's transaction, and masking of unexpected errors.

Expected failures (:class:`~service.errors.DomainError`) raised from a query field reach the caller with their
code; mutations return them as payload data instead. Anything else is masked: the caller sees a reference id,
the log gets the exception type and traceback under that id, never variables or personal data.
"""

from __future__ import annotations

import logging
import traceback
import uuid
from collections.abc import AsyncGenerator, Generator

from graphql import GraphQLError
from strawberry.extensions import SchemaExtension
from strawberry.types.graphql import OperationType

from service.errors import AccessDenied, DomainError

logger = logging.getLogger("service.api")


class RequestTransaction(SchemaExtension):
    """Commit the tenant transaction when the operation ends; roll back a mutation that failed unexpectedly."""

    async def on_operation(self) -> AsyncGenerator[None, None]:
        yield
        ec = self.execution_context
        session = getattr(ec.context, "session", None)
        if session is None:
            return
        failed = ec.result is None or bool(ec.result.errors)
        is_mutation = ec.operation_type is OperationType.MUTATION
        commit = not (is_mutation and failed)
        try:
            if commit:  # what was shown is recorded with what was changed, in the same transaction
                await ec.context.consults.flush(session, ec.context.principal, ec.context.request_id)
        except BaseException:
            await session.finish(commit=False)
            raise
        await session.finish(commit=commit)


class MaskUnexpectedErrors(SchemaExtension):
    def on_operation(self) -> Generator[None, None, None]:
        yield
        result = self.execution_context.result
        if result is None or not result.errors:
            return
        result.errors = [self._public(e) for e in result.errors]

    def _public(self, error: GraphQLError) -> GraphQLError:
        original = error.original_error
        if original is None:  # syntax and validation errors: they describe the query, not the data
            return error
        if isinstance(original, DomainError):
            return GraphQLError(original.message, nodes=error.nodes, path=error.path,
                                extensions={"code": original.code, "field": original.field})
        if isinstance(original, AccessDenied):
            return GraphQLError(str(original), nodes=error.nodes, path=error.path, extensions={"code": "FORBIDDEN"})
        reference = uuid.uuid4().hex[:12]
        # The exception's message can quote stored values (a constraint violation names the key), so only its
        # type and the stack are logged.
        stack = "".join(traceback.format_tb(original.__traceback__))
        logger.error("unexpected error %s: %s\n%s", reference, type(original).__name__, stack)
        return GraphQLError(f"Internal error; reference {reference}.", nodes=error.nodes, path=error.path,
                            extensions={"code": "INTERNAL", "reference": reference})
