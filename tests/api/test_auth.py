"""Identity: every way a token can be wrong gets a 401 saying which; roles without case access see none."""

from __future__ import annotations

import time
import uuid

import asyncpg
import httpx
import pytest
from joserfc import jwt
from joserfc.jwk import ECKey

from service.app.auth import DevIssuer
from service.kernel.principal import Role, Service
from service.kernel.settings import Settings
from tenants import migrations
from tests.conftest import CallerFactory, TenantFactory

QUERY = {"query": "{ me { role } }"}


async def post(client: httpx.AsyncClient, authorization: str | None) -> httpx.Response:
    headers = {"Authorization": authorization} if authorization is not None else {}
    return await client.post("/graphql", json=QUERY, headers=headers)


async def test_missing_token(client: httpx.AsyncClient) -> None:
    response = await post(client, None)
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == "Bearer"
    assert response.json()["errors"][0]["message"].startswith("No token")


async def test_not_a_bearer_header(client: httpx.AsyncClient) -> None:
    response = await post(client, "Basic dXNlcjpwYXNz")
    assert response.status_code == 401
    assert "Bearer" in response.json()["errors"][0]["message"]


async def test_expired_token(client: httpx.AsyncClient, issuer: DevIssuer) -> None:
    response = await post(client, f"Bearer {issuer.issue('someone', None, ttl=-60)}")
    assert response.status_code == 401
    assert response.json()["errors"][0]["message"] == "The token has expired."


async def test_wrongly_signed_token(client: httpx.AsyncClient, issuer: DevIssuer, settings: Settings) -> None:
    assert issuer.key.kid is not None
    impostor = ECKey.generate_key("P-256", parameters={"kid": issuer.key.kid}, private=True)
    now = int(time.time())
    forged = jwt.encode({"alg": "ES256", "kid": issuer.key.kid},
                        {"iss": settings.auth_issuer, "aud": settings.auth_audience, "sub": "x", "exp": now + 60},
                        impostor)
    response = await post(client, f"Bearer {forged}")
    assert response.status_code == 401
    assert "signature" in response.json()["errors"][0]["message"]


async def test_wrong_audience(client: httpx.AsyncClient, issuer: DevIssuer, settings: Settings) -> None:
    now = int(time.time())
    token = jwt.encode({"alg": "ES256", "kid": issuer.key.kid},
                       {"iss": settings.auth_issuer, "aud": "someone-else", "sub": "x", "exp": now + 60}, issuer.key)
    response = await post(client, f"Bearer {token}")
    assert response.status_code == 401
    assert "audience" in response.json()["errors"][0]["message"]


async def test_garbage_token(client: httpx.AsyncClient) -> None:
    response = await post(client, "Bearer not.a.token")
    assert response.status_code == 401
    assert "malformed" in response.json()["errors"][0]["message"]


async def test_valid_token_without_a_grant_is_forbidden(client: httpx.AsyncClient, issuer: DevIssuer,
                                                        make_tenant: TenantFactory) -> None:
    tenant = await make_tenant()
    response = await post(client, f"Bearer {issuer.issue(f'nobody-{uuid.uuid4()}', tenant.slug)}")
    assert response.status_code == 403
    assert "No access" in response.json()["errors"][0]["message"]


async def test_grant_in_one_tenant_does_not_open_another(client: httpx.AsyncClient, issuer: DevIssuer,
                                                         make_tenant: TenantFactory, login: CallerFactory) -> None:
    a, b = await make_tenant("a"), await make_tenant("b")
    subject = f"admin-{uuid.uuid4()}"
    caller = await login(Role.TENANT_ADMIN, a, subject=subject)
    assert (await caller.data("{ me { tenant } }"))["me"]["tenant"] == a.slug
    response = await post(client, f"Bearer {issuer.issue(subject, b.slug)}")
    assert response.status_code == 403


CASE_QUERIES = [
    "{ sites { id } }",
    'query { youngAdults(siteId: "U2l0ZTowMDAwMDAwMC0wMDAwLTAwMDAtMDAwMC0wMDAwMDAwMDAwMDA=") { edges { cursor } } }',
    'query { node(id: "WW91bmdBZHVsdDowMDAwMDAwMC0wMDAwLTAwMDAtMDAwMC0wMDAwMDAwMDAwMDA=") { id } }',
]


@pytest.mark.parametrize("role", [Role.PLATFORM_ADMIN, Role.NATIONAL_ANALYST])
@pytest.mark.parametrize("query", CASE_QUERIES)
async def test_roles_without_case_access_read_no_case_data(login: CallerFactory, role: Role, query: str) -> None:
    caller = await login(role)
    body = await caller(query)
    assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    assert not any((body.get("data") or {}).values()), body


async def test_practitioner_cannot_create_tenants(make_tenant: TenantFactory, login: CallerFactory) -> None:
    tenant = await make_tenant()
    caller = await login(Role.TENANT_ADMIN, tenant)
    body = await caller('mutation { createTenant(input: {slug: "sneaky-one", name: "x", kind: REGION}) '
                        "{ tenant { slug } } }")
    assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    assert body["data"] is None


async def test_practitioner_needs_a_service(login: CallerFactory, make_tenant: TenantFactory) -> None:
    from service.kernel.errors import InvalidInput
    tenant = await make_tenant()
    with pytest.raises(InvalidInput, match="service"):
        await login(Role.PRACTITIONER, tenant)
    caller = await login(Role.PRACTITIONER, tenant, service=Service.PROBATION)
    assert (await caller.data("{ me { role service } }"))["me"] == {"role": "PRACTITIONER", "service": "PROBATION"}


async def test_readyz_reports_a_tenant_left_behind(client: httpx.AsyncClient, make_tenant: TenantFactory,
                                                   admin_conn: asyncpg.Connection) -> None:
    """What counts is the tenant's own version table; the registry's copy (schema_revision) may say otherwise."""
    tenant = await make_tenant()
    head = migrations.head("tenant")
    assert (await client.get("/readyz")).status_code == 200
    await admin_conn.execute(f'UPDATE "{tenant.schema}".alembic_version SET version_num = $1', "t0001")
    try:
        assert await admin_conn.fetchval("SELECT schema_revision FROM control.tenant WHERE id = $1", tenant.id) == head
        assert (await client.get("/readyz")).status_code == 503
    finally:
        await admin_conn.execute(f'UPDATE "{tenant.schema}".alembic_version SET version_num = $1', head)
    await admin_conn.execute("UPDATE control.tenant SET schema_revision = 't0001' WHERE id = $1", tenant.id)
    try:
        assert (await client.get("/readyz")).status_code == 200  # the schema is at the head, whatever the copy says
    finally:
        await admin_conn.execute("UPDATE control.tenant SET schema_revision = $2 WHERE id = $1", tenant.id, head)
