"""The compose stack (deploy/compose.yaml) and the collector's configuration.

The compose file is validated against the Compose Specification's JSON schema, as vendored by check-jsonschema
(offline), and then read for what the stack relies on.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"
COMPOSE = DEPLOY / "compose.yaml"


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load(COMPOSE.read_text())
    return data


@pytest.fixture(scope="module")
def collector() -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load((DEPLOY / "otel-collector.yaml").read_text())
    return data


def check_compose_schema(path: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "check_jsonschema", "--builtin-schema", "vendor.compose-spec", str(path)],
        capture_output=True, text=True, timeout=60, check=False)


def test_compose_file_follows_the_compose_specification() -> None:
    result = check_compose_schema(COMPOSE)
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("change", [
    {"helthcheck": {"test": ["CMD", "pg_isready"]}},
    {"depends_on": {"otel-collector": {"condition": "healthy"}}},
])
def test_the_schema_check_catches_a_malformed_service(tmp_path: Path, compose: dict[str, Any],
                                                      change: dict[str, Any]) -> None:
    services = compose["services"]
    broken = {**compose, "services": {**services, "postgres": {**services["postgres"], **change}}}
    path = tmp_path / "compose.yaml"
    path.write_text(yaml.safe_dump(broken))
    assert check_compose_schema(path).returncode != 0


def test_three_services(compose: dict[str, Any]) -> None:
    assert set(compose["services"]) == {"postgres", "always-hope", "otel-collector"}


def test_every_image_is_pinned_to_a_version(compose: dict[str, Any]) -> None:
    for name, service in compose["services"].items():
        if "build" in service:
            continue
        _, _, tag = service["image"].partition(":")
        assert re.fullmatch(r"\d+(\.\d+)+[\w.-]*", tag), f"{name}: {service['image']}"


def test_postgres_reports_health_with_pg_isready(compose: dict[str, Any]) -> None:
    postgres = compose["services"]["postgres"]
    assert postgres["image"].startswith("postgres:15")
    assert "pg_isready" in " ".join(postgres["healthcheck"]["test"])


def test_service_starts_once_postgres_is_healthy(compose: dict[str, Any]) -> None:
    depends = compose["services"]["always-hope"]["depends_on"]
    assert depends["postgres"] == {"condition": "service_healthy"}
    assert "otel-collector" in depends


def test_service_is_built_from_the_repository_with_the_deploy_dockerfile(compose: dict[str, Any]) -> None:
    build = compose["services"]["always-hope"]["build"]
    context = (COMPOSE.parent / build["context"]).resolve()
    assert context == DEPLOY.parent
    assert (context / build["dockerfile"]).resolve() == DEPLOY / "Dockerfile"


def test_service_environment(compose: dict[str, Any]) -> None:
    env = compose["services"]["always-hope"]["environment"]
    postgres = compose["services"]["postgres"]["environment"]
    assert env["ALWAYS_HOPE_ENV"] == "production"
    assert env["DATABASE_URL"] == (
        f"postgresql://{postgres['POSTGRES_USER']}:{postgres['POSTGRES_PASSWORD']}@postgres:5432/"
        f"{postgres['POSTGRES_DB']}")
    assert env["ALWAYS_HOPE_OTEL_EXPORTER"] == "otlp"
    assert env["OTEL_EXPORTER_OTLP_ENDPOINT"] == "http://otel-collector:4318"


@pytest.mark.parametrize("variable", ["AUTH_ISSUER", "AUTH_AUDIENCE", "AUTH_JWKS_URL"])
def test_compose_refuses_to_start_without_the_issuer_settings(compose: dict[str, Any], variable: str) -> None:
    # `${VAR:?message}`: compose stops with the message when VAR is unset or empty.
    value = compose["services"]["always-hope"]["environment"][variable]
    assert re.fullmatch(rf"\$\{{{variable}:\?[^}}]+\}}", value), value


def test_app_role_created_for_compose_matches_app_database_url(compose: dict[str, Any]) -> None:
    """The service's login role needs a password over TCP; the init script gives it the one the URL carries."""
    postgres = compose["services"]["postgres"]
    (mount,) = [v for v in postgres["volumes"] if v.endswith(":/docker-entrypoint-initdb.d:ro")]
    scripts = sorted((COMPOSE.parent / mount.split(":")[0]).glob("*.sql"))
    assert scripts
    sql = "\n".join(s.read_text() for s in scripts)
    match = re.search(r"CREATE ROLE (\w+) LOGIN NOINHERIT PASSWORD '([^']+)'", sql)
    assert match is not None
    role, password = match.groups()
    assert compose["services"]["always-hope"]["environment"]["APP_DATABASE_URL"] == (
        f"postgresql://{role}:{password}@postgres:5432/{postgres['environment']['POSTGRES_DB']}")


def test_collector_receives_otlp_over_http_and_grpc(compose: dict[str, Any], collector: dict[str, Any]) -> None:
    protocols = collector["receivers"]["otlp"]["protocols"]
    assert protocols["grpc"]["endpoint"].endswith(":4317")
    assert protocols["http"]["endpoint"].endswith(":4318")
    service = compose["services"]["otel-collector"]
    mounted = {v.split(":")[0]: v.split(":")[1] for v in service["volumes"]}
    assert mounted["./otel-collector.yaml"] in " ".join(service["command"])


def test_collector_pipelines_use_only_defined_components(collector: dict[str, Any]) -> None:
    pipelines = collector["service"]["pipelines"]
    assert set(pipelines) == {"traces", "metrics", "logs"}
    for name, pipeline in pipelines.items():
        assert "batch" in pipeline["processors"], name
        for section in ("receivers", "processors", "exporters"):
            for component in pipeline[section]:
                assert component in collector[section], f"{name} uses undefined {section[:-1]} {component}"
    assert "debug" in collector["exporters"]


def test_published_port_is_the_one_the_entrypoint_serves(compose: dict[str, Any]) -> None:
    assert compose["services"]["always-hope"]["ports"] == ["8000:8000"]
    assert "PORT" not in compose["services"]["always-hope"]["environment"]
    assert '--port "${PORT:-8000}"' in (DEPLOY / "entrypoint.sh").read_text()
