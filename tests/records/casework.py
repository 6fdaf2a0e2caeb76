"""A tenant set up for casework through the API: a prison, a second prison, a probation delivery unit and a
leaving-care service, a tenant administrator, and three practitioners (prison offender manager, community offender
manager, personal adviser) with practitioner records linked to their logins."""

from __future__ import annotations

import datetime as dt
import secrets
from dataclasses import dataclass
from typing import Any

from service.kernel import clock
from service.kernel.principal import Role, Service
from service.kernel.tenancy import Tenant
from tests.conftest import Caller, CallerFactory, TenantFactory
from tests.operations import Operations

TODAY = clock.today()
SITES = (("BSI", "HMP Brinsford", "PRISON"), ("SHI", "HMP Swinfen Hall", "PRISON"),
         ("BHM-PDU", "Birmingham probation delivery unit", "PROBATION"),
         ("BRM-LC", "Birmingham leaving care", "LEAVING_CARE"))
PRACTITIONERS = {  # key: (service, practitioner role, team role, site)
    "pom": (Service.PRISON, "POM", "OFFENDER_MANAGER", "BSI"),
    "com": (Service.PROBATION, "COM", "COMMUNITY_OFFENDER_MANAGER", "BHM-PDU"),
    "pa": (Service.LEAVING_CARE, "PERSONAL_ADVISER", "PERSONAL_ADVISER", "BRM-LC"),
}


@dataclass
class Casework:
    tenant: Tenant
    admin: Caller
    callers: dict[str, Caller]
    practitioner_ids: dict[str, str]
    subjects: dict[str, str]
    sites: dict[str, str]
    ops: Operations


async def casework(make_tenant: TenantFactory, login: CallerFactory, ops: Operations) -> Casework:
    tenant = await make_tenant(sites=SITES)
    admin = await login(Role.TENANT_ADMIN, tenant)
    sites = {s["code"]: s["id"] for s in (await ops.data(admin, "Sites"))["sites"]}
    callers, ids, subjects = {}, {}, {}
    for key, (service, role, _team_role, site) in PRACTITIONERS.items():
        subjects[key] = f"{key}-{secrets.token_hex(4)}"
        callers[key] = await login(Role.PRACTITIONER, tenant, service=service, sites=(site,), subject=subjects[key])
        created = await ops.ok(admin, "CreatePractitioner", {
            "givenName": "Pat", "familyName": f"Example-{key.upper()}", "service": service.value, "role": role,
            "siteIds": [sites[site]], "subject": subjects[key]})
        ids[key] = created["practitioner"]["id"]
    return Casework(tenant, admin, callers, ids, subjects, sites, ops)


def young_adult(site_id: str, family: str, **extra: Any) -> dict[str, Any]:
    return {"siteId": site_id, "givenName": "Sam", "familyName": family, "dateOfBirth": "2003-04-05",
            "careStatus": "RELEVANT", **extra}


def days_ago(n: int) -> str:
    return (TODAY - dt.timedelta(days=n)).isoformat()


def days_ahead(n: int) -> str:
    return (TODAY + dt.timedelta(days=n)).isoformat()


async def walk_to_release(cw: Casework) -> dict[str, Any]:
    """Referral to release; returns what the record holds (ids and identifying values) for the checks."""
    ops, pom, com, pa = cw.ops, cw.callers["pom"], cw.callers["com"], cw.callers["pa"]
    created = await ops.ok(pom, "CreateYoungAdult", young_adult(cw.sites["BSI"], "Example-Journey",
                                                                prisonNumber="Z1234JY"))
    ya = created["youngAdult"]["id"]
    record = (await ops.data(pom, "YoungAdultRecord", {"id": ya}))["youngAdult"]
    enrolment = record["enrolments"][0]
    referred = await ops.ok(pom, "ChangeEnrolmentStatus", {"enrolmentId": enrolment["id"],
                                                           "version": enrolment["version"], "status": "REFERRED"})
    assert referred["enrolment"]["referredOn"] == TODAY.isoformat()

    # the team: probation and leaving care see the young adult only once they are on it
    assert (await ops.data(com, "YoungAdultRecord", {"id": ya}))["youngAdult"] is None
    for key, (_service, _role, team_role, _site) in PRACTITIONERS.items():
        await ops.ok(pom, "AddTeamMember", {"youngAdultId": ya, "practitionerId": cw.practitioner_ids[key],
                                            "role": team_role})
    assert (await ops.data(com, "YoungAdultRecord", {"id": ya}))["youngAdult"]["familyName"] == "Example-Journey"
    leaving_care = await ops.ok(pa, "EnrolYoungAdult", {"youngAdultId": ya, "siteId": cw.sites["BRM-LC"]})

    version = referred["enrolment"]["version"]
    for status in ("CONSENTED", "ACTIVE"):
        moved = await ops.ok(pom, "ChangeEnrolmentStatus", {"enrolmentId": enrolment["id"], "version": version,
                                                            "status": status})
        version = moved["enrolment"]["version"]
    assert [h["status"] for h in moved["enrolment"]["statusHistory"]] == ["REFERRED", "CONSENTED", "ACTIVE"]

    # custody and key dates; a contradiction is refused naming both dates
    dates = {"youngAdultId": ya, "prisonSiteId": cw.sites["BSI"], "receptionDate": days_ago(200),
             "sentenceType": "DETERMINATE", "sentenceStart": days_ago(200), "crd": days_ahead(0),
             "ard": days_ahead(30), "sed": days_ahead(200), "led": days_ahead(200), "tused": days_ahead(565)}
    refused = await ops.payload(pom, "RecordCustodyEpisode", {**dates, "sed": days_ago(300)})
    assert refused["custodyEpisode"] is None
    assert [(e["code"], e["field"]) for e in refused["errors"]] == [("INVALID", "sed")]
    assert "sed (sentence expiry date)" in refused["errors"][0]["message"]
    assert "sentenceStart (sentence start)" in refused["errors"][0]["message"]
    episode = (await ops.ok(pom, "RecordCustodyEpisode", dates))["custodyEpisode"]
    assert episode["earliestReleaseDate"] == TODAY.isoformat()  # no PED: the earlier of ARD and CRD

    await ops.ok(pa, "RecordAssessment", {"youngAdultId": ya, "source": "LA_NEEDS_ASSESSMENT",
                                          "assessedOn": days_ago(20), "summary": "Needs a tenancy on release.",
                                          "needs": [{"pathway": "ACCOMMODATION", "level": "HIGH"},
                                                    {"pathway": "HEALTH", "level": "LOW"}]})

    # the plan: goals and actions from each service, then sign-off by all three
    plan = (await ops.ok(pom, "CreatePlan", {"youngAdultId": ya}))["plan"]
    draft = (await ops.ok(pa, "AddPlanGoal", {"planId": plan["id"], "pathway": "ACCOMMODATION",
                                              "description": "A settled home on release day"}))["planVersion"]
    goal = draft["goals"][0]
    draft = (await ops.ok(pa, "AddPlanAction", {"goalId": goal["id"], "description": "Apply for supported housing",
                                                "ownerService": "LEAVING_CARE", "ownerId": cw.practitioner_ids["pa"],
                                                "dueOn": days_ahead(-10)}))["planVersion"]
    draft = (await ops.ok(com, "AddPlanGoal", {"planId": plan["id"], "pathway": "EDUCATION_TRAINING_EMPLOYMENT",
                                               "description": "A college place"}))["planVersion"]
    assert draft["number"] == 1
    assert draft["status"] == "DRAFT"
    for key in ("pom", "com", "pa"):
        signed = await ops.ok(cw.callers[key], "SignOffPlanVersion", {"planVersionId": draft["id"],
                                                                      "version": draft["version"]})
    assert signed["planVersion"]["status"] == "AGREED"
    assert signed["planVersion"]["missingServices"] == []

    # editing the agreed plan starts version 2; a second editor who read version 1 loses nothing and is told so
    action = draft["goals"][0]["actions"][0]
    edited = (await ops.ok(pa, "UpdatePlanAction", {"id": action["id"], "version": action["version"],
                                                    "dueOn": days_ago(5)}))["planVersion"]
    assert (edited["number"], edited["status"]) == (2, "DRAFT")
    late = await ops.payload(com, "UpdatePlanAction", {"id": action["id"], "version": action["version"],
                                                       "description": "Something else"})
    assert [e["code"] for e in late["errors"]] == ["STALE_VERSION"]
    history = (await ops.data(pom, "PlanHistory", {"youngAdultId": ya}))["youngAdult"]["plan"]["versions"]
    assert [(v["number"], v["status"]) for v in history] == [(2, "DRAFT"), (1, "AGREED")]
    copies = [v["goals"][0]["actions"][0] for v in history]
    assert copies[0]["lineageId"] == copies[1]["lineageId"]
    assert [c["dueOn"] for c in copies] == [days_ago(5), days_ahead(-10)]
    assert [c["description"] for c in copies] == ["Apply for supported housing"] * 2
    for key in ("pa", "pom", "com"):
        signed = await ops.ok(cw.callers[key], "SignOffPlanVersion", {"planVersionId": edited["id"],
                                                                      "version": edited["version"]})
    assert signed["planVersion"]["status"] == "AGREED"

    # the pre-release meeting of all three services, then release
    meeting = await ops.ok(pom, "RecordMeeting", {
        "youngAdultId": ya, "kind": "PRE_RELEASE", "heldOn": TODAY.isoformat(),
        "attendees": [{"practitionerId": cw.practitioner_ids[k]} for k in ("pom", "com", "pa")],
        "outcome": "Housing confirmed; met at the gate.", "agreedPlanVersionId": edited["id"]})
    assert meeting["meeting"]["agreedPlanVersion"] == {"id": edited["id"], "number": 2, "status": "AGREED"}
    early = await ops.payload(pom, "RecordRelease", {"custodyEpisodeId": episode["id"], "version": episode["version"],
                                                     "actualReleaseDate": days_ago(250), "releaseType": "CONDITIONAL"})
    assert "actualReleaseDate (release)" in early["errors"][0]["message"]
    assert "receptionDate (reception)" in early["errors"][0]["message"]
    await ops.ok(pom, "RecordRelease", {"custodyEpisodeId": episode["id"], "version": episode["version"],
                                        "actualReleaseDate": TODAY.isoformat(), "releaseType": "CONDITIONAL"})
    full = (await ops.data(pom, "YoungAdultRecord", {"id": ya}))["youngAdult"]
    return {"full": full, "leaving_care": leaving_care["enrolment"]["id"]}
