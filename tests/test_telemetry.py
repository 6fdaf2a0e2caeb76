"""Traces, metrics and logs: what they carry, and that a request touching personal data leaves none of it there."""

from __future__ import annotations

import datetime as dt
import json
import logging
import sys
from collections.abc import Iterator
from typing import Any

import asyncpg
import httpx
import pytest
from opentelemetry import trace
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from service.api.observability import document_hash
from service.kernel import telemetry
from service.kernel.database import Database
from service.kernel.principal import Role, Service
from tests.conftest import CallerFactory, TenantFactory

_exporter = InMemorySpanExporter()


@pytest.fixture
def spans(db: Database) -> Iterator[InMemorySpanExporter]:
    provider = telemetry.configure(db.settings).tracer_provider
    if not getattr(provider, "_test_exporter_installed", False):
        provider.add_span_processor(SimpleSpanProcessor(_exporter))
        provider._test_exporter_installed = True  # type: ignore[attr-defined]
    _exporter.clear()
    yield _exporter
    _exporter.clear()


CREATE = """mutation CreateYoungAdult($input: CreateYoungAdultInput!) {
  createYoungAdult(input: $input) { youngAdult { id version } errors { code } } }"""
UPDATE = """mutation UpdateYoungAdult($input: UpdateYoungAdultInput!) {
  updateYoungAdult(input: $input) { youngAdult { id } errors { code } } }"""
PAGE = """query SitePage($site: ID!) { youngAdults(siteId: $site, first: 10) {
  edges { node { id givenName familyName prisonNumber probationCrn dateOfBirth
                 enrolments { status site { code name } } } } } }"""
NODE = """query OnePerson($id: ID!) { node(id: $id) { ... on YoungAdult { givenName familyName prisonNumber } } }"""

GIVEN, FAMILY, PRISON_NUMBER, CRN, DOB, LA = "Quenbyx", "Zephyrine-Oakhurst", "A9876ZQ", "X918273", "2004-02-29", \
    "Wolverhamptonshire-Testborough"
TRAPPED = "Zephyrine-Trapdoor"
PERSONAL = (GIVEN, FAMILY, PRISON_NUMBER, CRN, DOB, LA, TRAPPED, "Quenby", "Zephyrine")


def span_texts(span: ReadableSpan) -> list[str]:
    texts = [span.name, str(span.status.description or "")]
    texts += [f"{k}={v!s}" for k, v in (span.attributes or {}).items()]
    for event in span.events:
        texts.append(event.name)
        texts += [f"{k}={v!s}" for k, v in (event.attributes or {}).items()]
    texts += [f"{k}={v!s}" for k, v in span.resource.attributes.items()]
    return texts


async def test_a_request_touching_personal_data_leaves_none_in_spans_or_logs(
        make_tenant: TenantFactory, login: CallerFactory, admin_conn: asyncpg.Connection,
        spans: InMemorySpanExporter, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    tenant = await make_tenant()
    pom = await login(Role.PRACTITIONER, tenant, service=Service.PRISON, sites=("BSI",))
    site = next(s["id"] for s in (await pom.data("{ sites { id code } }"))["sites"] if s["code"] == "BSI")

    created = (await pom.data(CREATE, {"input": {
        "siteId": site, "givenName": GIVEN, "familyName": FAMILY, "dateOfBirth": DOB, "careStatus": "RELEVANT",
        "prisonNumber": PRISON_NUMBER, "probationCrn": CRN, "responsibleLocalAuthority": LA}}))["createYoungAdult"]
    assert created["errors"] == []
    person = created["youngAdult"]["id"]
    page = await pom.data(PAGE, {"site": site})
    assert page["youngAdults"]["edges"][0]["node"]["prisonNumber"] == PRISON_NUMBER
    assert (await pom.data(NODE, {"id": person}))["node"]["familyName"] == FAMILY

    # An unexpected database error whose message quotes the whole row ("Failing row contains (… names …)").
    await admin_conn.execute(f'ALTER TABLE "{tenant.schema}".young_adult '
                             f"ADD CONSTRAINT trap CHECK (family_name <> '{TRAPPED}')")
    masked = await pom(UPDATE, {"input": {"id": person, "version": 1, "familyName": TRAPPED}})
    assert masked["errors"][0]["extensions"]["code"] == "INTERNAL"
    assert TRAPPED not in json.dumps(masked)
    # A variable the schema refuses: graphql-core's message quotes the value back to the caller (who sent it).
    refused = await pom(UPDATE, {"input": {"id": person, "version": GIVEN}})
    assert GIVEN in refused["errors"][0]["message"]

    finished = spans.get_finished_spans()
    assert finished, "no spans were recorded"
    for span in finished:
        for text in span_texts(span):
            for value in PERSONAL:
                assert value not in text, f"{value!r} in span {span.name!r}: {text!r}"

    assert caplog.records, "no log records were captured"
    formatters = [telemetry.JsonFormatter(), telemetry.TextFormatter()]
    masked_logged = False
    for record in caplog.records:
        outputs = [record.getMessage()] + [f.format(record) for f in formatters]
        for output in outputs:
            for value in PERSONAL:
                assert value not in output, f"{value!r} in a log record of {record.name}: {output!r}"
        masked_logged = masked_logged or masked["errors"][0]["extensions"]["reference"] in record.getMessage()
    assert masked_logged, "the masked error's reference must be logged so an operator can find it"


async def test_one_span_per_operation_batch_and_statement_never_per_field(
        make_tenant: TenantFactory, login: CallerFactory, spans: InMemorySpanExporter) -> None:
    tenant = await make_tenant()
    admin = await login(Role.TENANT_ADMIN, tenant)
    site = next(s["id"] for s in (await admin.data("{ sites { id code } }"))["sites"] if s["code"] == "BSI")
    for family in ("Example-A", "Example-B", "Example-C", "Example-D"):
        await admin.data(CREATE, {"input": {"siteId": site, "givenName": "Sam", "familyName": family,
                                            "dateOfBirth": "2003-04-05", "careStatus": "RELEVANT"}})
    spans.clear()
    await admin.data(PAGE, {"site": site})

    finished = spans.get_finished_spans()
    names = [s.name for s in finished]
    operation = next(s for s in finished if s.name == "graphql query SitePage")
    attributes = dict(operation.attributes or {})
    assert attributes["graphql.operation.name"] == "SitePage"
    assert attributes["graphql.operation.type"] == "query"
    assert attributes["graphql.document.hash"] == document_hash(PAGE)
    assert attributes["always_hope.tenant"] == tenant.slug
    server = next(s for s in finished if s.name == "POST /graphql")
    assert operation.parent is not None
    assert operation.parent.span_id == server.context.span_id

    batches = [dict(s.attributes or {}) for s in finished if s.name == "dataloader.batch"]
    # Four people's enrolments in one batch, their sites in one batch: never one span per row or per field.
    assert {"dataloader.name": "enrolments_of", "dataloader.batch_size": 4} in batches
    assert [b["dataloader.name"] for b in batches].count("enrolments_of") == 1
    assert [b["dataloader.name"] for b in batches].count("sites") == 1  # the page's check primes the rows' site
    statements = [s for s in finished if s.name.startswith("db ")]
    assert all(dict(s.attributes or {})["db.system"] == "postgresql" for s in statements)
    assert {dict(s.attributes or {})["db.operation.name"] for s in statements} >= {"SELECT", "COMMIT"}
    assert not any(n.startswith(("familyName", "givenName", "youngAdults", "resolve")) for n in names)
    assert len(finished) < 20, names


async def test_request_id_is_returned_and_a_malformed_one_replaced(client: httpx.AsyncClient) -> None:
    given = await client.get("/healthz", headers={"X-Request-ID": "trace-me-1234"})
    assert given.headers["x-request-id"] == "trace-me-1234"
    for bad in ("short", "has spaces in it", "x" * 65, "semi;colon-request-id", "<script>alert(1)</script>"):
        response = await client.get("/healthz", headers={"X-Request-ID": bad})
        assert response.headers["x-request-id"] != bad
        assert len(response.headers["x-request-id"]) == 32
    assert (await client.get("/healthz")).headers["x-request-id"] != (await client.get("/healthz")).headers[
        "x-request-id"]


def test_json_log_lines_carry_the_request_id_and_withhold_exception_messages() -> None:
    logger = logging.getLogger("tests.telemetry")
    token = telemetry.request_id.set("req-0123456789")
    try:
        try:
            raise ValueError(f"duplicate key ({PRISON_NUMBER})")
        except ValueError:
            record = logger.makeRecord(logger.name, logging.ERROR, __file__, 1, "lookup failed", (),
                                       exc_info=sys.exc_info(), extra={"reference": "abc123"})
        line = telemetry.JsonFormatter().format(record)
    finally:
        telemetry.request_id.reset(token)
    parsed: dict[str, Any] = json.loads(line)
    assert parsed["request_id"] == "req-0123456789"
    assert parsed["message"] == "lookup failed"
    assert parsed["reference"] == "abc123"
    assert parsed["exception"]["type"] == "ValueError"
    assert PRISON_NUMBER not in line
    assert "\n" not in line


async def test_metrics_endpoint_reports_latency_errors_and_pool(make_tenant: TenantFactory, login: CallerFactory,
                                                                client: httpx.AsyncClient) -> None:
    tenant = await make_tenant()
    caller = await login(Role.PLATFORM_ADMIN)
    await caller("{ sites { id } }")  # a platform admin sees no case data: FORBIDDEN
    assert tenant.slug
    text = (await client.get("/metrics")).text
    assert 'http_server_request_duration_seconds_count{http_request_method="POST"' in text
    assert 'always_hope_graphql_errors_total{error_code="FORBIDDEN"' in text
    assert 'db_client_connection_count{db_client_connection_state="used"' in text
    assert "db_client_connection_max" in text


async def test_a_compiled_page_has_its_operation_span_and_no_personal_data(
        make_tenant: TenantFactory, login: CallerFactory, admin_conn: asyncpg.Connection,
        spans: InMemorySpanExporter) -> None:
    from service.api.relay import to_global_id
    from tests.operations import document

    tenant = await make_tenant()
    site = await admin_conn.fetchval(f'SELECT id FROM "{tenant.schema}".site WHERE code = $1', "BSI")
    ya = await admin_conn.fetchval(
        f'INSERT INTO "{tenant.schema}".young_adult (given_name, family_name, date_of_birth, care_status, '
        "prison_number) VALUES ($1, $2, $3, 'RELEVANT', $4) RETURNING id", GIVEN, FAMILY,
        dt.date(2004, 2, 29), PRISON_NUMBER)
    await admin_conn.execute(f'INSERT INTO "{tenant.schema}".enrolment (young_adult_id, site_id) VALUES ($1, $2)',
                             ya, site)
    pom = await login(Role.PRACTITIONER, tenant, service=Service.PRISON, sites=("BSI",))
    response = await pom.post(document("CaseloadPage"), {"siteId": to_global_id("Site", site)})
    assert response.headers["x-executed-by"] == "compiled"
    assert response.json()["data"]["caseload"]["edges"][0]["node"]["familyName"] == FAMILY
    finished = spans.get_finished_spans()
    (operation,) = [s for s in finished if s.name == "graphql query CaseloadPage"]
    assert (operation.attributes or {})["always_hope.tenant"] == tenant.slug
    assert (operation.attributes or {})["always_hope.compiled"] is True
    leaked = [(s.name, t) for s in finished for t in span_texts(s) for p in PERSONAL if p in t]
    assert leaked == []


def test_spans_are_recorded_once_something_reads_them() -> None:
    """Without a span processor nothing would read a recorded span, so none is recorded (each cost a request tens of
    microseconds), yet each still has ids for log lines; a processor added (an exporter's) turns recording on."""
    from opentelemetry.sdk.resources import Resource

    provider = telemetry._TracerProvider(Resource.create({}))
    tracer = provider.get_tracer("test")
    with tracer.start_as_current_span("unread") as unread, tracer.start_as_current_span("child") as child:
        assert not unread.is_recording()
        assert unread.get_span_context().is_valid
        assert child.get_span_context().trace_id == unread.get_span_context().trace_id
    exporter = InMemorySpanExporter()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    with tracer.start_as_current_span("read") as read:
        assert read.is_recording()
    assert [s.name for s in exporter.get_finished_spans()] == ["read"]


def test_while_nothing_reads_spans_only_the_outermost_is_made(monkeypatch: pytest.MonkeyPatch) -> None:
    """Unread, a span inside another (an operation's, a statement's) is not made: the enclosing one is answered, so a
    log line inside carries the request's trace and span ids, and nothing costs a span of its own. The outermost (the
    server span) and one continuing a caller's trace are made; once a processor reads spans, every span is made and
    recorded, each the child of the one around it."""
    from opentelemetry.sdk.resources import Resource

    provider = telemetry._TracerProvider(Resource.create({}))
    monkeypatch.setattr(telemetry, "tracer", provider.get_tracer("test"))
    monkeypatch.setattr(telemetry, "_when_read", provider._when_read)
    with telemetry.span("GET /graphql", kind=trace.SpanKind.SERVER) as server:
        assert server.get_span_context().is_valid
        assert not server.is_recording()
        with telemetry.span("graphql query Q") as operation, telemetry.db_span("SELECT") as statement:
            assert operation is server
            assert statement is server
            assert trace.get_current_span() is server
    remote = trace.set_span_in_context(trace.NonRecordingSpan(trace.SpanContext(
        0x1234, 0x5678, is_remote=True, trace_flags=trace.TraceFlags(0))))
    with telemetry.span("outer"), telemetry.span("continued", context=remote) as continued:
        assert continued.get_span_context().trace_id == 0x1234
    exporter = InMemorySpanExporter()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    with telemetry.span("GET /graphql") as server, telemetry.db_span("SELECT") as statement:
        assert statement is not server
        assert statement.is_recording()
    finished = {s.name: s for s in exporter.get_finished_spans()}
    assert set(finished) == {"GET /graphql", "db SELECT"}
    parent = finished["db SELECT"].parent
    assert parent is not None
    assert parent.span_id == server.get_span_context().span_id


async def test_a_span_that_raises_records_the_exception_type_only_and_ends(spans: InMemorySpanExporter) -> None:
    """telemetry.span: current inside its ``with`` (a statement's span the child of the operation's), the previous
    span current again after it; an exception leaves its type on every span it passes through, and the status
    ERROR, never its message (it can quote a stored row), and the spans still end."""
    outside = trace.get_current_span()
    current: list[trace.Span] = []

    def statement_that_fails() -> None:
        with telemetry.span("outer", {"always_hope.tenant": "t"}) as outer:
            current.append(trace.get_current_span())
            with telemetry.db_span("SELECT") as inner:
                current.append(trace.get_current_span())
                assert current == [outer, inner]
                raise KeyError(PRISON_NUMBER)

    with pytest.raises(KeyError):
        statement_that_fails()
    assert trace.get_current_span() is outside
    outer = current[0]
    with telemetry.span("fine") as fine:
        pass
    finished = {s.name: s for s in spans.get_finished_spans()}
    assert set(finished) == {"outer", "db SELECT", "fine"}
    for name in ("outer", "db SELECT"):
        span = finished[name]
        assert (span.attributes or {})["error.type"] == "KeyError"
        assert span.status.status_code is trace.StatusCode.ERROR
        assert span.events == ()
        assert PRISON_NUMBER not in " ".join(span_texts(span))
    assert dict(finished["db SELECT"].attributes or {})["db.operation.name"] == "SELECT"
    assert finished["db SELECT"].kind is trace.SpanKind.CLIENT
    assert finished["db SELECT"].parent is not None
    assert finished["db SELECT"].parent.span_id == outer.get_span_context().span_id
    assert "error.type" not in (finished["fine"].attributes or {})
    assert finished["fine"].status.status_code is trace.StatusCode.UNSET
    assert fine.get_span_context().trace_id != outer.get_span_context().trace_id
