"""The audit trail records views and changes, and the application cannot rewrite it."""

from __future__ import annotations

import asyncpg
import pytest

from service.kernel.database import Database
from service.kernel.principal import Role, Service
from service.kernel.tenancy import tenant_transaction
from tests.conftest import CallerFactory, TenantFactory

CREATE = "mutation($i: CreateYoungAdultInput!) { createYoungAdult(input: $i) { youngAdult { id } errors { code } } }"
UPDATE = "mutation($i: UpdateYoungAdultInput!) { updateYoungAdult(input: $i) { youngAdult { id } errors { code } } }"
PAGE = "query($s: ID!) { youngAdults(siteId: $s, first: 10) { edges { node { id } } } }"


async def events(admin: asyncpg.Connection, schema: str) -> list[tuple[str, str, list[str], str]]:
    rows = await admin.fetch(f'SELECT action, actor_role, fields, subject_type FROM "{schema}".audit_event ORDER BY id')
    return [(r["action"], r["actor_role"], list(r["fields"]), r["subject_type"]) for r in rows]


async def test_changes_and_views_are_recorded_and_refusals_are_not(
        make_tenant: TenantFactory, login: CallerFactory, admin_conn: asyncpg.Connection) -> None:
    tenant = await make_tenant()
    pom = await login(Role.PRACTITIONER, tenant, service=Service.PRISON, sites=("BSI",))
    site = next(s["id"] for s in (await pom.data("{ sites { id code } }"))["sites"] if s["code"] == "BSI")
    person = {"siteId": site, "givenName": "Sam", "familyName": "Example-Audit", "dateOfBirth": "2003-01-02",
              "careStatus": "RELEVANT"}
    created = (await pom.data(CREATE, {"i": person}))["createYoungAdult"]["youngAdult"]
    refused = await pom.data(UPDATE, {"i": {"id": created["id"], "version": 7, "familyName": "Example-Nope"}})
    assert refused["updateYoungAdult"]["errors"][0]["code"] == "STALE_VERSION"
    await pom.data(UPDATE, {"i": {"id": created["id"], "version": 1, "familyName": "Example-Changed"}})
    await pom.data(PAGE, {"s": site})

    assert await events(admin_conn, tenant.schema) == [
        ("CREATE", "PRACTITIONER",
         ["care_status", "date_of_birth", "entitlement_end_age", "family_name", "given_name"], "YoungAdult"),
        ("CREATE", "PRACTITIONER", ["identified_on", "site_id"], "Enrolment"),
        ("ALTER", "PRACTITIONER", ["family_name"], "YoungAdult"),
        ("CONSULT", "PRACTITIONER", [], "YoungAdult"),
    ]


async def test_runtime_role_cannot_update_or_delete_audit_rows(db: Database, make_tenant: TenantFactory,
                                                               login: CallerFactory) -> None:
    tenant = await make_tenant()
    admin = await login(Role.TENANT_ADMIN, tenant)
    site = (await admin.data("{ sites { id } }"))["sites"][0]["id"]
    await admin.data(PAGE, {"s": site})
    await admin.data(CREATE, {"i": {"siteId": site, "givenName": "A", "familyName": "Example-B",
                                    "dateOfBirth": "2002-02-02", "careStatus": "ELIGIBLE"}})
    assert db.pool is not None
    for statement in ("UPDATE audit_event SET actor_subject = 'someone-else'", "DELETE FROM audit_event",
                      "TRUNCATE audit_event"):
        async with tenant_transaction(db.pool, tenant) as conn:
            assert await conn.fetchval("SELECT count(*) FROM audit_event") == 2  # the young adult, the enrolment
            with pytest.raises(asyncpg.InsufficientPrivilegeError):
                await conn.execute(statement)
