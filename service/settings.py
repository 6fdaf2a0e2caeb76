"""The one settings object. Read once from the environment at start-up; nothing else reads ``os.environ``."""

from __future__ import annotations

import enum
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import platformdirs


class Environment(enum.StrEnum):
    DEVELOPMENT = "development"
    PRODUCTION = "production"


class SettingsError(ValueError):
    """A setting is missing or malformed; the message names the variable."""


DEV_ISSUER = "https://always-hope.invalid/dev-issuer"
DEFAULT_AUDIENCE = "always-hope"


@dataclass(frozen=True, slots=True)
class Settings:
    environment: Environment = Environment.DEVELOPMENT
    # The server the service administers: its user creates roles and schemas (migrations, provisioning).
    # None means: start the embedded PostgreSQL in ``data_dir``.
    database_url: str | None = None
    # The NOINHERIT login role request traffic uses. Defaults to ``database_url`` with the user swapped for
    # ``app_role`` (trust or peer auth in development; set it explicitly with a password in production).
    app_database_url: str | None = None
    data_dir: Path = field(default_factory=lambda: Path(platformdirs.user_data_dir("always-hope")))
    # Prefix of every cluster-wide role the platform creates; lets several deployments (or test runs) share a server.
    role_prefix: str = "ah"
    auth_issuer: str = DEV_ISSUER
    auth_audience: str = DEFAULT_AUDIENCE
    auth_jwks_url: str | None = None
    pool_min_size: int = 1
    pool_max_size: int = 10
    log_level: str = "INFO"
    # Seconds between scheduled refreshes of the national reporting rollups (one tenant at a time); 0 turns it off.
    reporting_refresh_seconds: int = 900

    @property
    def development(self) -> bool:
        return self.environment is Environment.DEVELOPMENT

    @property
    def app_role(self) -> str:
        return f"{self.role_prefix}_app"

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
        if env.get("ALWAYS_HOPE_ROLE_PREFIX"):
            prefix = env["ALWAYS_HOPE_ROLE_PREFIX"]
            if not (prefix.isascii() and prefix.replace("_", "").isalnum() and prefix[0].isalpha() and len(prefix) <= 16
                    and prefix == prefix.lower()):
                raise SettingsError(
                    "ALWAYS_HOPE_ROLE_PREFIX must be 1-16 lower-case letters, digits or _, starting with a letter")
            kwargs["role_prefix"] = prefix
        for var, name in (("AUTH_ISSUER", "auth_issuer"), ("AUTH_AUDIENCE", "auth_audience"),
                          ("AUTH_JWKS_URL", "auth_jwks_url"), ("ALWAYS_HOPE_LOG_LEVEL", "log_level")):
            if env.get(var):
                kwargs[name] = env[var]
        for var, name in (("DATABASE_POOL_MIN", "pool_min_size"), ("DATABASE_POOL_MAX", "pool_max_size"),
                          ("ALWAYS_HOPE_REPORTING_REFRESH_SECONDS", "reporting_refresh_seconds")):
            if env.get(var):
                try:
                    kwargs[name] = int(env[var])
                except ValueError:
                    raise SettingsError(f"{var} must be a whole number, not {env[var]!r}") from None
        settings = cls(**kwargs)  # type: ignore[arg-type]
        settings.check()
        return settings

    def check(self) -> None:
        if self.reporting_refresh_seconds < 0:
            raise SettingsError("ALWAYS_HOPE_REPORTING_REFRESH_SECONDS must be 0 (off) or a number of seconds")
        if self.environment is Environment.PRODUCTION:
            if self.database_url is None:
                raise SettingsError("DATABASE_URL is required in production (the embedded server is for development)")
            if self.auth_issuer == DEV_ISSUER or self.auth_jwks_url is None:
                raise SettingsError("AUTH_ISSUER and AUTH_JWKS_URL are required in production")
