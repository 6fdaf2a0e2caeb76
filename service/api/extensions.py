"""Schema extensions: the request's transaction, and masking of unexpected errors.

Expected failures (:class:`~service.kernel.errors.DomainError`) raised from a query field reach the caller with their
code; mutations return them as payload data instead. Anything else is masked: the caller sees a reference id,
the log gets the exception type and traceback under that id, never variables or personal data.
"""

from __future__ import annotations

import contextlib
import logging
import traceback
import uuid
from collections.abc import AsyncGenerator, Generator
from typing import Any

import asyncpg
from graphql import GraphQLError
from strawberry.extensions import SchemaExtension
from strawberry.types.graphql import OperationType

from service.kernel.errors import AccessDenied, DomainError
from service.kernel.failures import DATABASE_UNAVAILABLE
from service.kernel.session import TenantSession

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
        # No document (a syntax error, or a limit hit while parsing): nothing ran; operation_type would raise.
        is_mutation = ec.graphql_document is not None and ec.operation_type is OperationType.MUTATION
        commit = not (is_mutation and failed)
        try:
            if commit:  # what was shown is recorded with what was changed, in the same transaction
                await ec.context.consults.flush(session, ec.context.principal, ec.context.request_id)
            await session.finish(commit=commit)
        except DATABASE_UNAVAILABLE as exc:
            await _abandon(session)
            # The commit did not reach the server (or its answer did not reach us): nothing the caller was shown
            # may be relied on, so they get no data, only the error, and retry once the database is back.
            logger.warning("commit failed: database unavailable (%s)", type(exc).__name__)
            _replace_result(ec.result, UNAVAILABLE)
        except Exception as exc:
            await _abandon(session)
            # Strawberry would answer with the exception's message, which can quote stored values.
            reference = uuid.uuid4().hex[:12]
            stack = "".join(traceback.format_tb(exc.__traceback__))
            logger.error("unexpected error %s ending the transaction: %s\n%s", reference, type(exc).__name__, stack)
            _replace_result(ec.result, GraphQLError(f"Internal error; reference {reference}.",
                                                    extensions={"code": "INTERNAL", "reference": reference}))


async def _abandon(session: TenantSession) -> None:
    """Give the connection back after a failed flush or commit; the transaction is lost either way."""
    with contextlib.suppress(Exception):
        await session.finish(commit=False)


def _replace_result(result: Any, error: GraphQLError) -> None:
    """Withdraw the data: in place, because strawberry answers with the result object it already holds."""
    assert result is not None, "a session was used, so the operation ran and has a result"
    result.data = None
    result.errors = [error]


UNAVAILABLE = GraphQLError("The service cannot reach its database; try again shortly.",
                           extensions={"code": "UNAVAILABLE"})
TIMEOUT = GraphQLError("The database took too long to answer this request (statement timeout); ask for less or "
                       "try again.", extensions={"code": "TIMEOUT"})


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
        if isinstance(original, DomainError):
            return GraphQLError(original.message, nodes=error.nodes, path=error.path,
                                extensions={"code": original.code, "field": original.field})
        if isinstance(original, AccessDenied):
            return GraphQLError(str(original), nodes=error.nodes, path=error.path, extensions={"code": "FORBIDDEN"})
        for known, exc_types in ((TIMEOUT, (asyncpg.QueryCanceledError,)), (UNAVAILABLE, DATABASE_UNAVAILABLE)):
            if isinstance(original, exc_types):
                logger.warning("%s: %s", known.extensions["code"] if known.extensions else "", type(original).__name__)
                return GraphQLError(known.message, nodes=error.nodes, path=error.path, extensions=known.extensions)
        reference = uuid.uuid4().hex[:12]
        # The exception's message can quote stored values (a constraint violation names the key), so only its
        # type and the stack are logged.
        stack = "".join(traceback.format_tb(original.__traceback__))
        logger.error("unexpected error %s: %s\n%s", reference, type(original).__name__, stack)
        return GraphQLError(f"Internal error; reference {reference}.", nodes=error.nodes, path=error.path,
                            extensions={"code": "INTERNAL", "reference": reference})
