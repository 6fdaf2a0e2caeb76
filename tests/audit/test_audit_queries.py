"""Audit queries for a tenant's data-protection role (by actor, young adult, record, action and dates, paged, as CSV),
and the platform-level trail of national analysts' and platform administrators' reads (issue 15)."""

from __future__ import annotations

import base64
import csv
import datetime as dt
import io
import json
import secrets
import uuid
from typing import Any
from zoneinfo import ZoneInfo

import asyncpg
import pytest

from service.api.relay import to_global_id
from service.audit.repository import EventFilter, events_query
from service.kernel.database import Database
from service.kernel.principal import Role, Service
from tests.audit_rows import by_type
from tests.conftest import Caller, CallerFactory, TenantFactory
from tests.operations import Operations

CREATE = "mutation($i: CreateYoungAdultInput!) { createYoungAdult(input: $i) { youngAdult { id } errors { code } } }"
UPDATE = "mutation($i: UpdateYoungAdultInput!) { updateYoungAdult(input: $i) { youngAdult { id } errors { code } } }"
RECORD = "query($id: ID!) { youngAdult(id: $id) { id familyName } }"

ops = Operations()


async def audit_events(admin: Caller, filter_: dict[str, Any] | None = None, first: int = 50,
                       after: str | None = None) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    page = (await ops.data(admin, "AuditEvents", {"filter": filter_, "first": first, "after": after}))["auditEvents"]
    return [e["node"] for e in page["edges"]], page["pageInfo"]


async def casework(make_tenant: TenantFactory, login: CallerFactory) -> tuple[Any, Caller, Caller, Caller, str, str]:
    tenant = await make_tenant()
    pom = await login(Role.PRACTITIONER, tenant, service=Service.PRISON, sites=("BSI",),
                      subject=f"pom-{secrets.token_hex(4)}")
    pa = await login(Role.PRACTITIONER, tenant, service=Service.LEAVING_CARE, sites=("BRM-LC",),
                     subject=f"pa-{secrets.token_hex(4)}")
    admin = await login(Role.TENANT_ADMIN, tenant)
    sites = {s["code"]: s["id"] for s in (await admin.data("{ sites { id code } }"))["sites"]}
    ids = []
    for name, site in (("Example-One", "BSI"), ("Example-Two", "BRM-LC")):
        made = await (pom if site == "BSI" else pa).data(CREATE, {"i": {
            "siteId": sites[site], "givenName": "Sam", "familyName": name, "dateOfBirth": "2003-01-02",
            "careStatus": "RELEVANT"}})
        ids.append(made["createYoungAdult"]["youngAdult"]["id"])
    await pom.data(UPDATE, {"i": {"id": ids[0], "version": 1, "familyName": "Example-Changed"}})
    await pom.data(RECORD, {"id": ids[0]})
    await pa.data(RECORD, {"id": ids[1]})
    return tenant, pom, pa, admin, ids[0], ids[1]


async def test_by_actor_young_adult_action_and_record(make_tenant: TenantFactory, login: CallerFactory) -> None:
    _tenant, pom, pa, admin, one, two = await casework(make_tenant, login)
    by_pom, _ = await audit_events(admin, {"actor": actor_of(pom)})
    assert [(e["action"], e["subjectType"]) for e in by_pom] == [
        ("CONSULT", "YoungAdult"), ("ALTER", "YoungAdult"), ("CREATE", "Enrolment"), ("CREATE", "YoungAdult")]
    assert {e["actorSubject"] for e in by_pom} == {actor_of(pom)}

    viewed, _ = await audit_events(admin, {"actor": actor_of(pa), "action": "CONSULT"})
    assert [(e["subjectId"], e["youngAdultId"]) for e in viewed] == [(two, two)]
    about_one, _ = await audit_events(admin, {"youngAdultId": one})
    assert {e["youngAdultId"] for e in about_one} == {one}
    assert len(about_one) == 4
    the_record, _ = await audit_events(admin, {"subjectId": one, "action": "ALTER"})
    assert [e["fields"] for e in the_record] == [["family_name"]]

    # Dates are UK days, inclusive: since yesterday holds everything (whichever side of midnight the test ran),
    # up to the day before yesterday nothing, and a reversed range is refused.
    today = dt.datetime.now(ZoneInfo("Europe/London")).date()
    since_yesterday = {"from": (today - dt.timedelta(days=1)).isoformat(), "to": today.isoformat()}
    assert len((await audit_events(admin, since_yesterday))[0]) == len((await audit_events(admin))[0])
    before = (today - dt.timedelta(days=2)).isoformat()
    assert (await audit_events(admin, {"to": before}))[0] == []
    reversed_ = await ops.raw(admin, "AuditEvents", {"filter": {"from": today.isoformat(), "to": before}})
    assert reversed_["errors"][0]["extensions"]["code"] == "INVALID"

    # Another tenant's young adult answers like a missing one: nothing.
    other = await make_tenant()
    stranger = await login(Role.TENANT_ADMIN, other)
    assert (await audit_events(stranger, {"youngAdultId": one}))[0] == []
    assert (await audit_events(stranger, {"actor": actor_of(pom)}))[0] == []


def actor_of(caller: Caller) -> str:
    """The login subject the caller's token carries (read from the token's payload, unverified: a test helper)."""
    payload = caller.token.split(".")[1]
    subject: str = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))["sub"]
    return subject


async def test_pages_walk_every_event_once_newest_first(make_tenant: TenantFactory, login: CallerFactory) -> None:
    _tenant, _pom, _pa, admin, one, _ = await casework(make_tenant, login)
    everything, _ = await audit_events(admin, first=100)
    seen: list[dict[str, Any]] = []
    after = None
    while True:
        page, info = await audit_events(admin, first=3, after=after)
        seen += page
        if not info["hasNextPage"]:
            break
        after = info["endCursor"]
    assert seen == everything[:len(seen)]
    assert len(seen) == len(everything)
    assert [e["occurredAt"] for e in seen] == sorted((e["occurredAt"] for e in seen), reverse=True)
    refused = await ops.raw(admin, "AuditEvents", {"after": "not-a-cursor"})
    assert refused["errors"][0]["extensions"]["code"] == "INVALID"
    # A cursor of the right kind whose key was never issued (an event id or position out of range) names no event.
    for key in (2**127 + 1, (2**63 + 5) << 32 | 1, 0):
        forged = to_global_id("cursor", uuid.UUID(int=key))
        for name, variables in (("AuditEvents", {"after": forged}), ("AuditTrail", {"youngAdultId": one,
                                                                                    "after": forged})):
            answer = await ops.raw(admin, name, variables)
            assert "errors" not in answer, (name, key, answer)
            assert answer["data"][name[0].lower() + name[1:]]["edges"] == [], (name, key)


async def test_only_the_data_protection_role(make_tenant: TenantFactory, login: CallerFactory) -> None:
    _tenant, pom, *_ = await casework(make_tenant, login)
    for name in ("AuditEvents", "AuditEventsCsv"):
        refused = await ops.raw(pom, name, {})
        assert refused["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    analyst = await login(Role.NATIONAL_ANALYST)
    assert (await ops.raw(analyst, "AuditEvents", {}))["errors"][0]["extensions"]["code"] == "FORBIDDEN"


async def test_csv_export_matches_the_query_and_is_itself_recorded(
        make_tenant: TenantFactory, login: CallerFactory, admin_conn: asyncpg.Connection) -> None:
    tenant, pom, _pa, admin, one, _two = await casework(make_tenant, login)
    export = (await ops.data(admin, "AuditEventsCsv", {"filter": {"youngAdultId": one}}))["auditEventsCsv"]
    rows = list(csv.DictReader(io.StringIO(export["csv"])))
    listed, _ = await audit_events(admin, {"youngAdultId": one}, first=100)
    assert listed[0]["action"] == "EXPORT"  # the export, recorded after it read
    assert (export["rows"], export["truncated"]) == (len(listed) - 1, False)
    assert [(r["action"], r["subjectId"], r["actor"], r["occurredAt"]) for r in rows] == \
        [(e["action"], e["subjectId"], e["actorSubject"], dt.datetime.fromisoformat(e["occurredAt"]).isoformat())
         for e in listed[1:]]
    exported = await admin_conn.fetch(
        f"SELECT actor_role, subject_type, young_adult_ids, fields FROM {by_type(tenant.schema)} "
        "WHERE action = 'EXPORT'")
    assert [(r["actor_role"], r["subject_type"], list(r["fields"])) for r in exported] == [
        ("TENANT_ADMIN", "AuditTrail", ["young_adult_id"])]
    # A login that a spreadsheet would run as a formula is neutralised.
    sly = await login(Role.PRACTITIONER, tenant, service=Service.PRISON, sites=("BSI",),
                      subject=f"=cmd-{secrets.token_hex(3)}")
    await sly.data(RECORD, {"id": one})
    cells = (await ops.data(admin, "AuditEventsCsv", {"filter": {"actor": actor_of(sly)}}))["auditEventsCsv"]
    assert next(iter(csv.DictReader(io.StringIO(cells["csv"]))))["actor"].startswith("'=")
    del pom


@pytest.mark.parametrize(("where", "index"), [
    (EventFilter(actor="someone"), "audit_event_actor"),
    (EventFilter(action="EXPORT"), "audit_event_action"),
    (EventFilter(since=dt.datetime(2026, 1, 1, tzinfo=dt.UTC)), "audit_event_occurred"),
    (EventFilter(young_adult_id=uuid.uuid4()), "audit_event_young_adults"),
    (EventFilter(subject_id=uuid.uuid4()), "audit_event_subjects"),
])
async def test_each_query_has_an_index(where: EventFilter, index: str, make_tenant: TenantFactory,
                                       admin_conn: asyncpg.Connection) -> None:
    tenant = await make_tenant()
    sql, args = events_query(where, None, 51)
    async with admin_conn.transaction():
        await admin_conn.execute(f'SET LOCAL search_path = "{tenant.schema}"')
        await admin_conn.execute("SET LOCAL enable_seqscan = off")  # a tiny table: show which index serves it
        plan = "\n".join(r[0] for r in await admin_conn.fetch(f"EXPLAIN {sql}", *args))
    assert index in plan, plan


async def test_national_and_platform_reads_are_in_the_platform_trail(
        db: Database, make_tenant: TenantFactory, login: CallerFactory, admin_conn: asyncpg.Connection) -> None:
    tenant = await make_tenant()
    analyst = await login(Role.NATIONAL_ANALYST, subject=f"analyst-{secrets.token_hex(4)}")
    platform = await login(Role.PLATFORM_ADMIN, subject=f"platform-{secrets.token_hex(4)}")
    await ops.data(analyst, "TenantComparison", {"metric": "referrals", "grain": "MONTH", "from": "2024-01-01",
                                                 "to": "2024-02-01", "tenants": [tenant.slug]})
    await ops.data(platform, "OnboardingChecklist", {"slug": tenant.slug})
    download = await analyst.client.get(
        "/reporting/export.csv", params={"metric": "referrals", "grain": "MONTH", "periodStart": "2024-01-01",
                                         "breakdown": "SITE", "tenant": tenant.slug},
        headers={"Authorization": f"Bearer {analyst.token}"})
    assert download.status_code == 200
    await analyst.data("query { __typename }")  # introspection only: nothing read, nothing recorded
    refused = await ops.raw(analyst, "PlatformAuditTrail", {})
    assert refused["errors"][0]["extensions"]["code"] == "FORBIDDEN"

    trail = await ops.data(platform, "PlatformAuditTrail", {"filter": {"tenant": tenant.slug}})
    events = [e["node"] for e in trail["platformAuditTrail"]["edges"]]
    assert [(e["actorRole"], e["action"], e["operation"], e["fields"]) for e in events] == [
        ("NATIONAL_ANALYST", "EXPORT", None, ["/reporting/export.csv"]),
        ("PLATFORM_ADMIN", "CONSULT", "OnboardingChecklist", ["onboardingChecklist"]),
        ("NATIONAL_ANALYST", "CONSULT", "TenantComparison", ["tenantComparison"])]
    assert all(e["tenants"] == [tenant.slug] for e in events)
    mine = await ops.data(platform, "PlatformAuditTrail", {"filter": {"actor": actor_of(analyst), "role":
                                                                      "NATIONAL_ANALYST"}, "first": 1})
    page = mine["platformAuditTrail"]
    assert page["pageInfo"]["hasNextPage"] is True  # the analyst's refused read of the trail is not a read
    later = await ops.data(platform, "PlatformAuditTrail", {"filter": {"actor": actor_of(analyst)},
                                                            "after": page["pageInfo"]["endCursor"]})
    assert [e["node"]["operation"] for e in later["platformAuditTrail"]["edges"]] == ["TenantComparison"]

    # Reading the trail is itself a platform read; the app role can append to it but never rewrite it.
    count = await admin_conn.fetchval("SELECT count(*) FROM control.platform_audit_event WHERE actor_subject = $1",
                                      actor_of(platform))
    assert count == 4  # the checklist and three reads of the trail
    pool = await db.open_pool()  # the app login role that request traffic uses
    async with pool.acquire() as conn:
        for statement in ("UPDATE control.platform_audit_event SET actor_subject = 'someone-else'",
                          "DELETE FROM control.platform_audit_event", "TRUNCATE control.platform_audit_event"):
            with pytest.raises(asyncpg.InsufficientPrivilegeError):
                await conn.execute(statement)
    # A cursor of the right kind whose key no row can have names no row (it used to be a 500: out of bigint range).
    for key in (2**127 + 1, 2**63, 0):
        forged = await ops.raw(platform, "PlatformAuditTrail", {"after": to_global_id("cursor", uuid.UUID(int=key))})
        assert "errors" not in forged, key
        assert forged["data"]["platformAuditTrail"]["edges"] == [], key
