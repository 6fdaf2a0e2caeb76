"""The Helm chart, rendered by a real helm binary and checked against Kubernetes' own schemas.

Every rendered object is validated (strictly: unknown fields are errors) against the OpenAPI-derived JSON schemas
that kubernetes-validate ships, for the oldest Kubernetes the chart supports and a current one. Nothing here
touches the network: `helm template` reads the chart from disk (it has no dependencies), with helm's config,
cache and data folders in a temporary directory and no kubeconfig.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import jsonschema
import kubernetes_validate
import pytest
import yaml

CHART = Path(__file__).resolve().parents[2] / "helm" / "always-hope"
# The chart's kubeVersion floor and a current release.
KUBERNETES_VERSIONS = ("1.29.0", "1.33.0")
REQUIRED = (
    "auth.issuer=https://id.example.org/realms/always-hope",
    "auth.jwksUrl=https://id.example.org/realms/always-hope/protocol/openid-connect/certs",
    "database.url=postgresql://always_hope_admin:s3cret@db.example.org:5432/always_hope",
)

Manifest = dict[str, Any]


class HelmChart:
    """The chart, rendered by the real helm binary."""

    def __init__(self, binary: str, home: Path) -> None:
        self.binary = binary
        self.env = {
            "PATH": os.environ.get("PATH", ""),
            "HOME": str(home),
            "HELM_CONFIG_HOME": str(home / "config"),
            "HELM_CACHE_HOME": str(home / "cache"),
            "HELM_DATA_HOME": str(home / "data"),
            "KUBECONFIG": str(home / "no-kubeconfig"),
        }
        self._rendered: dict[tuple[str, ...], list[Manifest]] = {}

    def run(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([self.binary, *args], env=self.env, capture_output=True, text=True, timeout=120,
                              check=False)

    def template(self, values: Sequence[str], kube_version: str = KUBERNETES_VERSIONS[-1]
                 ) -> subprocess.CompletedProcess[str]:
        """`helm template` with these `--set` pairs: release `ah` in namespace `always-hope`."""
        sets = [arg for pair in values for arg in ("--set", pair)]
        return self.run("template", "ah", str(CHART), "--namespace", "always-hope", "--kube-version", kube_version,
                        *sets)

    def render(self, values: Sequence[str] = REQUIRED, kube_version: str = KUBERNETES_VERSIONS[-1]
               ) -> list[Manifest]:
        """The rendered objects; fails the test with helm's message if helm refuses the values."""
        key = (kube_version, *values)
        if key not in self._rendered:
            result = self.template(values, kube_version)
            assert result.returncode == 0, result.stderr
            self._rendered[key] = [doc for doc in yaml.safe_load_all(result.stdout) if doc]
        return self._rendered[key]


@pytest.fixture(scope="module")
def chart(tmp_path_factory: pytest.TempPathFactory) -> HelmChart:
    binary = os.environ.get("HELM") or shutil.which("helm")
    if binary is None:
        message = "no helm binary: set HELM or put helm on PATH (.ci/run installs one)"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    return HelmChart(binary, tmp_path_factory.mktemp("helm-home"))


def only(manifests: list[Manifest], kind: str, name: str | None = None) -> Manifest:
    found = [m for m in manifests if m["kind"] == kind and (name is None or m["metadata"]["name"] == name)]
    assert len(found) == 1, f"expected one {kind} {name or ''}, got {[m['metadata']['name'] for m in found]}"
    return found[0]


def env_of(container: dict[str, Any]) -> dict[str, str]:
    return {e["name"]: e["value"] for e in container.get("env", [])}


def validate(manifest: Manifest, kube_version: str) -> None:
    try:
        kubernetes_validate.validate(manifest, kube_version, strict=True)
    except kubernetes_validate.ValidationError as exc:
        pytest.fail(f"{manifest['kind']} {manifest['metadata']['name']} is not valid for Kubernetes {kube_version}: "
                    f"{'.'.join(map(str, exc.path))}: {exc.message}")


# --- the rendered objects are valid Kubernetes ---------------------------------------------------------------


@pytest.mark.parametrize("kube_version", KUBERNETES_VERSIONS)
def test_default_render_is_valid_kubernetes(chart: HelmChart, kube_version: str) -> None:
    manifests = chart.render(kube_version=kube_version)
    assert sorted(m["kind"] for m in manifests) == [
        "ConfigMap", "Deployment", "Job", "Secret", "Secret", "Service", "ServiceAccount"]
    for manifest in manifests:
        validate(manifest, kube_version)


@pytest.mark.parametrize("kube_version", KUBERNETES_VERSIONS)
def test_ingress_when_enabled_is_valid_and_routes_to_the_service(chart: HelmChart, kube_version: str) -> None:
    manifests = chart.render([*REQUIRED, "ingress.enabled=true", "ingress.host=hope.example.org",
                              "ingress.className=nginx", "ingress.tlsSecretName=hope-tls"], kube_version)
    ingress = only(manifests, "Ingress")
    validate(ingress, kube_version)
    service = only(manifests, "Service")
    (rule,) = ingress["spec"]["rules"]
    assert rule["host"] == "hope.example.org"
    backend = rule["http"]["paths"][0]["backend"]["service"]
    assert backend["name"] == service["metadata"]["name"]
    assert backend["port"]["name"] in {p["name"] for p in service["spec"]["ports"]}
    assert ingress["spec"]["tls"] == [{"hosts": ["hope.example.org"], "secretName": "hope-tls"}]


def test_no_ingress_unless_enabled(chart: HelmChart) -> None:
    assert not [m for m in chart.render() if m["kind"] == "Ingress"]


def test_ingress_needs_a_host(chart: HelmChart) -> None:
    result = chart.template([*REQUIRED, "ingress.enabled=true"])
    assert result.returncode != 0
    assert "ingress.host is required" in result.stderr


# --- the pods --------------------------------------------------------------------------------------------------


def pod_specs(manifests: list[Manifest]) -> Iterator[tuple[str, dict[str, Any]]]:
    for kind in ("Deployment", "Job"):
        yield kind, only(manifests, kind)["spec"]["template"]["spec"]


def test_every_pod_runs_as_non_root_on_a_read_only_root(chart: HelmChart) -> None:
    for kind, pod in pod_specs(chart.render()):
        assert pod["securityContext"]["runAsNonRoot"] is True, kind
        assert pod["securityContext"]["runAsUser"] > 0, kind
        assert pod["automountServiceAccountToken"] is False, kind
        for container in pod["containers"]:
            context = container["securityContext"]
            assert context["readOnlyRootFilesystem"] is True, kind
            assert context["allowPrivilegeEscalation"] is False, kind
            assert context["capabilities"]["drop"] == ["ALL"], kind
            # The one writable place is an emptyDir at /tmp, where ALWAYS_HOPE_DATA_DIR points.
            mounts = {m["mountPath"]: m["name"] for m in container["volumeMounts"]}
            assert "emptyDir" in {v["name"]: v for v in pod["volumes"]}[mounts["/tmp"]], kind  # noqa: S108  (a path in the pod)


def test_probes_ask_healthz_and_readyz_on_the_served_port(chart: HelmChart) -> None:
    (container,) = only(chart.render(), "Deployment")["spec"]["template"]["spec"]["containers"]
    assert container["livenessProbe"]["httpGet"]["path"] == "/healthz"
    assert container["readinessProbe"]["httpGet"]["path"] == "/readyz"
    assert container["startupProbe"]["httpGet"]["path"] == "/healthz"
    ports = {p["name"]: p["containerPort"] for p in container["ports"]}
    for probe in ("livenessProbe", "readinessProbe", "startupProbe"):
        assert ports[container[probe]["httpGet"]["port"]] == int(env_of(container)["PORT"]) == 8000


def test_deployment_takes_settings_from_the_configmap_and_secret(chart: HelmChart) -> None:
    manifests = chart.render()
    (container,) = only(manifests, "Deployment")["spec"]["template"]["spec"]["containers"]
    sources = container["envFrom"]
    config = only(manifests, "ConfigMap", sources[0]["configMapRef"]["name"])
    secret = only(manifests, "Secret", sources[1]["secretRef"]["name"])
    assert set(config["data"]) == {
        "ALWAYS_HOPE_ENV", "ALWAYS_HOPE_LOG_LEVEL", "ALWAYS_HOPE_ROLE_PREFIX", "ALWAYS_HOPE_DATA_DIR",
        "DATABASE_POOL_MIN", "DATABASE_POOL_MAX", "AUTH_ISSUER", "AUTH_AUDIENCE", "AUTH_JWKS_URL",
        "ALWAYS_HOPE_OTEL_EXPORTER", "OTEL_SERVICE_NAME"}
    assert config["data"]["ALWAYS_HOPE_ENV"] == "production"
    assert config["data"]["AUTH_ISSUER"] == "https://id.example.org/realms/always-hope"
    assert set(secret["data"]) == {"DATABASE_URL"}
    # The pods are migrated by the Job; their entrypoint must not migrate again.
    assert env_of(container)["ALWAYS_HOPE_SKIP_MIGRATE"] == "1"


def test_values_reach_the_objects(chart: HelmChart) -> None:
    manifests = chart.render([*REQUIRED, "replicaCount=3", "resources.limits.memory=1Gi",
                              "otel.exporter=otlp", "otel.endpoint=http://collector.monitoring:4318",
                              "database.appUrl=postgresql://ah_app:pw@db.example.org:5432/always_hope",
                              "image.digest=sha256:" + "ab" * 32])
    deployment = only(manifests, "Deployment")
    (container,) = deployment["spec"]["template"]["spec"]["containers"]
    assert deployment["spec"]["replicas"] == 3
    assert container["resources"]["limits"]["memory"] == "1Gi"
    assert container["image"] == "always-hope@sha256:" + "ab" * 32
    config = only(manifests, "ConfigMap")["data"]
    assert config["ALWAYS_HOPE_OTEL_EXPORTER"] == "otlp"
    assert config["OTEL_EXPORTER_OTLP_ENDPOINT"] == "http://collector.monitoring:4318"
    assert set(only(manifests, "Secret", "ah-always-hope")["data"]) == {"DATABASE_URL", "APP_DATABASE_URL"}


def test_service_selects_the_server_pods_and_not_the_migration_pod(chart: HelmChart) -> None:
    manifests = chart.render()
    selector = only(manifests, "Service")["spec"]["selector"].items()
    server_labels = only(manifests, "Deployment")["spec"]["template"]["metadata"]["labels"].items()
    migration_labels = only(manifests, "Job")["spec"]["template"]["metadata"]["labels"].items()
    assert selector <= server_labels
    assert not selector <= migration_labels


# --- the migration Job -------------------------------------------------------------------------------------------


def test_migration_job_is_a_pre_install_and_pre_upgrade_hook_running_migrate(chart: HelmChart) -> None:
    manifests = chart.render()
    job = only(manifests, "Job")
    assert set(job["metadata"]["annotations"]["helm.sh/hook"].split(",")) == {"pre-install", "pre-upgrade"}
    pod = job["spec"]["template"]["spec"]
    (container,) = pod["containers"]
    assert container["command"] == ["always-hope", "migrate"]
    assert pod["restartPolicy"] == "Never"
    (server,) = only(manifests, "Deployment")["spec"]["template"]["spec"]["containers"]
    assert container["image"] == server["image"]
    # Hooks run before the release's ConfigMap exists, so the Job carries the same settings inline.
    assert env_of(container) == only(manifests, "ConfigMap")["data"]


def test_migration_job_reads_the_database_from_a_hook_secret_created_before_it(chart: HelmChart) -> None:
    manifests = chart.render()
    job = only(manifests, "Job")
    (container,) = job["spec"]["template"]["spec"]["containers"]
    secret = only(manifests, "Secret", container["envFrom"][0]["secretRef"]["name"])
    assert secret["metadata"]["annotations"]["helm.sh/hook"] == job["metadata"]["annotations"]["helm.sh/hook"]
    assert int(secret["metadata"]["annotations"]["helm.sh/hook-weight"]) < int(
        job["metadata"]["annotations"]["helm.sh/hook-weight"])
    assert secret["data"] == only(manifests, "Secret", "ah-always-hope")["data"]


def test_existing_secret_replaces_the_charts_secrets(chart: HelmChart) -> None:
    manifests = chart.render([*REQUIRED[:2], "database.existingSecret=always-hope-database"])
    assert not [m for m in manifests if m["kind"] == "Secret"]
    for _, pod in pod_specs(manifests):
        (container,) = pod["containers"]
        assert {"secretRef": {"name": "always-hope-database"}} in container["envFrom"]


def test_migration_can_be_left_to_serve(chart: HelmChart) -> None:
    manifests = chart.render([*REQUIRED, "migration.enabled=false"])
    assert not [m for m in manifests if m["kind"] == "Job"]
    (container,) = only(manifests, "Deployment")["spec"]["template"]["spec"]["containers"]
    assert "ALWAYS_HOPE_SKIP_MIGRATE" not in env_of(container)


# --- values: the schema and the required settings -------------------------------------------------------------


@pytest.mark.parametrize(("value", "complaint"), [
    ("replicaCount=two", "replicaCount"),
    ("bogus=1", "bogus"),
    ("image.pullPolicy=Sometimes", "pullPolicy"),
    ("config.rolePrefix=Always-Hope", "rolePrefix"),
    ("config.logLevel=verbose", "logLevel"),
    ("auth.issuer=id.example.org", "issuer"),
    ("securityContext.runAsUser=0", "runAsUser"),
    ("resources.limits.memory=lots", "memory"),
])
def test_helm_refuses_values_the_schema_does_not_allow(chart: HelmChart, value: str, complaint: str) -> None:
    result = chart.template([*REQUIRED, value])
    assert result.returncode != 0, f"helm accepted {value}"
    assert "schema" in result.stderr
    assert complaint in result.stderr


@pytest.mark.parametrize(("missing", "complaint"), [
    ("auth.issuer", "auth.issuer is required"),
    ("auth.jwksUrl", "auth.jwksUrl is required"),
    ("database.url", "database.url (or database.existingSecret) is required"),
])
def test_production_settings_are_required(chart: HelmChart, missing: str, complaint: str) -> None:
    result = chart.template([v for v in REQUIRED if not v.startswith(f"{missing}=")])
    assert result.returncode != 0
    assert complaint in result.stderr


@pytest.mark.parametrize(("values", "complaint"), [
    (["config.databasePool.min=20"], "config.databasePool.min must not exceed"),
    (["otel.exporter=otlp"], "otel.endpoint is required"),
])
def test_inconsistent_values_are_refused(chart: HelmChart, values: list[str], complaint: str) -> None:
    result = chart.template([*REQUIRED, *values])
    assert result.returncode != 0
    assert complaint in result.stderr


def test_helm_lint_is_clean(chart: HelmChart) -> None:
    sets = [arg for pair in REQUIRED for arg in ("--set", pair)]
    result = chart.run("lint", "--strict", str(CHART), *sets)
    assert result.returncode == 0, result.stdout + result.stderr


def load_schema() -> dict[str, Any]:
    schema: dict[str, Any] = json.loads((CHART / "values.schema.json").read_text())
    return schema


def test_values_schema_is_draft_07_and_accepts_the_defaults() -> None:
    schema = load_schema()
    assert schema["$schema"] == "http://json-schema.org/draft-07/schema#"
    jsonschema.Draft7Validator.check_schema(schema)
    jsonschema.Draft7Validator(schema).validate(yaml.safe_load((CHART / "values.yaml").read_text()))


@pytest.mark.parametrize("bad", [
    {"replicaCount": "two"},
    {"unknown": True},
    {"service": {"port": 0}},
    {"ingress": {"enabled": "yes"}},
    {"database": {"url": "mysql://x"}},
    {"otel": {"exporter": "jaeger"}},
])
def test_values_schema_rejects_bad_values(bad: dict[str, Any]) -> None:
    validator = jsonschema.Draft7Validator(load_schema())
    values = yaml.safe_load((CHART / "values.yaml").read_text())
    for key, value in bad.items():
        values[key] = {**values[key], **value} if isinstance(value, dict) else value
    assert not validator.is_valid(values)


def test_values_schema_describes_every_value() -> None:
    """Each key in values.yaml is a property of the schema, and every object in it is closed to other keys."""
    schema = load_schema()
    definitions = schema["definitions"]

    def resolve(node: dict[str, Any]) -> dict[str, Any]:
        while "$ref" in node:
            node = definitions[node["$ref"].removeprefix("#/definitions/")]
        return node

    def walk(values: dict[str, Any], node: dict[str, Any], path: str) -> None:
        node = resolve(node)
        if "properties" not in node:
            return  # a free-form map (annotations, nodeSelector, affinity)
        assert node.get("additionalProperties") is False, f"{path or 'the top level'} accepts unknown keys"
        for key, value in values.items():
            assert key in node["properties"], f"{path}{key} is not in values.schema.json"
            if isinstance(value, dict):
                walk(value, node["properties"][key], f"{path}{key}.")

    walk(yaml.safe_load((CHART / "values.yaml").read_text()), schema, "")
