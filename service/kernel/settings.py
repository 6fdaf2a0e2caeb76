"""The one settings object. Read once from the environment at start-up; nothing else reads ``os.environ``."""

from __future__ import annotations

import enum
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import platformdirs


class Environment(enum.StrEnum):
    DEVELOPMENT = "development"
    PRODUCTION = "production"


class LogFormat(enum.StrEnum):
    JSON = "json"
    TEXT = "text"


class OtelExporter(enum.StrEnum):
    NONE = "none"
    CONSOLE = "console"
    OTLP = "otlp"


class SettingsError(ValueError):
    """A setting is missing or malformed; the message names the variable."""


DEV_ISSUER = "https://always-hope.invalid/dev-issuer"
# What production cannot start without, and why (README "Configuration" lists the same, checked by a test).
PRODUCTION_REQUIRED = {
    "DATABASE_URL": "the server to use (the embedded one is for development)",
    "APP_DATABASE_URL": "the application login role with its password",
    "AUTH_ISSUER": "your OIDC issuer (the development issuer is refused)",
}
DEFAULT_AUDIENCE = "always-hope"
# The operations front-ends use: the wheel carries the published contract as service/contract (never a directory
# named graphql, which would shadow graphql-core); a checkout reads the repository's graphql/.
_SERVICE = Path(__file__).resolve().parent.parent
_SHIPPED = _SERVICE / "contract" / "operations"
_CHECKOUT = _SERVICE.parent / "graphql" / "operations"
PUBLISHED_OPERATIONS = _SHIPPED if _SHIPPED.is_dir() else _CHECKOUT


def default_data_dir() -> Path:
    """Root's is /var/lib/always-hope: a directory the project owns, whose parents any user may traverse (the
    embedded PostgreSQL then runs as a system user, see service.kernel.embedded); anyone else's is in their home."""
    if os.geteuid() == 0:
        return Path("/var/lib/always-hope")
    return Path(platformdirs.user_data_dir("always-hope"))


@dataclass(frozen=True, slots=True)
class Settings:
    environment: Environment = Environment.DEVELOPMENT
    # The server the service administers: its user creates roles and schemas (migrations, provisioning).
    # None means: start the embedded PostgreSQL in ``data_dir``.
    database_url: str | None = None
    # The NOINHERIT login role request traffic uses. Defaults to ``database_url`` with the user swapped for
    # ``app_role`` (trust or peer auth in development; set it explicitly with a password in production).
    app_database_url: str | None = None
    data_dir: Path = field(default_factory=lambda: default_data_dir())
    # Prefix of every cluster-wide role the platform creates; lets several deployments (or test runs) share a server.
    role_prefix: str = "ah"
    auth_issuer: str = DEV_ISSUER
    auth_audience: str = DEFAULT_AUDIENCE
    # Where the issuer's signing keys are. Unset in production: discovered from the issuer's OIDC metadata.
    auth_jwks_url: str | None = None
    # A CA bundle for reaching the identity provider (an internal IdP with a private CA); system CAs otherwise.
    auth_ca_bundle: Path | None = None
    pool_min_size: int = 1
    pool_max_size: int = 10
    # A small pool for work a request starts but does not own (a reporting refresh) and for the scheduler.
    jobs_pool_max_size: int = 3
    # The programme's time zone: "today", and the day a timestamp falls on, are taken here.
    time_zone: str = "Europe/London"
    log_level: str = "INFO"
    # Operations (README "Operations"): logs, telemetry, limits, trusted documents, HTTP hardening.
    # None: JSON in production or when stderr is not a terminal; text for a person at a terminal in development.
    log_format: LogFormat | None = None
    otel_exporter: OtelExporter = OtelExporter.NONE
    otel_endpoint: str | None = None  # OTEL_EXPORTER_OTLP_ENDPOINT; the exporter's default when None
    otel_service_name: str = "always-hope"
    metrics_endpoint: bool = True
    max_query_depth: int = 10
    max_query_tokens: int = 2000
    max_query_aliases: int = 15
    max_query_cost: int = 100000
    default_list_size: int = 10  # what a list field without `first` is assumed to return, for the cost estimate
    # None: on in production, off in development.
    trusted_documents: bool | None = None
    operations_dir: Path = PUBLISHED_OPERATIONS
    # Published operations planned into one SQL statement each (service/app/compiled); off: every request is
    # resolved field by field.
    compiled_documents: bool = True
    introspection: bool | None = None  # None: on in development only (also field suggestions)
    max_body_bytes: int = 256 * 1024
    statement_timeout_ms: int = 5000
    # Background work (the jobs pool: the reporting refresh and publication, transfers' hand-off) is not request
    # traffic: publishing one metric at 1,000 tenants rewrites some 71,000 figures in one COPY, over 5 s under load.
    jobs_statement_timeout_ms: int = 300_000
    rate_limit_principal: int = 600  # requests per minute per user; 0 turns the limit off
    rate_limit_tenant: int = 6000  # requests per minute per tenant; 0 turns the limit off
    cors_origins: tuple[str, ...] = ()
    # Seconds between scheduled refreshes of the national reporting rollups (one tenant at a time); 0 turns it off.
    reporting_refresh_seconds: int = 900
    # Seconds between runs of the hand-off job of accepted transfers between tenants (service/moves/); 0: off.
    transfer_handoff_seconds: int = 30
    # The garbage collector's youngest generation threshold (allocations between collections), set once start-up's
    # heap is frozen (service/app/asgi.py says why).
    gc_young_threshold: int = 10_000

    @property
    def development(self) -> bool:
        return self.environment is Environment.DEVELOPMENT

    @property
    def trusted_documents_only(self) -> bool:
        return not self.development if self.trusted_documents is None else self.trusted_documents

    @property
    def introspection_allowed(self) -> bool:
        return self.development if self.introspection is None else self.introspection

    @property
    def app_role(self) -> str:
        return f"{self.role_prefix}_app"

    @property
    def uses_dev_issuer(self) -> bool:
        return self.auth_issuer == DEV_ISSUER and self.auth_jwks_url is None

    @property
    def national_role(self) -> str:
        """The NOLOGIN role national analysts' requests run as: it reads the reporting rollups and nothing else."""
        return f"{self.role_prefix}_national"

    @property
    def dev_key_path(self) -> Path:
        return self.data_dir / "dev-issuer-key.json"

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if env is None else env
        kwargs: dict[str, object] = {}
        if "ALWAYS_HOPE_ENV" in env:
            try:
                kwargs["environment"] = Environment(env["ALWAYS_HOPE_ENV"])
            except ValueError:
                raise SettingsError(
                    f"ALWAYS_HOPE_ENV must be one of {[e.value for e in Environment]}, not {env['ALWAYS_HOPE_ENV']!r}"
                ) from None
        if env.get("DATABASE_URL"):
            kwargs["database_url"] = env["DATABASE_URL"]
        if env.get("APP_DATABASE_URL"):
            kwargs["app_database_url"] = env["APP_DATABASE_URL"]
        if env.get("ALWAYS_HOPE_DATA_DIR"):
            kwargs["data_dir"] = Path(env["ALWAYS_HOPE_DATA_DIR"]).expanduser()
        if env.get("AUTH_CA_BUNDLE"):
            kwargs["auth_ca_bundle"] = Path(env["AUTH_CA_BUNDLE"]).expanduser()
        if env.get("ALWAYS_HOPE_ROLE_PREFIX"):
            prefix = env["ALWAYS_HOPE_ROLE_PREFIX"]
            if not (prefix.isascii() and prefix.replace("_", "").isalnum() and prefix[0].isalpha() and len(prefix) <= 16
                    and prefix == prefix.lower()):
                raise SettingsError(
                    "ALWAYS_HOPE_ROLE_PREFIX must be 1-16 lower-case letters, digits or _, starting with a letter")
            kwargs["role_prefix"] = prefix
        if env.get("ALWAYS_HOPE_TIME_ZONE"):
            kwargs["time_zone"] = env["ALWAYS_HOPE_TIME_ZONE"].strip()
        for var, name in (("AUTH_ISSUER", "auth_issuer"), ("AUTH_AUDIENCE", "auth_audience"),
                          ("AUTH_JWKS_URL", "auth_jwks_url"), ("ALWAYS_HOPE_LOG_LEVEL", "log_level")):
            if env.get(var):
                kwargs[name] = env[var]
        for var, name in (("DATABASE_POOL_MIN", "pool_min_size"), ("DATABASE_POOL_MAX", "pool_max_size"),
                          ("DATABASE_JOBS_POOL_MAX", "jobs_pool_max_size"),
                          ("ALWAYS_HOPE_REPORTING_REFRESH_SECONDS", "reporting_refresh_seconds"),
                          ("ALWAYS_HOPE_TRANSFER_HANDOFF_SECONDS", "transfer_handoff_seconds"), *_OPS_INTEGERS):
            if env.get(var):
                try:
                    kwargs[name] = int(env[var])
                except ValueError:
                    raise SettingsError(f"{var} must be a whole number, not {env[var]!r}") from None
        kwargs.update(_ops_from_env(env))
        settings = cls(**kwargs)  # type: ignore[arg-type]
        settings.check()
        return settings

    def missing_for_production(self) -> list[str]:
        given = {"DATABASE_URL": self.database_url is not None, "APP_DATABASE_URL": self.app_database_url is not None,
                 "AUTH_ISSUER": self.auth_issuer != DEV_ISSUER}
        return [name for name in PRODUCTION_REQUIRED if not given[name]]

    def check(self) -> None:
        if self.reporting_refresh_seconds < 0:
            raise SettingsError("ALWAYS_HOPE_REPORTING_REFRESH_SECONDS must be 0 (off) or a number of seconds")
        if self.transfer_handoff_seconds < 0:
            raise SettingsError("ALWAYS_HOPE_TRANSFER_HANDOFF_SECONDS must be 0 (off) or a number of seconds")
        if self.environment is Environment.PRODUCTION and (missing := self.missing_for_production()):
            raise SettingsError("production needs " + "; ".join(f"{name} ({PRODUCTION_REQUIRED[name]})"
                                                                for name in missing))
        for name, url in (("DATABASE_URL", self.database_url), ("APP_DATABASE_URL", self.app_database_url)):
            if url is not None and not _postgres_url(url):
                raise SettingsError(f"{name} must be a PostgreSQL URL such as "
                                    "postgresql://user:password@host:5432/database")
        try:
            ZoneInfo(self.time_zone)
        except (ValueError, ZoneInfoNotFoundError):
            raise SettingsError("ALWAYS_HOPE_TIME_ZONE must be an IANA time zone such as Europe/London, not "
                                f"{self.time_zone[:60]!r}") from None
        if self.auth_ca_bundle is not None and not self.auth_ca_bundle.is_file():
            raise SettingsError("AUTH_CA_BUNDLE must name a readable file of CA certificates")
        if not 1 <= self.pool_min_size <= self.pool_max_size or self.jobs_pool_max_size < 1:
            raise SettingsError("DATABASE_POOL_MIN must be at least 1 and at most DATABASE_POOL_MAX; "
                                "DATABASE_JOBS_POOL_MAX at least 1")
        for name in ("max_query_depth", "max_query_tokens", "max_query_aliases", "max_query_cost",
                     "default_list_size", "max_body_bytes", "gc_young_threshold"):
            if getattr(self, name) < 1:
                raise SettingsError(f"{name} must be at least 1")
        for name in ("statement_timeout_ms", "jobs_statement_timeout_ms", "rate_limit_principal", "rate_limit_tenant"):
            if getattr(self, name) < 0:
                raise SettingsError(f"{name} must not be negative (0 turns it off)")


def _postgres_url(url: str) -> bool:
    """Whether ``url`` reads as a PostgreSQL URL (scheme, a whole-number port); never echoed, it may hold a password."""
    from sqlalchemy import make_url
    from sqlalchemy.exc import ArgumentError

    try:
        parsed = make_url(url)
    except (ArgumentError, ValueError):
        return False
    return parsed.get_backend_name() in ("postgresql", "postgres")


_OPS_INTEGERS = (
    ("ALWAYS_HOPE_MAX_QUERY_DEPTH", "max_query_depth"),
    ("ALWAYS_HOPE_MAX_QUERY_TOKENS", "max_query_tokens"),
    ("ALWAYS_HOPE_MAX_QUERY_ALIASES", "max_query_aliases"),
    ("ALWAYS_HOPE_MAX_QUERY_COST", "max_query_cost"),
    ("ALWAYS_HOPE_DEFAULT_LIST_SIZE", "default_list_size"),
    ("ALWAYS_HOPE_MAX_BODY_BYTES", "max_body_bytes"),
    ("ALWAYS_HOPE_STATEMENT_TIMEOUT_MS", "statement_timeout_ms"),
    ("ALWAYS_HOPE_JOBS_STATEMENT_TIMEOUT_MS", "jobs_statement_timeout_ms"),
    ("ALWAYS_HOPE_RATE_LIMIT_PRINCIPAL", "rate_limit_principal"),
    ("ALWAYS_HOPE_RATE_LIMIT_TENANT", "rate_limit_tenant"),
    ("ALWAYS_HOPE_GC_YOUNG_THRESHOLD", "gc_young_threshold"),
)


def _choice(env: Mapping[str, str], var: str, enum_cls: type[enum.StrEnum]) -> enum.StrEnum:
    try:
        return enum_cls(env[var].strip().lower())
    except ValueError:
        raise SettingsError(f"{var} must be one of {[e.value for e in enum_cls]}, not {env[var]!r}") from None


def _flag(env: Mapping[str, str], var: str) -> bool:
    value = env[var].strip().lower()
    if value in ("1", "true", "yes", "on"):
        return True
    if value in ("0", "false", "no", "off"):
        return False
    raise SettingsError(f"{var} must be true or false, not {env[var]!r}")


def _ops_from_env(env: Mapping[str, str]) -> dict[str, object]:
    """The operations settings (README "Operations"), kept apart from the core ones."""
    kwargs: dict[str, object] = {}
    if env.get("ALWAYS_HOPE_LOG_FORMAT"):
        kwargs["log_format"] = _choice(env, "ALWAYS_HOPE_LOG_FORMAT", LogFormat)
    if env.get("ALWAYS_HOPE_OTEL_EXPORTER"):
        kwargs["otel_exporter"] = _choice(env, "ALWAYS_HOPE_OTEL_EXPORTER", OtelExporter)
    if env.get("OTEL_EXPORTER_OTLP_ENDPOINT"):
        kwargs["otel_endpoint"] = env["OTEL_EXPORTER_OTLP_ENDPOINT"]
    if env.get("OTEL_SERVICE_NAME"):
        kwargs["otel_service_name"] = env["OTEL_SERVICE_NAME"]
    for var, name in (("ALWAYS_HOPE_METRICS_ENDPOINT", "metrics_endpoint"),
                      ("ALWAYS_HOPE_TRUSTED_DOCUMENTS", "trusted_documents"),
                      ("ALWAYS_HOPE_INTROSPECTION", "introspection"),
                      ("ALWAYS_HOPE_COMPILED_DOCUMENTS", "compiled_documents")):
        if env.get(var):
            kwargs[name] = _flag(env, var)
    if env.get("ALWAYS_HOPE_OPERATIONS_DIR"):
        kwargs["operations_dir"] = Path(env["ALWAYS_HOPE_OPERATIONS_DIR"]).expanduser()
    if env.get("ALWAYS_HOPE_CORS_ORIGINS"):
        origins = tuple(o.strip() for o in env["ALWAYS_HOPE_CORS_ORIGINS"].split(",") if o.strip())
        for origin in origins:
            if not (origin.startswith(("https://", "http://")) and "/" not in origin.split("://", 1)[1]):
                raise SettingsError("ALWAYS_HOPE_CORS_ORIGINS must be a comma-separated list of origins such as "
                                    f"https://app.example.org (scheme and host, no path), not {origin!r}")
        kwargs["cors_origins"] = origins
    return kwargs
