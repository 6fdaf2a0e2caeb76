"""The error policy: one mapping from every exception a request can meet to a coded error and an HTTP status, read by
both executors (a field's error, a compiled statement's error) and by every route (refusals before GraphQL runs).

    exception                                   code                          HTTP (when it answers a whole request)
    DomainError (NotFound, Conflict, …)         its own code, field           400
    AccessDenied                                FORBIDDEN                     403
    AuthError                                   UNAUTHENTICATED / FORBIDDEN   401 / 403 (503: the IdP's keys)
    RequestRefused (body, documents, limits)    its own code                  its own status
    a document or variables the schema refuses  GRAPHQL_PARSE_FAILED, …       200 (limits.DocumentErrorCodes)
    statement timeout (QueryCanceledError)      TIMEOUT                       503, Retry-After
    lost or unreachable database                UNAVAILABLE                   503, Retry-After
    serialization failure, deadlock, lock wait  CONFLICT (try again)          409
    anything else                               INTERNAL with a reference     500, logged with its stack

Messages never quote stored values or what the caller sent: an unexpected exception's message can, so only its type
and stack are logged, under a reference the caller can quote.
"""

from __future__ import annotations

import logging
import traceback
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import asyncpg
from graphql import GraphQLError

from service.kernel.errors import AccessDenied, DomainError
from service.kernel.failures import CONNECTION_LOST
from service.kernel.session import TransactionFailed

logger = logging.getLogger("service.api")

RETRY_AFTER = {"Retry-After": "5"}


class RequestRefused(Exception):
    """A request refused before any operation runs (its body, its document, a limit). The message is safe to show:
    it names what is wrong and quotes nothing the caller sent."""

    code = "BAD_REQUEST"
    status = 400

    def __init__(self, message: str, *, code: str | None = None, status: int | None = None,
                 headers: Mapping[str, str] | None = None) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code
        if status is not None:
            self.status = status
        self.headers = dict(headers or {})


class AuthError(Exception):
    """The request is not authenticated (401) or its principal has no access here (403). ``reason`` is safe to
    show: it names what is wrong, never token content."""

    def __init__(self, reason: str, status: int = 401) -> None:
        super().__init__(reason)
        self.reason = reason
        self.status = status


@dataclass(frozen=True, slots=True)
class Failure:
    code: str
    message: str
    status: int
    field_name: str | None = None
    reference: str | None = None
    headers: dict[str, str] = field(default_factory=dict)

    @property
    def extensions(self) -> dict[str, Any]:
        out: dict[str, Any] = {"code": self.code}
        if self.field_name is not None:
            out["field"] = self.field_name
        if self.reference is not None:
            out["reference"] = self.reference
        return out

    def body(self) -> dict[str, Any]:
        """The JSON body of an answer that is only this error (the one error format of every route)."""
        return {"errors": [{"message": self.message, "extensions": self.extensions}]}

    def graphql_error(self, nodes: Any = None, path: Any = None) -> GraphQLError:
        return GraphQLError(self.message, nodes=nodes, path=path, extensions=self.extensions)


TIMEOUT_MESSAGE = ("The database took too long to answer this request (statement timeout); ask for less or try "
                   "again.")
UNAVAILABLE_MESSAGE = "The service cannot reach its database; try again shortly."


def classify(exc: BaseException) -> Failure:
    """The coded error for ``exc`` (logging it if it is unexpected)."""
    if isinstance(exc, DomainError):
        return Failure(exc.code, exc.message, 400, field_name=exc.field)
    if isinstance(exc, AccessDenied):
        return Failure("FORBIDDEN", str(exc), 403)
    if isinstance(exc, AuthError):
        if exc.status == 401:
            return Failure("UNAUTHENTICATED", exc.reason, 401, headers={"WWW-Authenticate": "Bearer"})
        if exc.status == 503:
            return Failure("UNAVAILABLE", exc.reason, 503, headers=RETRY_AFTER)
        return Failure("FORBIDDEN", exc.reason, exc.status)
    if isinstance(exc, RequestRefused):
        return Failure(exc.code, exc.message, exc.status, headers=exc.headers)
    if isinstance(exc, asyncpg.QueryCanceledError):
        logger.warning("TIMEOUT: %s", type(exc).__name__)
        return Failure("TIMEOUT", TIMEOUT_MESSAGE, 503, headers=RETRY_AFTER)
    if isinstance(exc, CONNECTION_LOST):
        logger.warning("UNAVAILABLE: %s", type(exc).__name__)
        return Failure("UNAVAILABLE", UNAVAILABLE_MESSAGE, 503, headers=RETRY_AFTER)
    if isinstance(exc, (asyncpg.SerializationError, asyncpg.DeadlockDetectedError, asyncpg.LockNotAvailableError)):
        logger.warning("CONFLICT: %s", type(exc).__name__)
        return Failure("CONFLICT", "Another change to the same records got there first; try again.", 409)
    if isinstance(exc, TransactionFailed):
        return Failure("UNAVAILABLE", "The request's transaction had already ended; try again.", 503,
                       headers=RETRY_AFTER)
    reference = uuid.uuid4().hex[:12]
    stack = "".join(traceback.format_tb(exc.__traceback__))
    logger.error("unexpected error %s: %s\n%s", reference, type(exc).__name__, stack)
    return Failure("INTERNAL", f"Internal error; reference {reference}.", 500, reference=reference)
