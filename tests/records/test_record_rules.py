"""Rules of the record: enrolment status moves forward only, team roles match services, and leaving the team
ends the access it gave."""

from __future__ import annotations

from tests.conftest import CallerFactory, TenantFactory
from tests.operations import Operations
from tests.records.casework import casework, young_adult


async def test_enrolment_status_moves_forward_and_exit_needs_a_reason(make_tenant: TenantFactory,
                                                                     login: CallerFactory) -> None:
    cw = await casework(make_tenant, login, Operations())
    ops, pom = cw.ops, cw.callers["pom"]
    ya = (await ops.ok(pom, "CreateYoungAdult", young_adult(cw.sites["BSI"], "Example-Status")))["youngAdult"]["id"]
    enrolment = (await ops.data(pom, "YoungAdultRecord", {"id": ya}))["youngAdult"]["enrolments"][0]
    move = {"enrolmentId": enrolment["id"], "version": enrolment["version"]}
    consented = await ops.ok(pom, "ChangeEnrolmentStatus", {**move, "status": "CONSENTED"})
    back = await ops.payload(pom, "ChangeEnrolmentStatus", {**move, "version": 2, "status": "REFERRED"})
    assert [(e["code"], e["field"]) for e in back["errors"]] == [("INVALID", "status")]
    no_reason = await ops.payload(pom, "ChangeEnrolmentStatus", {**move, "version": 2, "status": "EXITED"})
    assert [e["field"] for e in no_reason["errors"]] == ["reason"]
    stale = await ops.payload(pom, "ChangeEnrolmentStatus", {**move, "status": "ACTIVE"})
    assert [e["code"] for e in stale["errors"]] == ["STALE_VERSION"]
    exited = await ops.ok(pom, "ChangeEnrolmentStatus", {**move, "version": consented["enrolment"]["version"],
                                                         "status": "EXITED", "reason": "Moved out of area"})
    assert exited["enrolment"]["exitReason"] == "Moved out of area"
    assert [h["status"] for h in exited["enrolment"]["statusHistory"]] == ["CONSENTED", "EXITED"]


async def test_team_roles_match_services_and_leaving_ends_access(make_tenant: TenantFactory,
                                                                 login: CallerFactory) -> None:
    cw = await casework(make_tenant, login, Operations())
    ops, pom, com = cw.ops, cw.callers["pom"], cw.callers["com"]
    ya = (await ops.ok(pom, "CreateYoungAdult", young_adult(cw.sites["BSI"], "Example-Team")))["youngAdult"]["id"]
    wrong = await ops.payload(pom, "AddTeamMember", {"youngAdultId": ya, "practitionerId": cw.practitioner_ids["com"],
                                                     "role": "PERSONAL_ADVISER"})
    assert [(e["code"], e["field"]) for e in wrong["errors"]] == [("INVALID", "practitionerId")]
    member = (await ops.ok(pom, "AddTeamMember", {"youngAdultId": ya, "practitionerId": cw.practitioner_ids["com"],
                                                  "role": "COMMUNITY_OFFENDER_MANAGER"}))["teamMember"]
    second = await ops.payload(pom, "AddTeamMember", {"youngAdultId": ya,
                                                      "practitionerId": cw.practitioner_ids["com"],
                                                      "role": "COMMUNITY_OFFENDER_MANAGER"})
    assert [e["code"] for e in second["errors"]] == ["CONFLICT"]
    assert (await ops.data(com, "YoungAdultRecord", {"id": ya}))["youngAdult"]["id"] == ya
    await ops.ok(pom, "EndTeamMembership", {"id": member["id"], "version": member["version"]})
    assert (await ops.data(com, "YoungAdultRecord", {"id": ya}))["youngAdult"] is None
    record = (await ops.data(pom, "YoungAdultRecord", {"id": ya}))["youngAdult"]
    assert record["team"] == []
    assert [e["kind"] for e in record["timeline"]][-2:] == ["TEAM_MEMBER_JOINED", "TEAM_MEMBER_LEFT"]
