"""HTTP hardening, hit: body size, security headers, CORS, rate limits with Retry-After, the statement timeout."""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
import secrets
from collections.abc import AsyncIterator

import asyncpg
import httpx
import pytest

from service.app import auth, ratelimit
from service.app.ratelimit import RateLimiter, Refusal
from service.kernel.database import Database
from service.kernel.principal import Role, Service
from service.kernel.settings import Environment
from service.reporting.routes import DASHBOARD_HEADERS
from tests.conftest import CallerFactory, ClientFactory, TenantFactory


async def test_a_body_over_the_limit_gets_413(client_with: ClientFactory) -> None:
    client = await client_with(max_body_bytes=1000)
    big = {"query": "{ sites { code } }", "variables": {"padding": "x" * 2000}}
    response = await client.post("/graphql", json=big)
    assert response.status_code == 413
    assert response.json()["errors"][0] == {
        "message": "The request body is larger than the limit of 1000 bytes.",
        "extensions": {"code": "PAYLOAD_TOO_LARGE"}}

    async def chunks() -> AsyncIterator[bytes]:  # no Content-Length: the limit is counted as the body arrives
        for _ in range(5):
            yield b"x" * 300

    streamed = await client.post("/graphql", content=chunks(), headers={"Content-Type": "application/json"})
    assert streamed.status_code == 413
    small = await client.post("/graphql", json={"query": "{ sites { code } }"})
    assert small.status_code == 401  # under the limit it goes on to authentication


async def test_security_headers_in_development_and_production(client: httpx.AsyncClient,
                                                              client_with: ClientFactory) -> None:
    dev = await client.get("/healthz")
    assert dev.headers["x-content-type-options"] == "nosniff"
    assert dev.headers["referrer-policy"] == "no-referrer"
    assert dev.headers["x-frame-options"] == "DENY"
    assert dev.headers["cache-control"] == "no-store"
    # The console and the dashboard load only their own files: nothing from another origin, no inline script.
    assert "https:" not in dev.headers["content-security-policy"]
    assert "unsafe-inline" not in dev.headers["content-security-policy"]
    assert "strict-transport-security" not in dev.headers

    production = await client_with(environment=Environment.PRODUCTION, trusted_documents=False)
    prod = await production.get("/healthz")
    assert prod.headers["content-security-policy"].startswith("default-src 'none'")
    assert "unpkg" not in prod.headers["content-security-policy"]
    assert prod.headers["strict-transport-security"].startswith("max-age=")
    ide = await production.get("/graphql", headers={"Accept": "text/html"})
    assert ide.status_code == 405  # no console in production
    # A header the endpoint set itself is kept, not replaced nor doubled: the dashboard's policy lets it load its
    # own files, which the service's production policy would refuse.
    dashboard = await production.get("/dashboard")
    assert dashboard.headers.get_list("content-security-policy") == [
        DASHBOARD_HEADERS["Content-Security-Policy"]]
    assert dashboard.headers.get_list("cache-control") == ["no-store"]
    assert dashboard.headers["x-frame-options"] == "DENY"
    assert (await production.get("/console")).status_code == 404


async def test_cors_allows_only_configured_origins(client: httpx.AsyncClient, client_with: ClientFactory) -> None:
    preflight = {"Access-Control-Request-Method": "POST",
                 "Access-Control-Request-Headers": "authorization,content-type"}
    closed = await client.options("/graphql", headers={"Origin": "https://app.example.org", **preflight})
    assert "access-control-allow-origin" not in closed.headers

    client = await client_with(cors_origins=("https://app.example.org",))
    allowed = await client.options("/graphql", headers={"Origin": "https://app.example.org", **preflight})
    assert allowed.status_code == 200
    assert allowed.headers["access-control-allow-origin"] == "https://app.example.org"
    assert "authorization" in allowed.headers["access-control-allow-headers"].lower()
    other = await client.options("/graphql", headers={"Origin": "https://evil.example.com", **preflight})
    assert other.status_code == 400
    assert "access-control-allow-origin" not in other.headers
    simple = await client.get("/healthz", headers={"Origin": "https://app.example.org"})
    assert "x-request-id" in simple.headers["access-control-expose-headers"].lower()


async def test_rate_limit_per_user_answers_429_with_retry_after(client_with: ClientFactory,
                                                                make_tenant: TenantFactory,
                                                                login: CallerFactory) -> None:
    client = await client_with(rate_limit_principal=3, rate_limit_tenant=0)
    tenant = await make_tenant()
    first = await login(Role.TENANT_ADMIN, tenant)
    second = await login(Role.TENANT_ADMIN, tenant)
    headers = {"Authorization": f"Bearer {first.token}"}
    codes = [(await client.post("/graphql", json={"query": "{ sites { code } }"}, headers=headers)).status_code
             for _ in range(3)]
    assert codes == [200, 200, 200]
    refused = await client.post("/graphql", json={"query": "{ sites { code } }"}, headers=headers)
    assert refused.status_code == 429
    assert int(refused.headers["retry-after"]) >= 1
    assert refused.json()["errors"][0]["extensions"]["code"] == "RATE_LIMITED"
    assert "Too many requests from your account" in refused.json()["errors"][0]["message"]
    other = await client.post("/graphql", json={"query": "{ sites { code } }"},
                              headers={"Authorization": f"Bearer {second.token}"})
    assert other.status_code == 200  # another user of the same tenant is not affected


async def test_rate_limit_per_tenant_covers_all_its_users(client_with: ClientFactory, make_tenant: TenantFactory,
                                                          login: CallerFactory) -> None:
    client = await client_with(rate_limit_principal=0, rate_limit_tenant=4)
    busy, quiet = await make_tenant(), await make_tenant()
    users = [await login(Role.PRACTITIONER, busy, service=Service.PRISON, sites=("BSI",)) for _ in range(5)]
    codes = [(await client.post("/graphql", json={"query": "{ sites { code } }"},
                                headers={"Authorization": f"Bearer {u.token}"})).status_code for u in users]
    assert codes == [200, 200, 200, 200, 429]
    outsider = await login(Role.TENANT_ADMIN, quiet)
    assert (await client.post("/graphql", json={"query": "{ sites { code } }"},
                              headers={"Authorization": f"Bearer {outsider.token}"})).status_code == 200


async def test_token_bucket_refills_at_the_steady_rate(db: Database) -> None:
    assert db.pool is not None
    start = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    subject = f"refill-{secrets.token_hex(4)}"

    def at(seconds: float) -> dt.datetime:
        return start + dt.timedelta(seconds=seconds)

    async with db.pool.acquire() as conn:
        per_second = RateLimiter(60, 0)  # one a second, bursts of 60
        assert [await per_second.check(conn, subject, "t", at=at(0)) for _ in range(60)] == [None] * 60
        assert await per_second.check(conn, subject, "t", at=at(0)) == Refusal("user", 1)
        assert await per_second.check(conn, subject, "t", at=at(1)) is None
        assert await per_second.check(conn, subject, "t", at=at(1.5)) is not None
        assert await per_second.check(conn, subject, "t", at=at(2)) is None
        slow = RateLimiter(2, 0)
        assert await slow.check(conn, subject, "slow", at=at(0)) is None
        assert await slow.check(conn, subject, "slow", at=at(0)) is None
        assert await slow.check(conn, subject, "slow", at=at(0)) == Refusal("user", 30)
        # The tenant's limit refuses without using up the user's allowance.
        both = RateLimiter(3, 1)
        assert await both.check(conn, subject, "both", at=at(0)) is None
        assert await both.check(conn, subject, "both", at=at(0)) == Refusal("tenant", 60)
        assert await both.check(conn, subject, "both", at=at(60)) is None
        assert await both.check(conn, subject, "both", at=at(120)) is None
        assert await RateLimiter(0, 0).check(conn, subject, "off", at=at(0)) is None


async def test_statement_timeout_ends_a_slow_request_with_a_clear_error(
        client_with: ClientFactory, make_tenant: TenantFactory, login: CallerFactory,
        admin_conn: asyncpg.Connection) -> None:
    client = await client_with(statement_timeout_ms=300)
    tenant = await make_tenant()
    caller = await login(Role.TENANT_ADMIN, tenant)
    # Waiting for a lock counts towards statement_timeout: hold one so the request's SELECT cannot finish.
    holder = admin_conn
    async with holder.transaction():
        await holder.execute(f'LOCK TABLE "{tenant.schema}".site IN ACCESS EXCLUSIVE MODE')
        response = await asyncio.wait_for(client.post(
            "/graphql", json={"query": "{ sites { code } }"}, headers={"Authorization": f"Bearer {caller.token}"}),
            timeout=30)
    body = response.json()
    assert body["errors"][0]["extensions"] == {"code": "TIMEOUT"}
    assert "statement timeout" in body["errors"][0]["message"]
    after = await client.post("/graphql", json={"query": "{ sites { code } }"},
                              headers={"Authorization": f"Bearer {caller.token}"})
    assert "errors" not in after.json()  # the connection went back to the pool in good order


async def test_background_work_has_its_own_statement_timeout(db: Database) -> None:
    """The jobs pool (the reporting refresh and publication, transfers' hand-off) is bounded by its own, longer
    timeout: publishing one metric at 1,000 tenants ran past request traffic's 5 s under load, and failed."""
    settings = dataclasses.replace(db.settings, statement_timeout_ms=100, jobs_statement_timeout_ms=5000)
    database = Database.connect(settings)
    try:
        async with (await database.open_pool()).acquire() as conn:
            with pytest.raises(asyncpg.QueryCanceledError):
                await conn.execute("SELECT pg_sleep(0.5)")
        async with (await database.open_jobs_pool()).acquire() as conn:
            await conn.execute("SELECT pg_sleep(0.5)")
            assert await conn.fetchval("SHOW statement_timeout") == "5s"
    finally:
        await database.close_pools()


def test_the_grant_lookup_places_the_rules_day_after_every_rate_limit_argument() -> None:
    """The grant lookup's text numbers its parameters from ratelimit.TAKE_ARGUMENTS: it must be what
    RateLimiter.arguments gives, for every mix of limits, and the rules' day the parameter after them."""
    for per_user, per_tenant in ((1, 1), (1, 0), (0, 1)):
        arguments = RateLimiter(per_user, per_tenant).arguments("someone", "a-tenant")
        assert len(arguments) == ratelimit.TAKE_ARGUMENTS
    sql = auth._grant_sql(True, True)
    assert f"${2 + ratelimit.TAKE_ARGUMENTS}::timestamptz" in sql
    assert f"${3 + ratelimit.TAKE_ARGUMENTS}::date" in sql
    assert f"${3 + ratelimit.TAKE_ARGUMENTS}" not in auth._grant_sql(True, False)
    assert "$3::date" in auth._grant_sql(False, True)
