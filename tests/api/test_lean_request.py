"""Issue 13: the fixed cost of a request, and the guarantees it keeps. A compiled page costs the same round trips
whatever its size (counted); a token's signature is verified once per process, but its expiry and the caller's
grant are checked on every request; the rate limit taken in the grant lookup spends nothing for a refused caller;
a server with no connection free answers 503, not 500."""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
import time
import uuid
from typing import Any

import asyncpg
import httpx
import joserfc._rfc7519.claims
import pytest
from joserfc import jwt
from sqlalchemy import make_url

from service.api.errors import AuthError
from service.api.relay import to_global_id
from service.app.asgi import create_app
from service.app.auth import DevIssuer, TokenVerifier
from service.kernel.database import Database
from service.kernel.principal import Role, Service
from service.kernel.session import ControlReads, ControlSession, Home, RequestConnection, TenantSession
from service.kernel.settings import Settings
from tests.api.test_compiled import CASELOAD, seed
from tests.conftest import CallerFactory, ClientFactory, TenantFactory
from tests.messages import count_messages


async def test_a_compiled_page_costs_the_same_round_trips_whatever_its_size(
        make_tenant: TenantFactory, login: CallerFactory, admin_conn: asyncpg.Connection, db: Database,
        client: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch) -> None:
    """Every message the request pool's connections send to the server, counted: the grant lookup, BEGIN with the
    tenant's role, the page (the caller's scope worked out and its audit INSERT inside), COMMIT with the pool's
    reset. Giving the connection back sends nothing more."""
    tenant = await make_tenant()
    await seed(admin_conn, tenant.schema, "BSI", 12)
    site = to_global_id("Site", await admin_conn.fetchval(f'SELECT id FROM "{tenant.schema}".site WHERE code = $1',
                                                          "BSI"))
    pom = await login(Role.PRACTITIONER, tenant, service=Service.PRISON, sites=("BSI",))
    sent = count_messages(monkeypatch)
    answers = []
    for first in (2, 12, 2):  # the first request prepares its statements; the next ones reuse them
        sent.clear()
        body = {"query": CASELOAD, "variables": {"siteId": site, "first": first}}
        response = await client.post("/graphql", json=body, headers={"Authorization": f"Bearer {pom.token}"})
        assert response.headers["x-executed-by"] == "compiled"
        assert len(response.json()["data"]["caseload"]["edges"]) == first
        answers.append(list(sent))
    assert answers[1] == answers[2] == ["SELECT", "BEGIN;", "WITH", "COMMIT;"]
    assert db.pool is not None
    assert db.pool.get_idle_size() == db.pool.get_size()  # the connection went back to the pool
    audit = await admin_conn.fetchval(f'SELECT count(*) FROM "{tenant.schema}".audit_event '
                                      "WHERE actor_subject = (SELECT actor_subject FROM "
                                      f'"{tenant.schema}".audit_event ORDER BY id DESC LIMIT 1)')
    assert audit > 0  # the page was audited, in the transaction that COMMIT ended


async def test_the_session_is_reset_when_the_connection_goes_back(make_tenant: TenantFactory,
                                                                   db: Database) -> None:
    """The reset that travels with COMMIT (or ROLLBACK) does what the pool's own would: a session-level setting
    made in a request's transaction does not reach the next user of the connection, nor does its role."""
    tenant = await make_tenant()
    pool = await db.open_pool()
    assert pool.get_size() == 1  # the tests' pool: the next acquire gets the same connection
    for commit in (True, False):
        connection = RequestConnection(pool, Home.tenant(tenant))
        statements = TenantSession(connection, tenant, dt.date(2026, 1, 1))
        assert await statements.fetchval("SELECT current_user") == tenant.runtime_role
        await statements.fetchval("SELECT set_config('application_name', 'left-behind', false)")
        await connection.finish(commit=commit)
        async with pool.acquire() as conn:
            assert await conn.fetchval("SELECT current_setting('application_name')") != "left-behind"
            assert await conn.fetchval("SELECT current_user") == db.settings.app_role
            assert not conn.is_in_transaction()


async def test_a_control_read_runs_before_the_transaction_once_and_inside_it_after(
        make_tenant: TenantFactory, db: Database, monkeypatch: pytest.MonkeyPatch) -> None:
    """ControlReads: before the transaction begins, one message on the request's connection, outside any
    transaction, as the login role; once it has begun, inside it (so it sees what the request wrote there), and the
    tenant's role is back for the next tenant statement. The tenant's role itself still cannot read the control
    plane, and nothing but a read is sent from outside the transaction."""
    tenant = await make_tenant()
    pool = await db.open_pool()
    connection = RequestConnection(pool, Home.tenant(tenant))
    reads, tenant_side = ControlReads(connection), TenantSession(connection, tenant, dt.date(2026, 1, 1))
    sent = count_messages(monkeypatch)
    try:
        assert await reads.fetchval("SELECT current_user") == db.settings.app_role
        assert sent == ["SELECT"]  # no BEGIN, no role switch
        assert not connection.opened
        with pytest.raises(ValueError, match="Only a read"):
            await reads.fetchval("WITH x AS (DELETE FROM control.rule_change RETURNING 1) SELECT count(*) FROM x")
        assert sent == ["SELECT"]  # refused before anything was sent
        with pytest.raises(asyncpg.InsufficientPrivilegeError):
            await tenant_side.fetchval("SELECT count(*) FROM control.rule_change")
    finally:
        await connection.finish(commit=False)
    connection = RequestConnection(pool, Home.tenant(tenant))
    reads, tenant_side = ControlReads(connection), TenantSession(connection, tenant, dt.date(2026, 1, 1))
    count = "SELECT current_user AS who, (SELECT count(*) FROM control.rule_change WHERE tenant_id = $1) AS changes"
    try:
        before = await reads.fetchrow(count, tenant.id)
        assert before is not None
        assert not connection.opened
        assert await tenant_side.fetchval("SELECT current_user") == tenant.runtime_role
        await ControlSession(connection).fetchval(
            "INSERT INTO control.rule_change (batch_id, tenant_id, rule, value, effective_from, author_subject, "
            "reason) VALUES (gen_random_uuid(), $1, 'coordinator_caseload_cap', '12', DATE '2026-01-01', 'test', "
            "'test') RETURNING 1", tenant.id)
        inside = await reads.fetchrow(count, tenant.id)
        assert inside is not None
        assert (inside["who"], inside["changes"]) == (db.settings.app_role, before["changes"] + 1)
        assert await tenant_side.fetchval("SELECT current_user") == tenant.runtime_role
    finally:
        await connection.finish(commit=False)


async def test_a_setting_for_the_transaction_travels_with_begin_or_is_set_on_its_own(
        make_tenant: TenantFactory, db: Database, monkeypatch: pytest.MonkeyPatch) -> None:
    """RequestConnection.set_local: before the transaction, sent with BEGIN (no message of its own) when name and
    value are plain, else set with parameters after BEGIN; once the transaction has begun, a statement now. Either
    way it ends with the transaction."""
    tenant = await make_tenant()
    pool = await db.open_pool()
    sent = count_messages(monkeypatch)
    for value, messages in (("force_generic_plan", ["BEGIN;", "SELECT"]),
                            ("force_custom_plan'; --", None)):  # not plain: refused by the server, as a parameter
        sent.clear()
        connection = RequestConnection(pool, Home.tenant(tenant))
        statements = TenantSession(connection, tenant, dt.date(2026, 1, 1))
        try:
            await connection.set_local("plan_cache_mode", value)
            if messages is None:
                with pytest.raises(asyncpg.InvalidParameterValueError):
                    await statements.fetchval("SELECT current_setting('plan_cache_mode')")
                assert sent[:3] == ["BEGIN", "SELECT", "SELECT"]  # BEGIN, the role, the setting (which failed)
                continue
            assert await statements.fetchval("SELECT current_setting('plan_cache_mode')") == value
            assert sent == messages
            await connection.set_local("plan_cache_mode", "force_custom_plan")
            assert await statements.fetchval("SELECT current_setting('plan_cache_mode')") == "force_custom_plan"
        finally:
            await connection.finish(commit=False)
    async with pool.acquire() as conn:
        assert await conn.fetchval("SELECT current_setting('plan_cache_mode')") == "auto"


async def test_a_token_is_verified_once_and_its_expiry_still_holds(
        settings: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    now = int(time.time())
    clock = [now]
    monkeypatch.setattr(joserfc._rfc7519.claims, "_generate_now", lambda: clock[0])
    issuer = DevIssuer(settings)
    verifier = TokenVerifier(settings, issuer.keyset())
    decoded: list[str] = []
    original = jwt.decode

    def counting(token: str, *args: Any, **kwargs: Any) -> Any:
        decoded.append(token)
        return original(token, *args, **kwargs)

    monkeypatch.setattr(jwt, "decode", counting)
    token = issuer.issue("verified-once", None, ttl=600)
    first = await verifier.verify(token)
    assert await verifier.verify(token) == first
    assert decoded == [token]  # the signature was checked once
    first["sub"] = "someone-else"  # a caller changing its copy changes nothing kept
    assert (await verifier.verify(token))["sub"] == "verified-once"
    clock[0] = now + 601
    with pytest.raises(AuthError, match=r"^The token has expired\.$"):
        await verifier.verify(token)
    forged = token[:-4] + ("AAAA" if not token.endswith("AAAA") else "BBBB")
    with pytest.raises(AuthError, match=r"signature|malformed"):
        await verifier.verify(forged)  # another token, however like a verified one, is verified on its own


async def test_a_revoked_grant_is_refused_on_the_next_request_with_a_verified_token(
        make_tenant: TenantFactory, login: CallerFactory, admin_conn: asyncpg.Connection) -> None:
    tenant = await make_tenant()
    subject = f"revoked-{uuid.uuid4().hex[:8]}"
    pom = await login(Role.PRACTITIONER, tenant, service=Service.PRISON, sites=("BSI",), subject=subject)
    admin = await login(Role.TENANT_ADMIN, tenant)
    assert "errors" not in await pom.data("{ me { subject } }")  # the token is now verified and kept
    revoked = await admin.data("mutation($s: String!) { revokeRole(input: {subject: $s}) { outcome } }",
                               {"s": subject})
    assert revoked["revokeRole"]["outcome"] == "UPDATED"
    response = await pom.post("{ me { subject } }")
    assert response.status_code == 403
    assert response.json()["errors"][0]["message"] == "No access has been granted to this user here."


async def test_a_caller_refused_for_want_of_a_grant_spends_no_rate_limit(
        client_with: ClientFactory, make_tenant: TenantFactory, login: CallerFactory, issuer: DevIssuer) -> None:
    client = await client_with(rate_limit_principal=2, rate_limit_tenant=3)
    tenant = await make_tenant()
    subject = f"later-{uuid.uuid4().hex[:8]}"
    headers = {"Authorization": f"Bearer {issuer.issue(subject, tenant.slug)}"}
    query = {"query": "{ me { subject } }"}
    assert [(await client.post("/graphql", json=query, headers=headers)).status_code for _ in range(4)] == [403] * 4
    await login(Role.PRACTITIONER, tenant, service=Service.PRISON, sites=("BSI",), subject=subject)
    codes = [(await client.post("/graphql", json=query, headers=headers)).status_code for _ in range(3)]
    assert codes == [200, 200, 429]  # the user's two, untouched by the refusals; the tenant's three likewise
    other = await login(Role.TENANT_ADMIN, tenant)
    other_codes = [(await client.post("/graphql", json=query, headers={"Authorization": f"Bearer {other.token}"}))
                   .status_code for _ in range(2)]
    assert other_codes == [200, 429]  # the tenant's bucket: 2 taken above, the third here, then refused


async def test_a_server_with_no_connection_free_answers_unavailable_not_internal(
        admin_conn: asyncpg.Connection, settings: Settings, issuer: DevIssuer) -> None:
    """A full server (max_connections, or the role's connection limit: both SQLSTATE 53300) is the database being
    unavailable: 503 with Retry-After, as for a lost server, never an unexpected 500."""
    role = f"{settings.role_prefix}_no_slots"
    await admin_conn.execute(f'CREATE ROLE "{role}" LOGIN CONNECTION LIMIT 0')
    url = make_url(settings.database_url or "").set(drivername="postgresql", username=role, password=None)
    full = Database.connect(dataclasses.replace(settings, app_database_url=url.render_as_string(False)))
    try:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=create_app(full)),
                                     base_url="http://test") as client:  # the pool opens on the first request
            response = await client.post("/graphql", json={"query": "{ me { subject } }"},
                                         headers={"Authorization": f"Bearer {issuer.issue('anyone', None)}"})
    finally:
        await full.close()
    assert response.status_code == 503
    assert response.headers["retry-after"]
    assert response.json()["errors"][0]["extensions"]["code"] == "UNAVAILABLE"


async def test_requests_that_arrive_before_the_pool_exists_share_one_pool(settings: Settings) -> None:
    fresh = Database.connect(settings)
    try:
        pools = await asyncio.gather(*(fresh.open_pool() for _ in range(16)))
        assert all(pool is pools[0] for pool in pools)
    finally:
        await fresh.close()
