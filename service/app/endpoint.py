"""The one request path: every route that needs a principal goes through :class:`Gate`, and every GraphQL request,
whichever executor answers it, through :class:`GraphQLEndpoint`.

    body ─ parse_body ─ trusted documents ─ Gate (token, grant, rate limit) ─ UnitOfWork.begin
         ─ compiled statement, or the resolvers ─ UnitOfWork.end (commit, or roll back) ─ one error policy ─ answer

Refusals before an operation runs answer with their HTTP status; errors met while it runs answer as GraphQL errors
(HTTP 200) with the same codes, whichever executor met them. A transaction that failed is rolled back and its data
withdrawn: the caller gets only the error that says why.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Collection
from contextlib import suppress
from dataclasses import dataclass
from typing import Any

import orjson
import strawberry
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.types import Receive, Scope, Send

from service.api.errors import Failure, RequestRefused, classify
from service.api.trusted import TrustedDocuments
from service.app.auth import TokenVerifier, bearer_token, load_principal
from service.app.compiled.executor import CompiledDocuments
from service.app.compiled.executor import execute as compiled_execute
from service.app.ratelimit import RateLimiter
from service.kernel import clock, telemetry
from service.kernel.database import Database
from service.kernel.failures import CONNECTION_LOST
from service.kernel.work import UnitOfWork
from service.rules import loaders as rules_loaders


def failure_response(failure: Failure) -> Response:
    return Response(json_body(failure.body()), status_code=failure.status, headers=failure.headers or None,
                    media_type="application/json")


@dataclass(frozen=True, slots=True)
class GraphQLRequest:
    query: str | None
    variables: dict[str, Any]
    operation_name: str | None
    body: dict[str, Any]  # the whole object, for trusted documents' ids and extensions


def parse_body(raw: bytes) -> GraphQLRequest:
    """The one parser of GraphQL request bodies, for both executors. Whatever the bytes, the answer is a request or a
    coded 400: bytes that are not UTF-8, JSON that is not an object or nests too deeply, fields of the wrong type."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise RequestRefused("The request body must be JSON in UTF-8.") from None
    try:
        body = json.loads(text)
    except (ValueError, RecursionError):
        raise RequestRefused("The request body must be a JSON object: {\"query\": …, \"variables\": {…}}.") from None
    if not isinstance(body, dict):
        raise RequestRefused("Send one operation per request, as a JSON object: {\"query\": …, \"variables\": {…}}.")
    query, variables, name = body.get("query"), body.get("variables"), body.get("operationName")
    if query is not None and not isinstance(query, str):
        raise RequestRefused("\"query\" must be a string holding the GraphQL document.")
    if variables is not None and not isinstance(variables, dict):
        raise RequestRefused("\"variables\" must be a JSON object.")
    if name is not None and not isinstance(name, str):
        raise RequestRefused("\"operationName\" must be a string.")
    return GraphQLRequest(query, variables or {}, name, body)


# Something an operation reads through its unit of work before its transaction (model.Computed.reads).
Read = Callable[[UnitOfWork], Awaitable[object]]


class Gate:
    """The one authentication step: the bearer token verified, the principal loaded from its grant, the rate limits
    applied. Raises what the error policy maps (401, 403, 429, 503)."""

    def __init__(self, db: Database, verifier: TokenVerifier, limiter: RateLimiter) -> None:
        self.db = db
        self.verifier = verifier
        self.limiter = limiter

    async def admit(self, request: Request, reads: Collection[Read] = ()) -> UnitOfWork:
        """The request's unit of work, for the principal its token and grant name. The grant is read (and the rate
        limit taken) on a connection of the request pool that the unit of work then keeps for its transaction, so a
        request acquires and releases one connection once. ``reads``: what the operation will read through the unit
        of work before its transaction (a compiled operation's, CompiledOperation.reads); the practice rules among
        them are read in the same statement as the grant, and the unit of work remembers them."""
        claims = await self.verifier.verify(bearer_token(request.headers.get("authorization")))
        today = clock.today(self.db.settings.time_zone)
        pool = await self.db.open_pool()
        conn = await pool.acquire(timeout=5)
        try:
            with telemetry.db_span("SELECT", "auth.load_principal"):
                # The grant and the rate limits shared by every replica (service/app/ratelimit): one statement.
                principal, refusal, rules = await load_principal(
                    conn, claims, self.limiter, today if rules_loaders.rule_book in reads else None)
            if refusal is not None:
                telemetry.rate_limited.add(1, {"always_hope.limit": refusal.limit})
                raise RequestRefused(refusal.message, code="RATE_LIMITED", status=429,
                                     headers={"Retry-After": str(refusal.retry_after)})
        except BaseException:
            with suppress(*CONNECTION_LOST):
                await pool.release(conn)
            raise
        work = UnitOfWork.begin(principal, self.db, pool, request.state.request_id, today, held=conn)
        if rules is not None:
            rules_loaders.read_with_grant(work, rules)
        return work

    def protect(self, handler: Callable[[Request, UnitOfWork], Awaitable[Response]]) -> Callable[
            [Request], Awaitable[Response]]:
        """A route that needs a principal: authenticated here, run in a unit of work that commits when the handler
        returns, every error answered by the error policy in the one format."""
        async def endpoint(request: Request) -> Response:
            try:
                work = await self.admit(request)
            except Exception as exc:
                return failure_response(classify(exc))
            try:
                response = await handler(request, work)
                await work.end(commit=True)
            except Exception as exc:
                await work.end(commit=False)
                return failure_response(classify(exc))
            return response
        return endpoint


class GraphQLEndpoint:
    """``/graphql``: a browser in development is sent to the console; every operation takes the one request path."""

    def __init__(self, db: Database, gate: Gate, schema: strawberry.Schema, trusted: TrustedDocuments | None,
                 compiled: CompiledDocuments) -> None:
        self.db = db
        self.gate = gate
        self.schema = schema
        self.trusted = trusted
        self.compiled = compiled

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        request = Request(scope, receive)
        if request.method == "GET":
            # The only GET we answer is a browser's, in development (to the console); operations are POSTed.
            page: Response
            if self.db.settings.development and "text/html" in request.headers.get("accept", ""):
                page = RedirectResponse("/console", status_code=307)
            else:
                page = failure_response(Failure("METHOD_NOT_ALLOWED", "Send GraphQL operations as POST.", 405))
            await page(scope, receive, send)
            return
        response = await self.answer(request)
        await response(scope, receive, send)

    async def answer(self, request: Request) -> Response:
        try:
            operation = parse_body(await request.body())  # the body's size is bounded by BodySizeLimit
            query = self.trusted.resolve(operation.body) if self.trusted is not None else operation.query
            if not query:
                raise RequestRefused("\"query\" is required: the GraphQL document to run.")
            compiled = self.compiled.find(query)
            work = await self.gate.admit(request, compiled.reads if compiled is not None else ())
        except Exception as exc:
            return failure_response(classify(exc))
        try:
            if compiled is not None:
                body = await compiled_execute(compiled, work, self.schema._schema, operation.variables,
                                              self.compiled.own)
                if body is not None:
                    await work.end(commit=True)
                    return Response(body, media_type="application/json", headers={"X-Executed-By": "compiled"})
            result = await self.schema.execute(query, variable_values=operation.variables, context_value=work,
                                               operation_name=operation.operation_name)
            failure = work.failure
            await work.end(commit=failure is None and not (work.mutation and result.errors))
        except Exception as exc:
            failure = exc
            await work.end(commit=False)
        if failure is not None:
            # The transaction was lost: nothing the caller would be shown can be relied on, so only the error goes.
            return Response(json_body({"data": None, "errors": [classify(failure).graphql_error().formatted]}),
                            media_type="application/json")
        answer: dict[str, Any] = {"data": result.data}
        if result.errors:
            answer["errors"] = [error.formatted for error in result.errors]
        if result.extensions:
            answer["extensions"] = result.extensions
        return Response(json_body(answer), media_type="application/json")


def json_body(answer: dict[str, Any]) -> bytes:
    """The answer as JSON in UTF-8. orjson writes it about ten times faster than the standard library (a national
    table of 1,000 tenants, 213 KB: 0.2-0.5 ms against 2.4-5 ms); what orjson refuses (a string holding a lone
    surrogate, which JSON can carry escaped; an integer beyond 64 bits) is written by the standard library, in
    ASCII with escapes, instead of failing the request."""
    try:
        return orjson.dumps(answer)
    except TypeError:  # orjson.JSONEncodeError is a TypeError
        return json.dumps(answer, separators=(",", ":")).encode()
