"""The acceptance test of strand 1, through GraphQL only: a young adult walked from referral to a plan agreed by
prison, probation and leaving care, a pre-release meeting and release; the timeline and audit trail checked; and
nobody outside the team — another practitioner, another tenant, a national analyst, a platform admin — sees any of
it."""

from __future__ import annotations

import base64
import datetime as dt
import json
from typing import Any

from service.auth import Role, Service
from tests.conftest import Caller, CallerFactory, TenantFactory
from tests.operations import Operations
from tests.records.casework import PRACTITIONERS, Casework, casework, young_adult

NODE = "query($id: ID!) { node(id: $id) { id } }"
TODAY = dt.date.today()


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
    assert draft["number"] == 1 and draft["status"] == "DRAFT"
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


def case_ids_in(value: Any) -> set[str]:
    """Every global id of case data in a response (sites and practitioners are not case data)."""
    if isinstance(value, dict):
        found = {v for k, v in value.items() if k in ("id", "subjectId") and isinstance(v, str)
                 and base64.urlsafe_b64decode(v).decode().split(":")[0] not in ("Site", "Practitioner")}
        for v in value.values():
            found |= case_ids_in(v)
        return found
    if isinstance(value, list):
        return set().union(*(case_ids_in(v) for v in value)) if value else set()
    return set()


async def sees_nothing(ops: Operations, caller: Caller, ya: str, ids: set[str], secrets_: tuple[str, ...]) -> None:
    """Every read of the record and every node of it answers as if it did not exist, and nothing leaks."""
    bodies = [await ops.raw(caller, "YoungAdultRecord", {"id": ya}),
              await ops.raw(caller, "PlanHistory", {"youngAdultId": ya}),
              await ops.raw(caller, "Caseload", {"first": 100}),
              await ops.raw(caller, "AuditTrail", {"youngAdultId": ya})]
    bodies += [await caller(NODE, {"id": i}) for i in sorted(ids)]
    bodies.append(await caller("mutation($i: UpdateYoungAdultInput!) { updateYoungAdult(input: $i) "
                               "{ youngAdult { id } errors { code } } }",
                               {"i": {"id": ya, "version": 1, "familyName": "Example-Hijack"}}))
    for body in bodies:
        text = json.dumps(body)
        assert not any(s in text for s in secrets_), text
        data = body.get("data") or {}
        for key in ("youngAdult", "node"):
            assert data.get(key) is None, body
        assert not (data.get("caseload") or {}).get("edges"), body
        if data.get("updateYoungAdult"):
            assert data["updateYoungAdult"]["errors"] == [{"code": "NOT_FOUND"}]
        if body.get("errors"):
            assert {e["extensions"]["code"] for e in body["errors"]} <= {"FORBIDDEN"}, body


async def test_referral_to_release_with_an_agreed_plan(make_tenant: TenantFactory, login: CallerFactory) -> None:
    ops = Operations()
    cw = await casework(make_tenant, login, ops)
    walked = await walk_to_release(cw)
    full = walked["full"]
    ya = full["id"]

    assert [e["site"]["code"] for e in full["enrolments"]] == ["BSI", "BRM-LC"]
    assert {m["role"] for m in full["team"]} == {"OFFENDER_MANAGER", "COMMUNITY_OFFENDER_MANAGER",
                                                 "PERSONAL_ADVISER"}
    assert full["plan"]["agreedVersion"]["number"] == 2
    assert [s["service"] for s in full["plan"]["agreedVersion"]["signoffs"]] == ["LEAVING_CARE", "PRISON",
                                                                                 "PROBATION"]
    assert full["plan"]["currentVersion"]["id"] == full["plan"]["agreedVersion"]["id"]
    assert full["custodyEpisodes"][0]["actualReleaseDate"] == TODAY.isoformat()
    assert full["meetings"][0]["kind"] == "PRE_RELEASE"
    assert len(full["meetings"][0]["attendees"]) == 3

    timeline = [(e["kind"], e["detail"]) for e in full["timeline"]]
    assert timeline == [
        ("CUSTODY_RECEPTION", "DETERMINATE"),
        ("ASSESSMENT_RECORDED", "LA_NEEDS_ASSESSMENT"),
        ("ENROLMENT_IDENTIFIED", "BSI"),
        ("ENROLMENT_STATUS_CHANGED", "REFERRED"),
        ("TEAM_MEMBER_JOINED", "OFFENDER_MANAGER"),
        ("TEAM_MEMBER_JOINED", "COMMUNITY_OFFENDER_MANAGER"),
        ("TEAM_MEMBER_JOINED", "PERSONAL_ADVISER"),
        ("ENROLMENT_IDENTIFIED", "BRM-LC"),
        ("ENROLMENT_STATUS_CHANGED", "CONSENTED"),
        ("ENROLMENT_STATUS_CHANGED", "ACTIVE"),
        ("PLAN_VERSION_STARTED", "1"),
        ("PLAN_SIGNED_OFF", "PRISON"), ("PLAN_SIGNED_OFF", "PROBATION"), ("PLAN_SIGNED_OFF", "LEAVING_CARE"),
        ("PLAN_AGREED", "1"),
        ("PLAN_VERSION_STARTED", "2"),
        ("PLAN_SIGNED_OFF", "LEAVING_CARE"), ("PLAN_SIGNED_OFF", "PRISON"), ("PLAN_SIGNED_OFF", "PROBATION"),
        ("PLAN_AGREED", "2"),
        ("MEETING_HELD", "PRE_RELEASE"),
        ("RELEASED", "CONDITIONAL"),
    ]

    # the audit trail: every change, and every practitioner's views, for the tenant administrator only
    events: list[dict[str, Any]] = []
    after = None
    while True:  # newest first, a page at a time
        trail = (await ops.data(cw.admin, "AuditTrail", {"youngAdultId": ya, "first": 25, "after": after}))
        events += [e["node"] for e in trail["auditTrail"]["edges"]]
        if not trail["auditTrail"]["pageInfo"]["hasNextPage"]:
            break
        after = trail["auditTrail"]["pageInfo"]["endCursor"]
    assert len(events) > 25
    assert events == sorted(events, key=lambda e: e["occurredAt"], reverse=True)
    assert events[-1]["action"] == "CREATE" and events[-1]["subjectType"] == "YoungAdult"
    subjects = {e["actorSubject"] for e in events if e["action"] == "CONSULT" and e["subjectType"] == "YoungAdult"}
    assert {cw.subjects["pom"], cw.subjects["com"]} <= subjects
    signers = {e["actorSubject"] for e in events if e["subjectType"] == "PlanSignoff"}
    assert signers == set(cw.subjects.values())
    assert any(e["action"] == "ALTER" and e["subjectType"] == "CustodyEpisode"
               and e["fields"] == ["actual_release_date", "release_type"] for e in events)
    assert all(e["actorRole"] in ("PRACTITIONER", "TENANT_ADMIN") for e in events)
    refused = await ops.raw(cw.callers["pom"], "AuditTrail", {"youngAdultId": ya})
    assert refused["errors"][0]["extensions"]["code"] == "FORBIDDEN"

    # nobody outside the team sees any of it
    ids = case_ids_in(full) | {walked["leaving_care"]}
    secrets_ = ("Example-Journey", "Z1234JY", "Housing confirmed", "supported housing", *sorted(ids))
    outsider = await login(Role.PRACTITIONER, cw.tenant, service=Service.PRISON, sites=("SHI",))
    other_tenant = await make_tenant(sites=(("BSI", "HMP Brinsford", "PRISON"),))
    stranger = await login(Role.PRACTITIONER, other_tenant, service=Service.PRISON, sites=("BSI",))
    stranger_admin = await login(Role.TENANT_ADMIN, other_tenant)
    analyst = await login(Role.NATIONAL_ANALYST)
    platform = await login(Role.PLATFORM_ADMIN)
    for caller in (outsider, stranger, stranger_admin, analyst, platform):
        await sees_nothing(ops, caller, ya, ids, secrets_)

    # a restricted record: a colleague at the same prison who is not on the team, and the site's manager, lose it
    colleague = await login(Role.PRACTITIONER, cw.tenant, service=Service.PRISON, sites=("BSI",))
    manager = await login(Role.SITE_MANAGER, cw.tenant, sites=("BSI",))
    assert (await ops.data(colleague, "YoungAdultRecord", {"id": ya}))["youngAdult"]["id"] == ya
    await ops.ok(cw.callers["pom"], "RestrictYoungAdultAccess", {"id": ya, "version": full["version"],
                                                                 "restricted": True})
    for caller in (colleague, manager):
        await sees_nothing(ops, caller, ya, ids, secrets_)
    for caller in (cw.callers["com"], cw.admin):
        assert (await ops.data(caller, "YoungAdultRecord", {"id": ya}))["youngAdult"]["accessRestricted"] is True
