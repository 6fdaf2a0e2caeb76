"""Issue 17, driven through GraphQL: a prison transfer changes what is due on its effective date; the release
handover is recorded with a checklist the practice rules configure; a transfer between tenants is requested,
declined, requested again, withdrawn, requested, accepted and handed off — surviving crashes between its steps —
with its package's provenance, a non-consenting network member's details withheld, the sending record closed and
read-only, both audit trails showing it, and national referral figures unchanged by the move."""

from __future__ import annotations

import datetime as dt
import secrets
from typing import Any

import asyncpg
import pytest

from service.kernel import clock
from service.kernel.database import Database
from service.kernel.principal import Role, Service
from service.kernel.tenancy import Tenant
from service.moves import handoff
from service.reporting.service import refresh_tenant
from tests.conftest import Caller, CallerFactory, TenantFactory
from tests.operations import Operations
from tests.records.casework import SITES, TODAY, Casework, casework, days_ago, days_ahead, young_adult
from tests.reporting.seed import Seeder

WOMENS_SITES = (("EWI", "HMP Eastwood Park", "PRISON"), ("WI-LC", "Women's initiative leaving care", "LEAVING_CARE"))
REFERRALS = """query($period: Date!) {
  nationalMetric(metric: "referrals", grain: MONTH, periodStart: $period, breakdown: TENANT) {
    total { value suppressed } rows { key value { value suppressed } } } }"""
MONTH = TODAY.replace(day=1).isoformat()


def due(record: dict[str, Any], kind: str) -> dict[str, Any]:
    return next(i for i in record["dueItems"] if i["kind"] == kind)


async def moves_of(ops: Operations, caller: Caller, ya: str) -> dict[str, Any]:
    """The record's enrolments and due items with its moves (the caller must see it)."""
    data = await ops.data(caller, "YoungAdultMoves", {"id": ya})
    record: dict[str, Any] = data["youngAdult"] | data["youngAdultMoves"]
    return record


async def unseen(ops: Operations, caller: Caller, ya: str) -> bool:
    data = await ops.data(caller, "YoungAdultMoves", {"id": ya})
    return data["youngAdult"] is None and data["youngAdultMoves"] is None


async def national_referrals(analyst: Caller, db: Database, *tenants: Tenant) -> dict[str, Any]:
    assert db.pool is not None
    for tenant in tenants:
        await refresh_tenant(db.pool, tenant, TODAY)
    table: dict[str, Any] = (await analyst.data(REFERRALS, {"period": MONTH}))["nationalMetric"]
    return table


async def site_transfer(cw: Casework, login: CallerFactory, monkeypatch: pytest.MonkeyPatch) -> tuple[str, str]:
    """Brinsford → Swinfen Hall: the rules of the governing site, and so what is due, change on the effective day.
    Returns the young adult's id and the Swinfen Hall offender manager's practitioner id."""
    ops, admin, pom = cw.ops, cw.admin, cw.callers["pom"]
    await ops.ok(admin, "ChangePracticeRules", {"reason": "Brinsford reviews every 6 weeks", "changes": [
        {"rule": "plan_review_interval_weeks", "siteCode": "BSI", "value": 6}]})
    created = await ops.ok(pom, "CreateYoungAdult", young_adult(cw.sites["BSI"], "Example-Moves",
                                                                prisonNumber="Z1717MV"))
    ya = created["youngAdult"]["id"]
    # Enrolled at leaving care the same day: the governing site is the one that brought them in (recorded
    # first), not the alphabetically first code (BRM-LC < BSI), which is what the old tie-break chose.
    await ops.ok(admin, "EnrolYoungAdult", {"youngAdultId": ya, "siteId": cw.sites["BRM-LC"]})
    record = await moves_of(ops, pom, ya)
    bsi = next(e for e in record["enrolments"] if e["site"]["code"] == "BSI")
    for status in ("REFERRED", "CONSENTED"):
        bsi = (await ops.ok(pom, "ChangeEnrolmentStatus", {"enrolmentId": bsi["id"], "version": bsi["version"],
                                                            "status": status}))["enrolment"]
    await ops.ok(pom, "RecordCustodyEpisode", {"youngAdultId": ya, "receptionDate": days_ago(60),
                                               "sentenceType": "DETERMINATE", "crd": days_ahead(300),
                                               "handoverDate": days_ahead(20)})
    await ops.ok(admin, "AddTeamMember", {"youngAdultId": ya, "practitionerId": cw.practitioner_ids["pom"],
                                          "role": "OFFENDER_MANAGER"})
    await ops.ok(pom, "RecordMeeting", {"youngAdultId": ya, "kind": "REVIEW", "heldOn": days_ago(10),
                                        "attendees": [{"practitionerId": cw.practitioner_ids["pom"]}]})
    review = TODAY - dt.timedelta(days=10)
    before = await moves_of(ops, pom, ya)
    assert due(before, "PLAN_REVIEW")["dueOn"] == (review + dt.timedelta(weeks=6)).isoformat()  # Brinsford's rule

    shi_subject = f"shi-pom-{secrets.token_hex(4)}"
    shi_pom = await login(Role.PRACTITIONER, cw.tenant, service=Service.PRISON, sites=("SHI",), subject=shi_subject)
    shi_pom_id = (await ops.ok(admin, "CreatePractitioner", {
        "givenName": "Sol", "familyName": "Example-SHI", "service": "PRISON", "role": "POM",
        "siteIds": [cw.sites["SHI"]], "subject": shi_subject}))["practitioner"]["id"]
    effective = TODAY + dt.timedelta(days=7)
    refused = await ops.payload(pom, "TransferSite", {
        "youngAdultId": ya, "fromSiteId": cw.sites["BSI"], "toSiteId": cw.sites["BSI"], "effectiveOn": days_ahead(7),
        "reason": "Moved to a young adult establishment"})
    assert refused["errors"][0]["field"] == "toSiteId"
    assert refused["siteTransfer"] is None
    moved = await ops.ok(pom, "TransferSite", {
        "youngAdultId": ya, "fromSiteId": cw.sites["BSI"], "toSiteId": cw.sites["SHI"],
        "effectiveOn": effective.isoformat(), "reason": "Moved to a young adult establishment",
        "teamLeaves": ["OFFENDER_MANAGER"], "teamJoins": [{"practitionerId": shi_pom_id, "role": "OFFENDER_MANAGER"}]})
    assert moved["siteTransfer"]["fromSite"]["code"] == "BSI"
    assert moved["siteTransfer"]["toSite"]["code"] == "SHI"

    # Until the effective day Brinsford still governs; the new offender manager already sees the record.
    still = await moves_of(ops, shi_pom, ya)
    assert due(still, "PLAN_REVIEW")["dueOn"] == (review + dt.timedelta(weeks=6)).isoformat()
    enrolments = {e["site"]["code"]: e for e in still["enrolments"]}
    assert enrolments["BSI"]["exitedOn"] == effective.isoformat()
    assert enrolments["SHI"]["identifiedOn"] == effective.isoformat()
    assert enrolments["SHI"]["referredOn"] == enrolments["BSI"]["referredOn"]  # a move is not a new referral
    monkeypatch.setattr(clock, "today", lambda zone=clock.DEFAULT_ZONE: effective)
    after = await moves_of(ops, shi_pom, ya)
    assert due(after, "PLAN_REVIEW")["dueOn"] == (review + dt.timedelta(weeks=13)).isoformat()  # Swinfen Hall's
    monkeypatch.setattr(clock, "today", lambda zone=clock.DEFAULT_ZONE: effective - dt.timedelta(days=1))
    assert due(await moves_of(ops, shi_pom, ya), "PLAN_REVIEW")["dueOn"] == (
        review + dt.timedelta(weeks=6)).isoformat()
    monkeypatch.undo()
    assert [t["toSite"]["code"] for t in after["siteTransfers"]] == ["SHI"]
    return ya, shi_pom_id


async def handover(cw: Casework, ya: str, shi_pom_id: str) -> None:
    """The handover is done by the recorded handover with every checklist item the rules want, not by inference."""
    ops, admin, com = cw.ops, cw.admin, cw.callers["com"]
    await ops.ok(admin, "AddTeamMember", {"youngAdultId": ya, "practitionerId": cw.practitioner_ids["com"],
                                          "role": "COMMUNITY_OFFENDER_MANAGER"})
    record = await moves_of(ops, com, ya)
    assert due(record, "HANDOVER")["status"] != "DONE"  # a community offender manager on the team is not a handover
    await ops.ok(admin, "ChangePracticeRules", {"reason": "GP registration is part of our handover", "changes": [
        {"rule": "handover_checklist", "value": ["ACCOMMODATION_CONFIRMED", "FIRST_APPOINTMENT_BOOKED",
                                                 "LICENCE_CONDITIONS_SHARED", "NETWORK_TOLD", "GP_REGISTERED"]}]})
    not_on_team = await ops.payload(com, "RecordHandover", {
        "youngAdultId": ya, "handedOverOn": TODAY.isoformat(), "leadPractitionerId": cw.practitioner_ids["pa"],
        "checklist": []})
    assert not_on_team["errors"][0]["field"] == "leadPractitionerId"
    assert not_on_team["handover"] is None
    first = await ops.ok(com, "RecordHandover", {
        "youngAdultId": ya, "handedOverOn": TODAY.isoformat(), "leadPractitionerId": cw.practitioner_ids["com"],
        "checklist": ["ACCOMMODATION_CONFIRMED", "FIRST_APPOINTMENT_BOOKED", "LICENCE_CONDITIONS_SHARED",
                      "NETWORK_TOLD"]})
    assert first["outstanding"] == ["GP_REGISTERED"]
    assert first["handover"]["fromLead"]["id"] == shi_pom_id  # the prison's offender manager hands over
    assert first["handover"]["lead"]["id"] == cw.practitioner_ids["com"]
    assert first["handover"]["toServices"] == ["LEAVING_CARE", "PROBATION"]
    assert due(await moves_of(ops, com, ya), "HANDOVER")["status"] != "DONE"
    second = await ops.ok(com, "RecordHandover", {
        "youngAdultId": ya, "handedOverOn": TODAY.isoformat(), "leadPractitionerId": cw.practitioner_ids["com"],
        "checklist": ["ACCOMMODATION_CONFIRMED", "FIRST_APPOINTMENT_BOOKED", "LICENCE_CONDITIONS_SHARED",
                      "NETWORK_TOLD", "GP_REGISTERED"]})
    assert second["outstanding"] == []
    assert second["handover"]["fromLead"]["id"] == cw.practitioner_ids["com"]
    record = await moves_of(ops, com, ya)
    assert due(record, "HANDOVER")["status"] == "DONE"
    assert len(record["handovers"]) == 2


async def named(ops: Operations, caller: Caller, name: str, field: str, input_: dict[str, Any]) -> dict[str, Any]:
    """A published mutation whose root field is not named after its file (the Network* and Consent* ones)."""
    payload: dict[str, Any] = (await ops.data(caller, name, {"input": input_}))[field]
    assert payload["errors"] == [], payload["errors"]
    return payload


async def package_contents(cw: Casework, ya: str, receiving: Tenant) -> None:
    """What the package should carry: a licence condition, a plan with a goal, a Lifelong Links case with two
    members, one of whom consented to their details going to the receiving tenant."""
    ops, admin, com = cw.ops, cw.admin, cw.callers["com"]
    record = (await ops.data(com, "YoungAdultRecord", {"id": ya}))["youngAdult"]
    episode = record["custodyEpisodes"][0]
    await ops.ok(com, "AddLicenceCondition", {"custodyEpisodeId": episode["id"], "description": "Curfew 7pm-7am"})
    plan = await ops.ok(com, "CreatePlan", {"youngAdultId": ya})
    await ops.ok(com, "AddPlanGoal", {"planId": plan["plan"]["id"], "pathway": "ACCOMMODATION",
                                      "description": "A settled place to live on release"})
    case = await named(ops, admin, "NetworkReferToLifelongLinks", "referToLifelongLinks",
                       {"youngAdultId": ya, "siteId": cw.sites["WM-LL"]})
    case_id = case["lifelongLinksCase"]["id"]
    shared = await named(ops, admin, "NetworkAddMember", "addNetworkMember", {
        "caseId": case_id, "givenName": "Maya", "familyName": "Example-Aunt", "relationship": "RELATIVE",
        "knownBefore": True})
    await named(ops, admin, "NetworkAddMember", "addNetworkMember", {
        "caseId": case_id, "givenName": "Kit", "familyName": "Example-Teacher", "relationship": "TEACHER",
        "knownBefore": True})
    await named(ops, admin, "ConsentRecord", "recordConsent", {
        "youngAdultId": ya, "networkMemberId": shared["networkMember"]["id"], "purpose": "SHARING",
        "organisation": receiving.name})


async def test_moves_within_and_between_tenants(make_tenant: TenantFactory, login: CallerFactory, db: Database,
                                               admin_conn: asyncpg.Connection,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    ops = Operations()

    async def west_midlands(**_: Any) -> Tenant:
        return await make_tenant("west-midlands", sites=(*SITES, ("WM-LL", "West Midlands Lifelong Links",
                                                                   "LIFELONG_LINKS")))

    cw = await casework(west_midlands, login, ops)
    womens = await make_tenant("womens-initiative", kind="COHORT", sites=WOMENS_SITES)
    wi_admin = await login(Role.TENANT_ADMIN, womens)
    wi_manager = await login(Role.SITE_MANAGER, womens, sites=("WI-LC",))
    analyst = await login(Role.NATIONAL_ANALYST)

    ya, shi_pom_id = await site_transfer(cw, login, monkeypatch)
    await handover(cw, ya, shi_pom_id)
    await package_contents(cw, ya, womens)

    # Enough referrals this month on each side for the figures to be shown, not suppressed.
    for tenant, site, n in ((cw.tenant, "BSI", 5), (womens, "EWI", 5)):
        seeder = Seeder(admin_conn, tenant.schema)
        for _ in range(n):
            await seeder.young_adult(site, identified=TODAY, referred=TODAY)
    before = await national_referrals(analyst, db, cw.tenant, womens)
    by_tenant = {r["key"]: r["value"]["value"] for r in before["rows"]}
    # Five seeded each; he was referred at Brinsford and to the Lifelong Links service (an enrolment there), while
    # the Swinfen Hall enrolment the site transfer opened is not a referral.
    assert (by_tenant[cw.tenant.slug], by_tenant[womens.slug]) == (7, 5)

    # Requested, declined, requested again, withdrawn, requested, accepted: nothing moves before acceptance.
    com = cw.callers["com"]
    request = {"youngAdultId": ya, "toTenant": womens.slug, "consentedOn": TODAY.isoformat(),
               "note": "Moving to the women's initiative on release"}
    unknown = await ops.payload(com, "RequestTenantTransfer", {**request, "toTenant": "no-such-tenant"})
    assert unknown["errors"][0]["code"] == "NOT_FOUND"
    first = (await ops.ok(com, "RequestTenantTransfer", request))["tenantTransfer"]
    assert first["state"] == "REQUESTED"
    assert first["fromTenant"] == cw.tenant.slug
    again = await ops.payload(com, "RequestTenantTransfer", request)
    assert again["errors"][0]["code"] == "CONFLICT"  # one open request at a time
    incoming = (await ops.data(wi_admin, "TenantTransfers", {"direction": "INCOMING"}))["tenantTransfers"]
    assert [t["id"] for t in incoming] == [first["id"]]
    assert incoming[0]["youngAdultId"] is None
    assert (await ops.data(wi_admin, "TenantTransfers", {"direction": "OUTGOING"}))["tenantTransfers"] == []
    # A practitioner sees outgoing transfers of the young adults they may see, and no incoming ones.
    stranger = await login(Role.PRACTITIONER, cw.tenant, service=Service.PROBATION, sites=("BHM-PDU",))
    assert (await ops.data(stranger, "TenantTransfers", {"direction": "OUTGOING"}))["tenantTransfers"] == []
    assert len((await ops.data(cw.admin, "TenantTransfers", {"direction": "OUTGOING"}))["tenantTransfers"]) == 1
    assert (await ops.data(com, "TenantTransfers", {"direction": "INCOMING"}))["tenantTransfers"] == []
    practitioner = await ops.raw(com, "DeclineTenantTransfer", {"input": {"id": first["id"],
                                                                         "version": first["version"], "reason": "x"}})
    assert practitioner["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    sender = await ops.payload(cw.admin, "AcceptTenantTransfer", {"id": first["id"], "version": first["version"],
                                                                  "siteCode": "BSI"})
    assert sender["errors"][0]["code"] == "NOT_FOUND"  # the sending tenant's administrator cannot accept it
    declined = await ops.ok(wi_admin, "DeclineTenantTransfer", {"id": first["id"], "version": first["version"],
                                                                "reason": "No place until next month"})
    assert declined["tenantTransfer"]["state"] == "DECLINED"
    outgoing = (await ops.data(com, "TenantTransfers", {"direction": "OUTGOING"}))["tenantTransfers"]
    assert outgoing[0]["declineReason"] == "No place until next month"

    second = (await ops.ok(com, "RequestTenantTransfer", request))["tenantTransfer"]
    withdrawn = await ops.ok(com, "WithdrawTenantTransfer", {"id": second["id"], "version": second["version"]})
    assert withdrawn["tenantTransfer"]["state"] == "WITHDRAWN"
    third = (await ops.ok(com, "RequestTenantTransfer", request))["tenantTransfer"]
    not_their_site = await ops.payload(wi_manager, "AcceptTenantTransfer", {
        "id": third["id"], "version": third["version"], "siteCode": "EWI"})
    assert not_their_site["errors"][0] == {"code": "NOT_FOUND", "field": "siteCode", "message": "No such site."}
    accepted = await ops.ok(wi_manager, "AcceptTenantTransfer", {"id": third["id"], "version": third["version"],
                                                                 "siteCode": "WI-LC"})
    assert accepted["tenantTransfer"]["state"] == "ACCEPTED"
    late = await ops.payload(com, "WithdrawTenantTransfer", {"id": third["id"], "version": third["version"] + 1})
    assert late["errors"][0]["code"] == "INVALID"  # too late to withdraw
    transfer_id = third["id"]

    async def copies() -> int:
        count: int = await admin_conn.fetchval(
            f'SELECT count(*) FROM "{womens.schema}".young_adult WHERE transfer_id IS NOT NULL')
        return count

    # Isolation: neither tenant's role can read the hand-off table or the other's schema.
    async with admin_conn.transaction():
        await admin_conn.execute(f'SET LOCAL ROLE "{womens.runtime_role}"')
        for sql in ("SELECT count(*) FROM control.tenant_transfer",
                    f'SELECT count(*) FROM "{cw.tenant.schema}".young_adult'):
            with pytest.raises(asyncpg.InsufficientPrivilegeError):
                async with admin_conn.transaction():
                    await admin_conn.fetchval(sql)

    # A crash after the package is stored, before it is received: no copy anywhere.
    pool = await db.open_jobs_pool()

    async def crash(*_: Any) -> None:
        raise RuntimeError("the process died here")

    monkeypatch.setattr(handoff, "receive", crash)
    assert await handoff.run_pending(pool) == 0
    assert await copies() == 0
    # A crash after the copy committed, before the control plane heard of it: one copy, the sender still open.
    monkeypatch.undo()
    monkeypatch.setattr(handoff, "mark_received", crash)
    assert await handoff.run_pending(pool) == 0
    assert await copies() == 1
    assert (await moves_of(ops, cw.admin, ya))["movedAway"] is None
    # A crash after the sending record closed, before the transfer was marked complete.
    monkeypatch.undo()
    monkeypatch.setattr(handoff, "complete", crash)
    assert await handoff.run_pending(pool) == 0
    monkeypatch.undo()
    assert await handoff.run_pending(pool) == 1  # the retry finishes it
    assert await handoff.run_pending(pool) == 0
    assert await copies() == 1
    states = await admin_conn.fetch("SELECT state, package FROM control.tenant_transfer WHERE to_tenant_id = $1 "
                                    "ORDER BY requested_at", womens.id)
    assert [r["state"] for r in states] == ["DECLINED", "WITHDRAWN", "COMPLETED"]
    assert all(r["package"] is None for r in states)  # no case data rests in the control plane

    # The receiving side: a live record with provenance; the non-consenting member arrives with no details.
    done = (await ops.data(wi_admin, "TenantTransfers", {"direction": "INCOMING"}))["tenantTransfers"][0]
    assert done["state"] == "COMPLETED"
    assert done["id"] == transfer_id
    received = await moves_of(ops, wi_admin, done["youngAdultId"])
    assert received["familyName"] == "Example-Moves"
    assert received["arrivedFrom"] == {"tenant": cw.tenant.name, "on": TODAY.isoformat()}
    assert [(e["site"]["code"], e["status"]) for e in received["enrolments"]] == [("WI-LC", "CONSENTED")]
    kinds = {p["itemType"] for p in received["provenance"]}
    assert {"YoungAdult", "CustodyEpisode", "LicenceCondition", "IntegratedPlan", "PlanVersion", "PlanGoal",
            "LifelongLinksCase", "NetworkMember", "Consent"} <= kinds
    assert {p["fromTenant"] for p in received["provenance"]} == {cw.tenant.name}
    members = (await ops.data(wi_admin, "NetworkMembers", {"youngAdultId": done["youngAdultId"]}))["networkMembers"]
    assert sorted((m["givenName"], m["familyName"]) for m in members) == [("A member not shared", None),
                                                                         ("Maya", "Example-Aunt")]
    hidden = await admin_conn.fetchval(f'SELECT count(*) FROM "{womens.schema}".network_member '
                                       "WHERE given_name = 'Kit' OR family_name = 'Example-Teacher'")
    assert hidden == 0  # not stored anywhere on the receiving side
    wi_full = (await ops.data(wi_admin, "YoungAdultRecord", {"id": done["youngAdultId"]}))["youngAdult"]
    assert wi_full["custodyEpisodes"][0]["licenceConditions"][0]["description"] == "Curfew 7pm-7am"

    # The sending side: closed, read-only, saying where and when the person went.
    # (The team ends with the move: a practitioner sees it only through a site it was enrolled at.)
    assert await unseen(ops, com, ya)
    closed = await moves_of(ops, cw.admin, ya)
    assert closed["movedAway"] == {"tenant": womens.name, "on": TODAY.isoformat()}
    assert {e["status"] for e in closed["enrolments"]} == {"EXITED"}
    refused = await ops.payload(cw.admin, "UpdateYoungAdult", {"id": ya, "version": closed["version"],
                                                              "laReference": "LA-1"})
    assert refused["errors"][0]["code"] == "CONFLICT"
    assert "closed" in refused["errors"][0]["message"]
    record = (await ops.data(cw.admin, "YoungAdultRecord", {"id": ya}))["youngAdult"]
    refused = await ops.payload(cw.admin, "AddLicenceCondition", {
        "custodyEpisodeId": record["custodyEpisodes"][0]["id"], "description": "Another"})
    assert refused["errors"][0]["code"] == "CONFLICT"
    with pytest.raises(asyncpg.PostgresError) as raw_write:  # whatever the SQL
        await admin_conn.execute(f'UPDATE "{cw.tenant.schema}".custody_episode SET crd = crd '
                                 "WHERE young_adult_id = (SELECT id FROM "
                                 f'"{cw.tenant.schema}".young_adult WHERE moved_on IS NOT NULL)')
    assert raw_write.value.sqlstate == "AH017"

    # Both audit trails show the transfer.
    sent = (await ops.data(cw.admin, "AuditTrail", {"youngAdultId": ya, "first": 100}))["auditTrail"]["edges"]
    sent_actions = {(e["node"]["action"], e["node"]["requestId"].startswith("transfer-")) for e in sent}
    assert {("EXPORT", True), ("ALTER", True)} <= sent_actions
    assert any(e["node"]["subjectType"] == "TenantTransfer" for e in sent)
    got = (await ops.data(wi_admin, "AuditTrail", {"youngAdultId": done["youngAdultId"]}))["auditTrail"]["edges"]
    assert any(e["node"]["action"] == "CREATE" and e["node"]["requestId"].startswith("transfer-") for e in got)

    # National figures: the move is not a new referral.
    after = await national_referrals(analyst, db, cw.tenant, womens)
    assert after["total"] == before["total"]
    assert {r["key"]: r["value"]["value"] for r in after["rows"]} == by_tenant
