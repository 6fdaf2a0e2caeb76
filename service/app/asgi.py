"""The ASGI application: /graphql (and the console at /console in development), /healthz, /readyz, /metrics,
the practice-rule JSON Schema, and national reporting's CSV export and dashboard; the scheduled reporting refresh
runs in its lifespan."""

from __future__ import annotations

import asyncio
import gc
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress

from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from service.api.audited import undeclared
from service.api.limits import limit_extensions
from service.api.trusted import TrustedDocuments
from service.app.auth import TokenVerifier
from service.app.compiled.executor import CompiledDocuments
from service.app.endpoint import Gate, GraphQLEndpoint
from service.app.health import is_ready
from service.app.http import (
    CORS_ALLOWED_HEADERS,
    CORS_EXPOSED_HEADERS,
    BodySizeLimit,
    RequestContext,
    SecurityHeaders,
    security_headers,
)
from service.app.ratelimit import RateLimiter
from service.app.schema import MODELS, build_schema
from service.console.routes import console_routes
from service.kernel import telemetry
from service.kernel.database import Database
from service.moves import scheduler as handoff_scheduler
from service.reporting import scheduler
from service.reporting.routes import reporting_routes
from service.rules.catalogue import json_schema as rules_json_schema

logger = logging.getLogger(__name__)


def create_app(db: Database) -> Starlette:
    settings = db.settings
    verifier = TokenVerifier.for_settings(settings)
    telemetry.configure(settings)
    telemetry.watch_pool(lambda: db.pool)
    schema = build_schema(limit_extensions(settings), suggestions=settings.introspection_allowed)
    trusted = TrustedDocuments.load(settings.operations_dir, schema._schema) if settings.trusted_documents_only \
        else None
    gate = Gate(db, verifier, RateLimiter(settings.rate_limit_principal, settings.rate_limit_tenant))
    compiled = CompiledDocuments.load(settings.operations_dir, schema._schema, MODELS) \
        if settings.compiled_documents else CompiledDocuments({})  # none: every operation field by field
    logger.info("answered field by field only (no SQL declared): %s", ", ".join(undeclared(schema._schema, MODELS)))

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
        tasks = [t for t in (scheduler.start(db), handoff_scheduler.start(db)) if t is not None]
        # What start-up made (modules, the schema, compiled documents) lives as long as the process: freeze it, so
        # that a full collection no longer walks it. A full collection of the unfrozen heap stops every request in
        # flight for 94-227 ms (measured with gc.callbacks in the benchmark's process); of the frozen one, little.
        gc.collect()
        gc.freeze()
        # Then collect the youngest generation every ALWAYS_HOPE_GC_YOUNG_THRESHOLD allocations rather than
        # CPython's 700: a request's objects are nearly all freed by reference counting when it ends, but 16
        # requests in flight keep thousands alive, which a collection every 700 allocations walks again and again.
        gc.set_threshold(settings.gc_young_threshold, *gc.get_threshold()[1:])
        yield
        for task in tasks:
            task.cancel()
            with suppress(asyncio.CancelledError):
                await task
        await db.close_pools()

    middleware = [Middleware(RequestContext), Middleware(SecurityHeaders, headers=security_headers(settings))]
    if settings.cors_origins:
        middleware.append(Middleware(CORSMiddleware, allow_origins=list(settings.cors_origins),
                                     allow_methods=["GET", "POST"], allow_headers=list(CORS_ALLOWED_HEADERS),
                                     expose_headers=list(CORS_EXPOSED_HEADERS), max_age=600))
    middleware.append(Middleware(BodySizeLimit, limit=settings.max_body_bytes))
    routes = [
        Route("/graphql", GraphQLEndpoint(db, gate, schema, trusted, compiled), methods=["GET", "POST"]),
        Route("/healthz", healthz),
        Route("/readyz", readyz),
        Route("/rules/schema.json", rules_schema),
        *reporting_routes(db, gate.protect),
    ]
    if settings.development:
        routes.extend(console_routes(settings.operations_dir))
    if settings.metrics_endpoint:
        routes.append(Route("/metrics", metrics))
    return Starlette(routes=routes, middleware=middleware, lifespan=lifespan)
