"""The ASGI application: /graphql (GraphiQL in development), /healthz, /readyz, and national reporting's CSV export
and dashboard; the scheduled reporting refresh runs in its lifespan."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.types import Receive, Scope, Send
from strawberry.asgi import GraphQL

from service.api.context import Context
from service.api.schema import schema
from service.api.session import TenantSession
from service.auth import AuthError, Principal, TokenVerifier, bearer_token, load_principal
from service.db import Database, is_ready
from service.reporting import scheduler
from service.reporting.routes import reporting_routes

logger = logging.getLogger(__name__)


class TenantGraphQL(GraphQL[Context, None]):
    def __init__(self, db: Database) -> None:
        super().__init__(schema, graphql_ide="graphiql" if db.settings.development else None,
                         allow_queries_via_get=False)
        self.db = db

    async def get_context(self, request: Request, response: Any) -> Context:  # type: ignore[override]
        principal: Principal = request.state.principal
        session = None
        if principal.tenant is not None and principal.reads_case_data:
            session = TenantSession(await self.db.open_pool(), principal.tenant)
        context = Context(principal=principal, db=self.db, session=session)
        request.state.context = context
        return context


class GraphQLEndpoint:
    """Authenticates every operation before GraphQL sees it; serves the IDE page to a browser in development."""

    def __init__(self, db: Database, verifier: TokenVerifier) -> None:
        self.db = db
        self.verifier = verifier
        self.graphql = TenantGraphQL(db)

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
        try:
            claims = await self.verifier.verify(bearer_token(request.headers.get("authorization")))
            pool = await self.db.open_pool()
            async with pool.acquire() as conn:
                principal = await load_principal(conn, claims)
        except AuthError as exc:
            code = "UNAUTHENTICATED" if exc.status == 401 else "FORBIDDEN"
            response = JSONResponse({"errors": [{"message": exc.reason, "extensions": {"code": code}}]},
                                    status_code=exc.status,
                                    headers={"WWW-Authenticate": "Bearer"} if exc.status == 401 else None)
            await response(scope, receive, send)
            return
        scope.setdefault("state", {})["principal"] = principal
        try:
            await self.graphql(scope, receive, send)
        finally:
            context: Context | None = scope["state"].get("context")
            if context is not None and context.session is not None:
                await context.session.finish(commit=False)  # no-op unless the operation never finished


def create_app(db: Database) -> Starlette:
    verifier = TokenVerifier.for_settings(db.settings)

    async def healthz(request: Request) -> Response:
        return JSONResponse({"status": "ok"})

    async def readyz(request: Request) -> Response:
        if await is_ready(db):
            return JSONResponse({"status": "ready"})
        return JSONResponse({"status": "unavailable"}, status_code=503)

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        await db.open_pool()
        refresher = scheduler.start(db)
        yield
        if refresher is not None:
            refresher.cancel()
            with suppress(asyncio.CancelledError):
                await refresher
        if db.pool is not None:
            await db.pool.close()
            db.pool = None

    return Starlette(
        routes=[
            Route("/graphql", GraphQLEndpoint(db, verifier), methods=["GET", "POST"]),
            Route("/healthz", healthz),
            Route("/readyz", readyz),
            *reporting_routes(db, verifier),
        ],
        lifespan=lifespan,
    )
