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
    # Where the issuer's signing keys are. Unset in production: discovered from the issuer's OIDC metadata.
    auth_jwks_url: str | None = None
    # A CA bundle for reaching the identity provider (an internal IdP with a private CA); system CAs otherwise.
    auth_ca_bundle: Path | None = None
    pool_min_size: int = 1
    pool_max_size: int = 10
    log_level: str = "INFO"

    @property
    def development(self) -> bool:
        return self.environment is Environment.DEVELOPMENT

    @property
    def app_role(self) -> str:
        return f"{self.role_prefix}_app"

    @property
    def uses_dev_issuer(self) -> bool:
        return self.auth_issuer == DEV_ISSUER and self.auth_jwks_url is None

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
        for var, name in (("AUTH_ISSUER", "auth_issuer"), ("AUTH_AUDIENCE", "auth_audience"),
                          ("AUTH_JWKS_URL", "auth_jwks_url"), ("ALWAYS_HOPE_LOG_LEVEL", "log_level")):
            if env.get(var):
                kwargs[name] = env[var]
        for var, name in (("DATABASE_POOL_MIN", "pool_min_size"), ("DATABASE_POOL_MAX", "pool_max_size")):
            if env.get(var):
                try:
                    kwargs[name] = int(env[var])
                except ValueError:
                    raise SettingsError(f"{var} must be a whole number, not {env[var]!r}") from None
        settings = cls(**kwargs)  # type: ignore[arg-type]
        settings.check()
        return settings

    def check(self) -> None:
        if self.environment is Environment.PRODUCTION:
            if self.database_url is None:
                raise SettingsError("DATABASE_URL is required in production (the embedded server is for development)")
            if self.auth_issuer == DEV_ISSUER:
                raise SettingsError("AUTH_ISSUER is required in production (the development issuer is refused)")
        if self.auth_ca_bundle is not None and not self.auth_ca_bundle.is_file():
            raise SettingsError("AUTH_CA_BUNDLE must name a readable file of CA certificates")
