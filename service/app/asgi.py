"""The ASGI application: /graphql (GraphiQL in development), /healthz, /readyz, /metrics, the practice-rule
JSON Schema, and national reporting's CSV export and dashboard; the scheduled reporting refresh runs in its
lifespan."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress
from typing import Any

import strawberry
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.types import Message, Receive, Scope, Send
from strawberry.asgi import GraphQL

from service.api.context import Context
from service.api.limits import limit_extensions
from service.api.trusted import TrustedDocuments, UntrustedDocument
from service.app.auth import AuthError, TokenVerifier, bearer_token, load_principal
from service.app.compiled.executor import CompiledDocuments
from service.app.compiled.executor import execute as compiled_execute
from service.app.http import (
    CORS_ALLOWED_HEADERS,
    CORS_EXPOSED_HEADERS,
    BodySizeLimit,
    RequestContext,
    SecurityHeaders,
    security_headers,
)
from service.app.ratelimit import RateLimiter
from service.app.schema import build_schema
from service.db import Database, is_ready
from service.kernel import telemetry
from service.kernel.failures import CONNECTION_LOST
from service.kernel.principal import Principal
from service.kernel.session import TenantSession
from service.reporting import scheduler
from service.reporting.routes import reporting_routes
from service.rules.catalogue import json_schema as rules_json_schema

logger = logging.getLogger(__name__)


class TenantGraphQL(GraphQL[Context, None]):
    def __init__(self, db: Database, schema: strawberry.Schema) -> None:
        super().__init__(schema, graphql_ide="graphiql" if db.settings.development else None,
                         allow_queries_via_get=False)
        self.db = db

    async def get_context(self, request: Request, response: Any) -> Context:  # type: ignore[override]
        principal: Principal = request.state.principal
        session = None
        if principal.tenant is not None and principal.reads_case_data:
            session = TenantSession(await self.db.open_pool(), principal.tenant, await self.db.open_control_pool())
        context = Context(principal=principal, db=self.db, session=session, request_id=request.state.request_id)
        request.state.context = context
        return context


def _error(status: int, message: str, code: str, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse({"errors": [{"message": message, "extensions": {"code": code}}]}, status_code=status,
                        headers=headers)


class GraphQLEndpoint:
    """Checks every operation before GraphQL sees it — trusted document, token, grant, rate limit — and serves
    the IDE page to a browser in development."""

    def __init__(self, db: Database, verifier: TokenVerifier, schema: strawberry.Schema,
                 trusted: TrustedDocuments | None, limiter: RateLimiter, compiled: CompiledDocuments | None) -> None:
        self.db = db
        self.verifier = verifier
        self.schema = schema
        self.graphql = TenantGraphQL(db, schema)
        self.trusted = trusted
        self.limiter = limiter
        self.compiled = compiled

    async def _compiled(self, body: bytes, principal: Principal, request_id: str) -> bytes | None:
        """The whole response from one statement, for a published document the compiler planned; None otherwise."""
        assert self.compiled is not None
        try:
            data = json.loads(body)
        except ValueError:
            return None
        if not isinstance(data, dict) or not isinstance(data.get("query"), str):
            return None
        operation = self.compiled.find(data["query"])
        variables = data.get("variables") or {}
        if operation is None or not isinstance(variables, dict):
            return None
        return await compiled_execute(operation, self.db, self.schema._schema, principal, request_id, variables)

    def _trusted_body(self, body: bytes) -> bytes:
        """The body with its query replaced by the published document it names; UntrustedDocument otherwise."""
        assert self.trusted is not None
        try:
            data = json.loads(body)
        except ValueError:
            raise UntrustedDocument("The request body must be a JSON object.") from None
        if not isinstance(data, dict):
            raise UntrustedDocument("Send one operation per request, as a JSON object.")
        data["query"] = self.trusted.resolve(data)
        return json.dumps(data).encode()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        request = Request(scope, receive)
        if request.method == "GET":
            # The only GET we answer is the IDE page, in development; operations are POSTed with a token.
            if self.db.settings.development and "text/html" in request.headers.get("accept", ""):
                page = await self.graphql.render_graphql_ide(request)
            else:
                page = JSONResponse({"errors": [{"message": "Send GraphQL operations as POST."}]}, status_code=405)
            await page(scope, receive, send)
            return
        body = await request.body()  # bounded by BodySizeLimit
        try:
            if self.trusted is not None:
                body = self._trusted_body(body)
            claims = await self.verifier.verify(bearer_token(request.headers.get("authorization")))
            pool = await self.db.open_pool()
            with telemetry.db_span("SELECT", "auth.load_principal"):
                async with pool.acquire(timeout=5) as conn:
                    principal = await load_principal(conn, claims)
        except UntrustedDocument as exc:
            await _error(400, str(exc), "PERSISTED_QUERY_NOT_FOUND")(scope, receive, send)
            return
        except AuthError as exc:
            code = "UNAUTHENTICATED" if exc.status == 401 else "FORBIDDEN"
            await _error(exc.status, exc.reason, code,
                         {"WWW-Authenticate": "Bearer"} if exc.status == 401 else None)(scope, receive, send)
            return
        except CONNECTION_LOST as exc:
            logger.warning("database unavailable: %s", type(exc).__name__)
            await _error(503, "The service cannot reach its database; try again shortly.", "UNAVAILABLE",
                         {"Retry-After": "5"})(scope, receive, send)
            return
        refusal = self.limiter.check(principal.subject, principal.tenant.slug if principal.tenant else None)
        if refusal is not None:
            telemetry.rate_limited.add(1, {"always_hope.limit": refusal.limit})
            await _error(429, refusal.message, "RATE_LIMITED",
                         {"Retry-After": str(refusal.retry_after)})(scope, receive, send)
            return
        if self.compiled is not None:
            try:
                answer = await self._compiled(body, principal, scope["state"]["request_id"])
            except CONNECTION_LOST as exc:
                logger.warning("database unavailable: %s", type(exc).__name__)
                await _error(503, "The service cannot reach its database; try again shortly.", "UNAVAILABLE",
                             {"Retry-After": "5"})(scope, receive, send)
                return
            if answer is not None:
                await Response(answer, media_type="application/json",
                               headers={"X-Executed-By": "compiled"})(scope, receive, send)
                return
        scope.setdefault("state", {})["principal"] = principal
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        try:
            await self.graphql(scope, replay, send)
        finally:
            context: Context | None = scope["state"].get("context")
            if context is not None and context.session is not None:
                await context.session.finish(commit=False)  # no-op unless the operation never finished


def create_app(db: Database) -> Starlette:
    settings = db.settings
    verifier = TokenVerifier.for_settings(settings)
    telemetry.configure(settings)
    telemetry.watch_pool(lambda: db.pool)
    schema = build_schema(limit_extensions(settings), suggestions=settings.introspection_allowed)
    trusted = TrustedDocuments.load(settings.operations_dir, schema._schema) if settings.trusted_documents_only \
        else None
    limiter = RateLimiter(settings.rate_limit_principal, settings.rate_limit_tenant)
    compiled = CompiledDocuments.load(settings.operations_dir, schema._schema) if settings.compiled_documents \
        else None

    async def healthz(request: Request) -> Response:
        return JSONResponse({"status": "ok"})

    async def readyz(request: Request) -> Response:
        if await is_ready(db):
            return JSONResponse({"status": "ready"})
        return JSONResponse({"status": "unavailable"}, status_code=503)

    async def rules_schema(request: Request) -> Response:
        # The catalogue is the published contract of the settings screen, not tenant data: no token needed.
        return JSONResponse(rules_json_schema(), media_type="application/schema+json")

    async def metrics(request: Request) -> Response:
        return Response(generate_latest(telemetry.configure(settings).prometheus),
                        media_type=CONTENT_TYPE_LATEST)

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        await db.open_pool()
        refresher = scheduler.start(db)
        yield
        if refresher is not None:
            refresher.cancel()
            with suppress(asyncio.CancelledError):
                await refresher
        await db.close_pools()

    middleware = [Middleware(RequestContext), Middleware(SecurityHeaders, headers=security_headers(settings))]
    if settings.cors_origins:
        middleware.append(Middleware(CORSMiddleware, allow_origins=list(settings.cors_origins),
                                     allow_methods=["GET", "POST"], allow_headers=list(CORS_ALLOWED_HEADERS),
                                     expose_headers=list(CORS_EXPOSED_HEADERS), max_age=600))
    middleware.append(Middleware(BodySizeLimit, limit=settings.max_body_bytes))
    routes = [
        Route("/graphql", GraphQLEndpoint(db, verifier, schema, trusted, limiter, compiled), methods=["GET", "POST"]),
        Route("/healthz", healthz),
        Route("/readyz", readyz),
        Route("/rules/schema.json", rules_schema),
        *reporting_routes(db, verifier),
    ]
    if settings.metrics_endpoint:
        routes.append(Route("/metrics", metrics))
    return Starlette(routes=routes, middleware=middleware, lifespan=lifespan)
