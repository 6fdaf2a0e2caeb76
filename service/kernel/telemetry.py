"""Traces, metrics and structured logs, configured once per process from the settings.

What telemetry may carry, and what it never does: operation names, document hashes, tenant slugs, statement
kinds (SELECT, INSERT…), DataLoader names and batch sizes, status codes, error codes and exception *types*. Never
query text, variables, SQL parameters, exception messages or anything read from a tenant's tables — an exception
message can quote a stored value (a constraint violation prints the failing row), so logs carry the type and the
stack only.

Spans: one server span per HTTP request, one per GraphQL operation, one per database statement and one per
DataLoader batch — never one per field; recorded once a span processor reads them (an exporter's). Until
then only the server span is made, unrecorded, to give the request's log lines their trace and span ids.
Metrics: request latency, GraphQL errors by code, pool connections in use.
Exporters: ``ALWAYS_HOPE_OTEL_EXPORTER`` = none | console | otlp; ``/metrics`` renders the same instruments in the
Prometheus text format.
"""

from __future__ import annotations

import contextvars
import datetime as dt
import json
import logging
import re
import sys
import traceback
from collections.abc import Callable, Iterable, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from types import TracebackType
from typing import Any

import asyncpg
from opentelemetry import context as otel_context
from opentelemetry import metrics, trace
from opentelemetry.context import Context
from opentelemetry.exporter.prometheus import PrometheusMetricReader
from opentelemetry.metrics import CallbackOptions, Observation
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import ConsoleMetricExporter, MetricReader, PeriodicExportingMetricReader
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import SpanProcessor, TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, ConsoleSpanExporter, SpanExporter
from opentelemetry.sdk.trace.sampling import ALWAYS_ON, Decision, ParentBased, Sampler, SamplingResult
from opentelemetry.util.types import Attributes
from prometheus_client import CollectorRegistry

from service.kernel.settings import LogFormat, OtelExporter, Settings

SCOPE = "always-hope"
tracer = trace.get_tracer(SCOPE)
meter = metrics.get_meter(SCOPE)

# The request id of the request being served, for log records; set by service.app.http.RequestContext.
request_id: contextvars.ContextVar[str | None] = contextvars.ContextVar("request_id", default=None)

request_duration = meter.create_histogram(
    "http.server.request.duration", unit="s", description="Time to answer an HTTP request.",
    explicit_bucket_boundaries_advisory=[0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10])
graphql_errors = meter.create_counter(
    "always_hope.graphql.errors", unit="{error}",
    description="GraphQL errors returned, by code (INTERNAL, FORBIDDEN, NOT_FOUND, GRAPHQL_VALIDATION_FAILED…).")
rate_limited = meter.create_counter(
    "always_hope.rate_limited", unit="{request}", description="Requests refused with 429, by which limit.")


# --- database pools -------------------------------------------------------------------------------------------

_pools: list[Callable[[], asyncpg.Pool | None]] = []


def watch_pool(get_pool: Callable[[], asyncpg.Pool | None]) -> None:
    """Report this pool's connections (in use, idle, maximum) as gauges."""
    _pools.append(get_pool)


def _pool_usage(options: CallbackOptions) -> Iterable[Observation]:
    for get_pool in _pools:
        pool = get_pool()
        if pool is None or pool.is_closing():
            continue
        idle = pool.get_idle_size()
        yield Observation(pool.get_size() - idle, {"db.client.connection.state": "used"})
        yield Observation(idle, {"db.client.connection.state": "idle"})


def _pool_max(options: CallbackOptions) -> Iterable[Observation]:
    for get_pool in _pools:
        pool = get_pool()
        if pool is not None and not pool.is_closing():
            yield Observation(pool.get_max_size())


meter.create_observable_up_down_counter(
    "db.client.connection.count", callbacks=[_pool_usage], unit="{connection}",
    description="Application pool connections by state.")
meter.create_observable_up_down_counter(
    "db.client.connection.max", callbacks=[_pool_max], unit="{connection}",
    description="The application pool's maximum size.")


# --- spans ----------------------------------------------------------------------------------------------------

def statement_kind(sql: str) -> str:
    """SELECT, INSERT, UPDATE, DELETE… — the first keyword, never the statement or its parameters."""
    match = re.match(r"\s*([A-Za-z]+)", sql)
    return match.group(1).upper() if match else "UNKNOWN"


class _Span:
    """:func:`span`'s context manager: a plain class over OpenTelemetry's public calls (start the span, make it
    current, end it), not ``start_as_current_span``, whose three nested generator context managers (ours, the
    proxy tracer's and ``use_span``) cost a request more than the spans themselves: six spans each."""

    __slots__ = ("_attributes", "_context", "_kind", "_name", "_span", "_token")

    def __init__(self, name: str, attributes: dict[str, Any] | None, kind: trace.SpanKind,
                 context: Context | None) -> None:
        self._name, self._attributes, self._kind, self._context = name, attributes, kind, context

    def __enter__(self) -> trace.Span:
        current = self._span = tracer.start_span(self._name, context=self._context, kind=self._kind,
                                                 attributes=self._attributes, record_exception=False,
                                                 set_status_on_exception=False)
        self._token = otel_context.attach(trace.set_span_in_context(current))
        return current

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None,
                 ) -> None:
        current = self._span
        try:
            if exc is not None:
                current.set_attribute("error.type", type(exc).__qualname__)
                current.set_status(trace.Status(trace.StatusCode.ERROR))
        finally:
            otel_context.detach(self._token)
            current.end()


class _Within:
    """:func:`span`'s context manager while nothing reads spans, inside a span already current: it makes no span and
    answers the current one (see :func:`_unread_within`)."""

    __slots__ = ("_span",)

    def __init__(self, current: trace.Span) -> None:
        self._span = current

    def __enter__(self) -> trace.Span:
        return self._span

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None,
                 ) -> None:
        return None


def _unread_within(context: Context | None) -> _Within | None:
    """While no span processor reads spans (:class:`_WhenRead`), a span inside another (the request's server span) is
    not made at all: it would be recorded nowhere, and its own id, the one thing it would have, names nothing any
    reader ever sees, where making it cost about 10 µs, five or six times a request. Log lines inside it carry the
    enclosing span's ids (the request's trace). None when a span is to be made: spans are read, or none is current
    (the server span itself, which gives the request its trace id), or a context is given (a remote parent)."""
    if context is not None or _when_read is None or _when_read.read:
        return None
    current = trace.get_current_span()
    return _Within(current) if current.get_span_context().is_valid else None


def span(name: str, attributes: dict[str, Any] | None = None, *, kind: trace.SpanKind = trace.SpanKind.INTERNAL,
         context: Context | None = None) -> AbstractContextManager[trace.Span]:
    """A span, current inside the ``with``, that, when the code inside raises, records the exception's *type* only.
    OpenTelemetry's default records the message and stack as an event, and a database error's message can quote the
    failing row. While nothing reads spans, only the outermost is made (:func:`_unread_within`)."""
    return _unread_within(context) or _Span(name, attributes, kind, context)


def db_span(kind: str, name: str | None = None) -> AbstractContextManager[trace.Span]:
    """A client span for one database round trip, named by its statement kind (or a purpose, e.g. auth)."""
    return _unread_within(None) or _Span(name or f"db {kind}", {
        "db.system": "postgresql", "db.system.name": "postgresql", "db.operation.name": kind},
        trace.SpanKind.CLIENT, None)


# --- set-up ---------------------------------------------------------------------------------------------------


class _WhenRead(Sampler):
    """Records spans only once something reads them: a span processor (the exporter's, or a test's). Until then a
    span is given its ids, so log lines still carry them, but is not recorded: recording one that no processor reads
    cost about 30–80 µs (three times an unrecorded one), six times on every compiled page. Once read, OpenTelemetry's
    default decides (the caller's sampled flag, else record)."""

    def __init__(self) -> None:
        self.read = False
        self._default = ParentBased(ALWAYS_ON)

    def should_sample(self, parent_context: Context | None, trace_id: int, name: str,
                      kind: trace.SpanKind | None = None, attributes: Attributes = None,
                      links: Sequence[trace.Link] | None = None,
                      trace_state: trace.TraceState | None = None) -> SamplingResult:
        if not self.read:
            return SamplingResult(Decision.DROP)
        return self._default.should_sample(parent_context, trace_id, name, kind, attributes, links, trace_state)

    def get_description(self) -> str:
        return "WhenRead"


class _TracerProvider(TracerProvider):
    """The SDK's provider, whose sampler (:class:`_WhenRead`) starts recording when a span processor is added."""

    def __init__(self, resource: Resource) -> None:
        self._when_read = _WhenRead()
        super().__init__(resource=resource, sampler=self._when_read)

    def add_span_processor(self, span_processor: SpanProcessor) -> None:
        super().add_span_processor(span_processor)
        self._when_read.read = True


@dataclass
class Telemetry:
    tracer_provider: TracerProvider
    meter_provider: MeterProvider
    prometheus: CollectorRegistry


_configured: Telemetry | None = None
# The sampler of the tracer provider spans are made by, when it is ours (configure): whether anything reads spans.
_when_read: _WhenRead | None = None


def _span_exporter(settings: Settings) -> SpanExporter | None:
    if settings.otel_exporter is OtelExporter.CONSOLE:
        return ConsoleSpanExporter(out=sys.stderr)
    if settings.otel_exporter is OtelExporter.OTLP:
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

        endpoint = None if settings.otel_endpoint is None else settings.otel_endpoint.rstrip("/") + "/v1/traces"
        return OTLPSpanExporter(endpoint=endpoint)
    return None


def _metric_readers(settings: Settings, registry: CollectorRegistry) -> list[MetricReader]:
    readers: list[MetricReader] = [PrometheusMetricReader(registry=registry)]
    if settings.otel_exporter is OtelExporter.CONSOLE:
        readers.append(PeriodicExportingMetricReader(ConsoleMetricExporter(out=sys.stderr),
                                                     export_interval_millis=60_000))
    elif settings.otel_exporter is OtelExporter.OTLP:
        from opentelemetry.exporter.otlp.proto.http.metric_exporter import OTLPMetricExporter

        endpoint = None if settings.otel_endpoint is None else settings.otel_endpoint.rstrip("/") + "/v1/metrics"
        readers.append(PeriodicExportingMetricReader(OTLPMetricExporter(endpoint=endpoint)))
    return readers


def configure(settings: Settings) -> Telemetry:
    """Install the tracer and meter providers. OpenTelemetry's globals can be set once per process, so the first
    call wins and later ones (tests build several apps) return what it made."""
    global _configured
    if _configured is not None:
        return _configured
    resource = Resource.create({"service.name": settings.otel_service_name,
                                "deployment.environment.name": settings.environment.value})
    tracer_provider = _TracerProvider(resource)
    exporter = _span_exporter(settings)
    if exporter is not None:
        tracer_provider.add_span_processor(BatchSpanProcessor(exporter))
    registry = CollectorRegistry(auto_describe=True)
    meter_provider = MeterProvider(resource=resource, metric_readers=_metric_readers(settings, registry))
    trace.set_tracer_provider(tracer_provider)
    metrics.set_meter_provider(meter_provider)
    global _when_read
    if trace.get_tracer_provider() is tracer_provider:  # ours is the one spans are made by (the first set wins)
        _when_read = tracer_provider._when_read
    _configured = Telemetry(tracer_provider, meter_provider, registry)
    return _configured


def shutdown() -> None:
    """Flush what the exporters hold (on process exit)."""
    if _configured is not None:
        _configured.tracer_provider.shutdown()
        _configured.meter_provider.shutdown()


# --- logs -----------------------------------------------------------------------------------------------------

# Attributes every LogRecord has; anything else on a record came from ``extra=`` and is logged as a field.
_RECORD_FIELDS = frozenset(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {"message", "asctime",
                                                                                  "color_message"}


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, request id, trace and span ids, extra fields.

    An exception is logged as its type and stack, never its message (which can quote stored personal data).
    """

    def format(self, record: logging.LogRecord) -> str:
        out: dict[str, Any] = {
            "time": dt.datetime.fromtimestamp(record.created, dt.UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        rid = request_id.get()
        if rid is not None:
            out["request_id"] = rid
        span_context = trace.get_current_span().get_span_context()
        if span_context.is_valid:
            out["trace_id"] = format(span_context.trace_id, "032x")
            out["span_id"] = format(span_context.span_id, "016x")
        for key, value in vars(record).items():
            if key not in _RECORD_FIELDS and not key.startswith("_"):
                out[key] = value if isinstance(value, str | int | float | bool | None) else repr(value)
        if record.exc_info and record.exc_info[1] is not None:
            exc = record.exc_info[1]
            out["exception"] = {"type": type(exc).__qualname__,
                                "stack": "".join(traceback.format_tb(exc.__traceback__))}
        return json.dumps(out, ensure_ascii=False)


class TextFormatter(logging.Formatter):
    """Human-readable lines for development; exceptions, as in JSON, by type and stack only."""

    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s %(message)s")

    def formatException(self, ei: Any) -> str:
        return f"{ei[0].__qualname__} (message withheld)\n" + "".join(traceback.format_tb(ei[2]))

    def format(self, record: logging.LogRecord) -> str:
        line = super().format(record)
        rid = request_id.get()
        return line if rid is None else f"{line} [request {rid}]"


def log_format(settings: Settings) -> LogFormat:
    """The chosen format; by default JSON for machines (production, or stderr not a terminal), text for a person."""
    if settings.log_format is not None:
        return settings.log_format
    return LogFormat.TEXT if settings.development and sys.stderr.isatty() else LogFormat.JSON


def configure_logging(settings: Settings) -> None:
    """Route every logger (ours, uvicorn's, the libraries') through one stderr handler in the chosen format."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter() if log_format(settings) is LogFormat.JSON else TextFormatter())
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(settings.log_level)
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        logging.getLogger(name).handlers.clear()
        logging.getLogger(name).propagate = True
