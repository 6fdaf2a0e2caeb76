"""The acceptance test of strand 1, through GraphQL only: a young adult walked from referral to a plan agreed by
prison, probation and leaving care, a pre-release meeting and release; the timeline and audit trail checked; and
nobody outside the team — another practitioner, another tenant, a national analyst, a platform admin — sees any of
it."""

from __future__ import annotations

import base64
import json
from typing import Any

from service.kernel.principal import Role, Service
from tests.conftest import Caller, CallerFactory, TenantFactory
from tests.operations import Operations
from tests.records.casework import TODAY, casework, walk_to_release

NODE = "query($id: ID!) { node(id: $id) { id } }"


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
    assert events[-1]["action"] == "CREATE"
    assert events[-1]["subjectType"] == "YoungAdult"
    subjects = {e["actorSubject"] for e in events if e["action"] == "CONSULT" and e["subjectType"] == "YoungAdult"}
    assert {cw.subjects["pom"], cw.subjects["com"]} <= subjects
    viewed = {e["subjectType"] for e in events if e["action"] == "CONSULT"}
    assert viewed >= {"YoungAdult", "CustodyEpisode", "Assessment", "IntegratedPlan", "PlanVersion", "Meeting",
                      "Timeline"}
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
