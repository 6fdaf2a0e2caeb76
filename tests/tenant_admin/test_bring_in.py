"""Bringing a practitioner in: the grant (control plane) and the practitioner record (tenant) together, idempotent on
both sides, never half done; `tenantUsers` shows where each person's set-up stands (issue 15)."""

from __future__ import annotations

import secrets
from typing import Any

import asyncpg

from service.kernel.principal import Role, Service
from tests.conftest import CallerFactory, TenantFactory
from tests.operations import Operations

ops = Operations()


def staff(subject: str, **extra: Any) -> dict[str, Any]:
    return {"subject": subject, "givenName": "Sam", "familyName": "Example-Staff", "service": "LEAVING_CARE",
            "role": "PERSONAL_ADVISER", "siteCodes": ["BRM-LC"], **extra}


async def users(caller: Any) -> dict[str, dict[str, Any]]:
    return {u["subject"]: u for u in (await ops.data(caller, "TenantUsers"))["tenantUsers"]}


async def linked_records(admin_conn: asyncpg.Connection, schema: str, subject: str) -> int:
    count: int = await admin_conn.fetchval(f'SELECT count(*) FROM "{schema}".practitioner WHERE subject = $1',
                                           subject)
    return count


async def test_one_step_brings_a_practitioner_in_and_repeats_safely(
        make_tenant: TenantFactory, login: CallerFactory, admin_conn: asyncpg.Connection) -> None:
    tenant = await make_tenant()
    admin = await login(Role.TENANT_ADMIN, tenant)
    subject = f"pa-{secrets.token_hex(4)}"

    first = await ops.ok(admin, "BringInPractitioner", staff(subject))
    assert (first["grantOutcome"], first["practitionerOutcome"]) == ("CREATED", "CREATED")
    assert first["user"]["setup"] == "READY"
    assert first["user"]["practitioner"]["role"] == "PERSONAL_ADVISER"
    again = await ops.ok(admin, "BringInPractitioner", staff(subject))
    assert (again["grantOutcome"], again["practitionerOutcome"]) == ("ALREADY_DONE", "ALREADY_DONE")
    assert again["user"]["practitioner"]["id"] == first["user"]["practitioner"]["id"]
    wider = await ops.ok(admin, "BringInPractitioner", staff(subject, siteCodes=["BRM-LC", "BSI"]))
    assert (wider["grantOutcome"], wider["practitionerOutcome"]) == ("UPDATED", "UPDATED")
    assert wider["user"]["siteCodes"] == ["BRM-LC", "BSI"]
    assert await linked_records(admin_conn, tenant.schema, subject) == 1

    # Their record is linked to their login, so they are "me" on a team: their own view finds them at the site.
    pa = await login(Role.PRACTITIONER, tenant, service=Service.LEAVING_CARE, sites=("BRM-LC",), subject=subject)
    at_site = await pa.data("{ sites { code practitioners { id } } }")
    assert {"id": first["user"]["practitioner"]["id"]} in \
        next(s for s in at_site["sites"] if s["code"] == "BRM-LC")["practitioners"]


async def test_tenant_users_shows_each_persons_state_and_bringing_in_completes_it(
        make_tenant: TenantFactory, login: CallerFactory) -> None:
    tenant = await make_tenant()
    admin = await login(Role.TENANT_ADMIN, tenant)
    granted_only, unlinked, revoked = (f"{p}-{secrets.token_hex(4)}" for p in ("com", "pom", "gone"))
    await ops.ok(admin, "GrantRole", {"subject": granted_only, "role": "PRACTITIONER", "service": "PROBATION",
                                      "siteCodes": ["BSI"]})
    await ops.ok(admin, "GrantRole", {"subject": revoked, "role": "SITE_MANAGER", "siteCodes": ["BSI"]})
    await ops.ok(admin, "RevokeRole", {"subject": revoked})
    sites = {s["code"]: s["id"] for s in (await admin.data("{ sites { id code } }"))["sites"]}
    record = (await ops.ok(admin, "CreatePractitioner", {
        "givenName": "Alex", "familyName": "Example-Pom", "service": "PRISON", "role": "POM",
        "siteIds": [sites["BSI"]]}))["practitioner"]

    before = await users(admin)
    assert before[granted_only]["setup"] == "NO_PRACTITIONER_RECORD"
    assert before[granted_only]["practitioner"] is None
    assert before[revoked]["setup"] == "REVOKED"
    assert before[admin_subject(before)]["setup"] == "READY"  # an administrator needs no practitioner record

    done = await ops.ok(admin, "BringInPractitioner", staff(granted_only, service="PROBATION", role="COM",
                                                            siteCodes=["BSI"]))
    assert (done["grantOutcome"], done["practitionerOutcome"]) == ("ALREADY_DONE", "CREATED")
    linked = await ops.ok(admin, "BringInPractitioner", staff(unlinked, service="PRISON", role="POM",
                                                              siteCodes=["BSI"], practitionerId=record["id"]))
    assert (linked["grantOutcome"], linked["practitionerOutcome"]) == ("CREATED", "UPDATED")
    after = await users(admin)
    assert after[granted_only]["setup"] == "READY"
    assert after[unlinked]["practitioner"]["id"] == record["id"]  # the existing record, now linked

    # Linking a record that is already linked to someone else is refused, and nothing is granted.
    other = f"other-{secrets.token_hex(4)}"
    refused = await ops.payload(admin, "BringInPractitioner", staff(other, service="PRISON", role="POM",
                                                                    siteCodes=["BSI"], practitionerId=record["id"]))
    assert [(e["code"], e["field"]) for e in refused["errors"]] == [("CONFLICT", "practitionerId")]
    assert other not in await users(admin)


def admin_subject(listed: dict[str, dict[str, Any]]) -> str:
    return next(s for s, u in listed.items() if u["role"] == "TENANT_ADMIN")


async def test_never_half_done(make_tenant: TenantFactory, login: CallerFactory,
                               admin_conn: asyncpg.Connection) -> None:
    tenant = await make_tenant()
    me = f"admin-{secrets.token_hex(4)}"
    admin = await login(Role.TENANT_ADMIN, tenant, subject=me)

    # The grant is refused after the record was written (an administrator cannot demote themselves): the record
    # is rolled back with it.
    refused = await ops.payload(admin, "BringInPractitioner", staff(me))
    assert [e["field"] for e in refused["errors"]] == ["subject"]
    assert await linked_records(admin_conn, tenant.schema, me) == 0
    assert (await users(admin))[me]["role"] == "TENANT_ADMIN"

    # The record is refused (its service and role clash with the login's existing record): no grant changes.
    subject = f"pa-{secrets.token_hex(4)}"
    await ops.ok(admin, "BringInPractitioner", staff(subject))
    clash = await ops.payload(admin, "BringInPractitioner", staff(subject, service="PRISON", role="POM",
                                                                  siteCodes=["BSI"]))
    assert [(e["code"], e["field"]) for e in clash["errors"]] == [("CONFLICT", "subject")]
    assert (await users(admin))[subject]["service"] == "LEAVING_CARE"

    # Bad input is refused before anything is written.
    for bad, field in ((staff(f"x-{secrets.token_hex(4)}", siteCodes=["NOPE"]), "siteCodes"),
                       (staff(f"y-{secrets.token_hex(4)}", siteCodes=[]), "siteCodes"),
                       (staff(" "), "subject"),
                       (staff(f"z-{secrets.token_hex(4)}", access="SITE_MANAGER", givenName=" "), "givenName")):
        payload = await ops.payload(admin, "BringInPractitioner", bad)
        assert [e["field"] for e in payload["errors"]] == [field], bad
        assert payload["user"] is None
    assert len(await users(admin)) == 2


async def test_only_the_tenants_own_administrators_and_records(make_tenant: TenantFactory,
                                                               login: CallerFactory) -> None:
    tenant, other = await make_tenant(), await make_tenant()
    admin, stranger = await login(Role.TENANT_ADMIN, tenant), await login(Role.TENANT_ADMIN, other)
    pa = await login(Role.PRACTITIONER, tenant, service=Service.LEAVING_CARE, sites=("BRM-LC",))
    forbidden = await ops.raw(pa, "BringInPractitioner", {"input": staff(f"s-{secrets.token_hex(4)}")})
    assert forbidden["errors"][0]["extensions"]["code"] == "FORBIDDEN"

    sites = {s["code"]: s["id"] for s in (await admin.data("{ sites { id code } }"))["sites"]}
    record = (await ops.ok(admin, "CreatePractitioner", {
        "givenName": "Alex", "familyName": "Example-Pa", "service": "LEAVING_CARE", "role": "PERSONAL_ADVISER",
        "siteIds": [sites["BRM-LC"]]}))["practitioner"]
    # Another tenant's record answers exactly like a missing one, and nothing is granted there.
    subject = f"t-{secrets.token_hex(4)}"
    refused = await ops.payload(stranger, "BringInPractitioner", staff(subject, practitionerId=record["id"]))
    assert [(e["code"], e["field"]) for e in refused["errors"]] == [("NOT_FOUND", "practitionerId")]
    assert subject not in await users(stranger)
