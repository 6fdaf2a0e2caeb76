"""The operations settings: parsing, refusals that name the variable, and the OTLP exporter really exporting."""

from __future__ import annotations

import dataclasses
import gc
import http.server
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from service.app.asgi import create_app
from service.kernel.database import Database
from service.kernel.settings import Environment, OtelExporter, Settings, SettingsError


def test_operations_settings_are_read_from_the_environment(tmp_path: Path) -> None:
    settings = Settings.from_env({
        "ALWAYS_HOPE_OTEL_EXPORTER": "OTLP", "OTEL_EXPORTER_OTLP_ENDPOINT": "http://collector:4318",
        "ALWAYS_HOPE_MAX_QUERY_DEPTH": "7", "ALWAYS_HOPE_TRUSTED_DOCUMENTS": "true",
        "ALWAYS_HOPE_OPERATIONS_DIR": str(tmp_path), "ALWAYS_HOPE_RATE_LIMIT_TENANT": "0",
        "ALWAYS_HOPE_CORS_ORIGINS": "https://a.example.org, https://b.example.org"})
    assert settings.otel_exporter is OtelExporter.OTLP
    assert settings.otel_endpoint == "http://collector:4318"
    assert settings.max_query_depth == 7
    assert settings.trusted_documents_only
    assert settings.operations_dir == tmp_path
    assert settings.rate_limit_tenant == 0
    assert settings.cors_origins == ("https://a.example.org", "https://b.example.org")
    assert Settings.from_env({"ALWAYS_HOPE_GC_YOUNG_THRESHOLD": "5000"}).gc_young_threshold == 5000


def test_production_defaults_close_what_development_opens() -> None:
    dev = Settings()
    prod = Settings(environment=Environment.PRODUCTION)
    assert (dev.trusted_documents_only, dev.introspection_allowed) == (False, True)
    assert (prod.trusted_documents_only, prod.introspection_allowed) == (True, False)
    assert Settings(environment=Environment.PRODUCTION, trusted_documents=False).trusted_documents_only is False


@pytest.mark.parametrize(("env", "named"), [
    ({"ALWAYS_HOPE_OTEL_EXPORTER": "jaeger"}, "ALWAYS_HOPE_OTEL_EXPORTER"),
    ({"ALWAYS_HOPE_MAX_QUERY_COST": "lots"}, "ALWAYS_HOPE_MAX_QUERY_COST"),
    ({"ALWAYS_HOPE_MAX_QUERY_DEPTH": "0"}, "max_query_depth"),
    ({"ALWAYS_HOPE_RATE_LIMIT_PRINCIPAL": "-1"}, "rate_limit_principal"),
    ({"ALWAYS_HOPE_TRUSTED_DOCUMENTS": "maybe"}, "ALWAYS_HOPE_TRUSTED_DOCUMENTS"),
    ({"ALWAYS_HOPE_CORS_ORIGINS": "https://app.example.org/path"}, "ALWAYS_HOPE_CORS_ORIGINS"),
    ({"ALWAYS_HOPE_LOG_FORMAT": "xml"}, "ALWAYS_HOPE_LOG_FORMAT"),
    ({"ALWAYS_HOPE_GC_YOUNG_THRESHOLD": "0"}, "gc_young_threshold"),
])
def test_bad_values_are_refused_naming_the_setting(env: dict[str, str], named: str) -> None:
    with pytest.raises(SettingsError, match=named):
        Settings.from_env(env)


@pytest.fixture
def collector() -> Iterator[tuple[str, list[tuple[str, bytes]]]]:
    """A stand-in OTLP/HTTP receiver on loopback that records what it is sent."""
    received: list[tuple[str, bytes]] = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            received.append((self.path, self.rfile.read(int(self.headers["Content-Length"]))))
            self.send_response(200)
            self.send_header("Content-Type", "application/x-protobuf")
            self.end_headers()

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}", received
    server.shutdown()
    server.server_close()


def test_otlp_exporter_sends_spans_to_the_configured_endpoint(
        collector: tuple[str, list[tuple[str, bytes]]]) -> None:
    endpoint, received = collector
    # A separate process: OpenTelemetry's providers can be installed once per process.
    script = ("from service.kernel.settings import Settings\nfrom service.kernel import telemetry\n"
              "telemetry.configure(Settings.from_env())\n"
              "with telemetry.db_span('SELECT'):\n    pass\ntelemetry.request_duration.record(0.1)\n"
              "telemetry.shutdown()\n")
    subprocess.run([sys.executable, "-c", script], check=True, timeout=60,
                   env={"ALWAYS_HOPE_OTEL_EXPORTER": "otlp", "OTEL_EXPORTER_OTLP_ENDPOINT": endpoint,
                        "PATH": "/usr/bin:/bin"}, cwd=Path(__file__).resolve().parents[1])
    traces = [body for path, body in received if path == "/v1/traces"]
    assert traces, received
    assert b"db SELECT" in traces[0]
    assert any(path == "/v1/metrics" for path, _ in received)


@pytest.mark.parametrize("env", [
    {"DATABASE_POOL_MIN": "0"}, {"DATABASE_POOL_MIN": "5", "DATABASE_POOL_MAX": "2"},
    {"DATABASE_JOBS_POOL_MAX": "0"},
])
def test_pool_sizes_are_checked(env: dict[str, str]) -> None:
    with pytest.raises(SettingsError, match="DATABASE_"):
        Settings.from_env(env)


async def test_the_service_runs_with_start_up_frozen_and_its_young_generation_threshold(db: Database) -> None:
    """What the process runs with once started (its lifespan), not only what a benchmark sets: start-up's heap frozen
    out of every later collection, and the youngest generation collected every ALWAYS_HOPE_GC_YOUNG_THRESHOLD
    allocations."""
    settings = dataclasses.replace(db.settings, gc_young_threshold=12_345, reporting_refresh_seconds=0,
                                   transfer_handoff_seconds=0)
    app = create_app(Database.connect(settings))
    before = gc.get_threshold()
    try:
        async with app.router.lifespan_context(app):
            assert gc.get_threshold() == (12_345, *before[1:])
            assert gc.get_freeze_count() > 0
    finally:
        gc.set_threshold(*before)
        gc.unfreeze()
