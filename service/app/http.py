"""HTTP middleware: request ids and the server span, security headers, the request body size limit.

Pure ASGI (no BaseHTTPMiddleware) so that nothing buffers a response or loses the request's context variables.
"""

from __future__ import annotations

import json
import re
import secrets
import time

from opentelemetry import propagate, trace
from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from service.api.errors import RequestRefused
from service.kernel import telemetry
from service.kernel.settings import Settings

REQUEST_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{7,63}$")
KNOWN_ROUTES = frozenset({"/graphql", "/healthz", "/readyz", "/metrics"})


async def send_json_error(send: Send, status: int, message: str, code: str) -> None:
    """A GraphQL-shaped error answer, for refusals made before GraphQL sees the request."""
    body = json.dumps({"errors": [{"message": message, "extensions": {"code": code}}]}).encode()
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]})
    await send({"type": "http.response.body", "body": body})


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", ()):
        if key == name:
            return bytes(value).decode("latin-1")
    return None


class RequestContext:
    """Give each request an id (a well-formed incoming X-Request-ID, else a new one), returned in the response;
    open the server span (continuing an incoming W3C trace context); time the request."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        incoming = _header(scope, b"x-request-id")
        rid = incoming if incoming is not None and REQUEST_ID.match(incoming) else secrets.token_hex(16)
        scope.setdefault("state", {})["request_id"] = rid
        route = scope["path"] if scope["path"] in KNOWN_ROUTES else "other"
        method = scope["method"]
        carrier = {k.decode("latin-1"): v.decode("latin-1") for k, v in scope.get("headers", ())
                   if k in (b"traceparent", b"tracestate")}
        token = telemetry.request_id.set(rid)
        status = 500
        started = time.perf_counter()

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                MutableHeaders(scope=message)["X-Request-ID"] = rid
            await send(message)

        try:
            with telemetry.span(f"{method} {route}", {"http.request.method": method, "http.route": route,
                                                      "always_hope.request_id": rid},
                                kind=trace.SpanKind.SERVER,
                                context=propagate.extract(carrier) if carrier else None) as span:
                try:
                    await self.app(scope, receive, send_with_id)
                finally:
                    span.set_attribute("http.response.status_code", status)
                    if status >= 500:
                        span.set_status(trace.Status(trace.StatusCode.ERROR))
        finally:
            telemetry.request_duration.record(time.perf_counter() - started, {
                "http.request.method": method, "http.route": route, "http.response.status_code": status})
            telemetry.request_id.reset(token)


# Development serves the console and the dashboard, which load only their own files: no inline script, no CDN.
_CSP_DEVELOPMENT = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
                    "connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'")
_CSP_PRODUCTION = "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"


def security_headers(settings: Settings) -> dict[str, str]:
    headers = {
        "X-Content-Type-Options": "nosniff",
        "Referrer-Policy": "no-referrer",
        "X-Frame-Options": "DENY",
        "Cache-Control": "no-store",  # answers carry personal data: no shared or browser cache keeps them
        "Content-Security-Policy": _CSP_DEVELOPMENT if settings.development else _CSP_PRODUCTION,
    }
    if not settings.development:
        headers["Strict-Transport-Security"] = "max-age=31536000; includeSubDomains"
    return headers


class SecurityHeaders:
    """Add the security headers to every response (without replacing one the endpoint set itself)."""

    def __init__(self, app: ASGIApp, headers: dict[str, str]) -> None:
        self.app = app
        self.headers = headers
        # As the response's raw headers hold them (lower-case names, latin-1): added in one pass, not one
        # MutableHeaders search and append per header.
        self._raw = [(name.lower().encode("latin-1"), value.encode("latin-1")) for name, value in headers.items()]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", ()))
                present = {name for name, _ in headers}
                headers += [header for header in self._raw if header[0] not in present]
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, send_with_headers)


class BodyTooLarge(RequestRefused):
    """Raised from the body's receive when it passes the limit; the error policy answers it with 413."""

    code = "PAYLOAD_TOO_LARGE"
    status = 413


class BodySizeLimit:
    """Refuse a request body over ``limit`` bytes with 413, whether it declares its length or streams it."""

    def __init__(self, app: ASGIApp, limit: int) -> None:
        self.app = app
        self.limit = limit

    def _message(self) -> str:
        return f"The request body is larger than the limit of {self.limit} bytes."

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = _header(scope, b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.limit:
            await send_json_error(send, 413, self._message(), "PAYLOAD_TOO_LARGE")
            return
        received = 0
        started = False

        async def counting_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.limit:
                    raise BodyTooLarge(self._message())
            return message

        async def tracking_send(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, counting_receive, tracking_send)
        except BodyTooLarge:
            if started:
                raise
            await send_json_error(send, 413, self._message(), "PAYLOAD_TOO_LARGE")


CORS_ALLOWED_HEADERS = ("Authorization", "Content-Type", "X-Request-ID", "traceparent", "tracestate")
CORS_EXPOSED_HEADERS = ("X-Request-ID", "Retry-After")
