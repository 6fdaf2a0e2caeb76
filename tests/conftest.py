"""Test fixtures: real PostgreSQL, migrated once, a fresh tenant (schema and roles) for each test that needs one.

Where the server comes from: ``DATABASE_URL`` when set (a superuser on a server we may create databases in), else
the embedded PostgreSQL in a temporary directory. Either way the run gets its own database and its own role
prefix, and removes both at the end, so runs on one server never see each other.
"""

from __future__ import annotations

import dataclasses
import os
import secrets
import shutil
import tempfile
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from datetime import date
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest
from sqlalchemy import make_url

from service.app.asgi import create_app
from service.app.auth import DevIssuer
from service.kernel import clock
from service.kernel.database import Database
from service.kernel.embedded import EmbeddedPostgres
from service.kernel.principal import Role, Service
from service.kernel.settings import Settings
from service.kernel.tenancy import Tenant
from service.platform.grants import grant
from tenants.provisioning import NewTenant, create_tenant
from tenants.runner import migrate

RUN = secrets.token_hex(3)
# The programme's day when the run began, read before any test module computes dates of its own from it.
RUN_DAY = clock.today()


@pytest.fixture(autouse=True, scope="session")
def one_day_per_run() -> Iterator[None]:
    """One day for the whole run: the dates tests expect (often computed when their module is imported) and the
    service's "today" agree even when a run crosses midnight. Tests that move the day patch clock.today themselves."""
    real = clock.today

    def today(zone: str = clock.DEFAULT_ZONE) -> date:
        return RUN_DAY if zone == clock.DEFAULT_ZONE else real(zone)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(clock, "today", today)
        yield
pytest_plugins = ["tests.browser"]  # the browser tests' `served` fixture


@pytest.fixture(scope="session")
def data_dir() -> Iterator[Path]:
    path = Path(tempfile.mkdtemp(prefix="always-hope-tests-"))
    yield path
    shutil.rmtree(path, ignore_errors=True)


@pytest.fixture(scope="session")
def server_url(data_dir: Path) -> Iterator[str]:
    """A superuser URL on the server the tests use."""
    url = os.environ.get("DATABASE_URL")
    if url:
        yield url
        return
    embedded = EmbeddedPostgres(data_dir)
    yield embedded.start()
    embedded.stop()


@pytest.fixture(scope="session")
async def settings(server_url: str, data_dir: Path) -> AsyncIterator[Settings]:
    """Settings pointing at a fresh database of this run, with a role prefix of this run."""
    name = f"always_hope_test_{RUN}"
    admin = await asyncpg.connect(make_url(server_url).set(drivername="postgresql").render_as_string(False))
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()
    test_url = make_url(server_url).set(database=name).render_as_string(hide_password=False)
    prefix = f"aht{RUN}"
    # Rate limits off for the shared client (a test may send many requests as one user); tests/test_http.py turns
    # them on where it tests them.
    # The request pool has one connection: a request never needs a second (issue 12), so the whole suite proves it.
    yield Settings(database_url=test_url, data_dir=data_dir, role_prefix=prefix, rate_limit_principal=0,
                   rate_limit_tenant=0, pool_min_size=1, pool_max_size=1)
    admin = await asyncpg.connect(make_url(server_url).set(drivername="postgresql").render_as_string(False))
    try:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        for (role,) in await admin.fetch("SELECT rolname FROM pg_roles WHERE rolname LIKE $1", f"{prefix}\\_%"):
            await admin.execute(f'DROP ROLE IF EXISTS "{role}"')
    finally:
        await admin.close()


@pytest.fixture(scope="session")
async def db(settings: Settings) -> AsyncIterator[Database]:
    database = Database.connect(settings)
    await migrate(database)
    await database.open_pool()
    yield database
    await database.close()


@pytest.fixture(scope="session")
async def admin_conn(db: Database) -> AsyncIterator[asyncpg.Connection]:
    """A superuser connection for looking behind the service's back (catalog checks, raw setup)."""
    conn = await asyncpg.connect(make_url(db.admin_url).set(drivername="postgresql").render_as_string(False))
    yield conn
    await conn.close()


@pytest.fixture(scope="session")
def issuer(settings: Settings) -> DevIssuer:
    return DevIssuer(settings)


TenantFactory = Callable[..., Awaitable[Tenant]]


@pytest.fixture
def make_tenant(db: Database) -> TenantFactory:
    """Provision a tenant with a unique slug, with the given sites (code, name, kind)."""
    async def make(prefix: str = "t", kind: str = "REGION",
                   sites: tuple[tuple[str, str, str], ...] = (("BSI", "HMP Brinsford", "PRISON"),
                                                               ("BRM-LC", "Birmingham leaving care", "LEAVING_CARE"))
                   ) -> Tenant:
        slug = f"{prefix}-{secrets.token_hex(4)}"
        tenant = await create_tenant(db.engine, NewTenant(slug, f"Test {slug}", kind),
                                     role_prefix=db.settings.role_prefix, app_role=db.settings.app_role)
        conn = await asyncpg.connect(make_url(db.admin_url).set(drivername="postgresql").render_as_string(False))
        try:
            await conn.executemany(f'INSERT INTO "{tenant.schema}".site (code, name, kind) VALUES ($1, $2, $3)',
                                   list(sites))
        finally:
            await conn.close()
        return tenant
    return make


@pytest.fixture(scope="session")
async def client(db: Database) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(db)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as c:
        yield c


ClientFactory = Callable[..., Awaitable[httpx.AsyncClient]]


@pytest.fixture
async def client_with(db: Database) -> AsyncIterator[ClientFactory]:
    """A client of an app built with some settings changed (limits, trusted documents…), on the same database."""
    made: list[tuple[Database, httpx.AsyncClient]] = []

    async def make(**overrides: Any) -> httpx.AsyncClient:
        other = Database.connect(dataclasses.replace(db.settings, **overrides))
        await other.open_pool()
        c = httpx.AsyncClient(transport=httpx.ASGITransport(app=create_app(other)), base_url="http://test")
        made.append((other, c))
        return c

    yield make
    for other, c in made:
        await c.aclose()
        await other.close()


class Caller:
    """A signed-in user: posts GraphQL as them, returns the decoded JSON body."""

    def __init__(self, client: httpx.AsyncClient, token: str) -> None:
        self.client = client
        self.token = token

    async def post(self, query: str, variables: dict[str, Any] | None = None) -> httpx.Response:
        return await self.client.post("/graphql", json={"query": query, "variables": variables or {}},
                                      headers={"Authorization": f"Bearer {self.token}"})

    async def __call__(self, query: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
        response = await self.post(query, variables)
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body

    async def data(self, query: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
        body = await self(query, variables)
        assert "errors" not in body, body["errors"]
        data: dict[str, Any] = body["data"]
        return data


CallerFactory = Callable[..., Awaitable[Caller]]


@pytest.fixture
def login(db: Database, client: httpx.AsyncClient, issuer: DevIssuer) -> CallerFactory:
    async def make(role: Role, tenant: Tenant | None = None, *, service: Service | None = None,
                   sites: tuple[str, ...] = (), subject: str | None = None) -> Caller:
        subject = subject or f"user-{secrets.token_hex(4)}"
        await grant(db.engine, subject=subject, role=role, tenant_slug=tenant.slug if tenant else None,
                    service=service, site_codes=sites)
        return Caller(client, issuer.issue(subject, tenant.slug if tenant else None))
    return make
