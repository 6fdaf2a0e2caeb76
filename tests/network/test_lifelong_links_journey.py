"""Acceptance for the support network (issue 4), through GraphQL only, with the published operations: a case from
referral through search, vetting, consent and contact, a Lifelong Links meeting and an agreed support plan whose
commitments appear against the integrated plan's goals; the network measures; need-to-know on contact details;
and nothing at all for another tenant."""

from __future__ import annotations

import asyncpg
from graphql import OperationDefinitionNode, parse, validate

from service.app.schema import schema
from service.kernel.principal import Role
from tests.audit_rows import by_type
from tests.conftest import CallerFactory, TenantFactory
from tests.network.world import add_member, build_world, day, move, operation_files, plan_goal


async def test_a_case_from_referral_to_an_agreed_support_plan(
        make_tenant: TenantFactory, login: CallerFactory, admin_conn: asyncpg.Connection) -> None:
    world = await build_world(make_tenant, login, admin_conn)
    ops, coordinator, pa, com, pom = (world.ops, world.staff["coordinator"], world.staff["pa"], world.staff["com"],
                                      world.staff["pom"])
    ya = {"youngAdultId": world.young_adult}

    # Referral by the personal adviser; the coordinator sees the young adult through the Lifelong Links service.
    case = await ops.ok(pa, "NetworkReferToLifelongLinks", {
        "youngAdultId": world.young_adult, "siteId": world.sites["WM-LL"],
        "coordinatorId": world.practitioners["coordinator"], "referredOn": day(-60)})
    assert case["stage"] == "REFERRED"
    assert case["stages"] == [{"stage": "REFERRED", "enteredOn": day(-60)}]
    assert case["coordinator"] == {"id": world.practitioners["coordinator"]}
    for purpose, organisation in (("PARTICIPATION", None), ("SHARING", "Family Rights Group"),
                                  ("AGGREGATE_REPORTING", None)):
        await ops.ok(coordinator, "ConsentRecord", {**ya, "purpose": purpose, "organisation": organisation,
                                                    "grantedOn": day(-59)})
    case = await ops.ok(coordinator, "NetworkUpdateLifelongLinksCase", {
        "id": case["id"], "version": case["version"], "connectionScoreStart": 3.5})
    objective = await ops.ok(coordinator, "NetworkAddObjective", {
        "caseId": case["id"], "description": "Someone to spend Christmas with"})

    # Stages in order; a skipped step is named.
    case = await ops.ok(coordinator, "NetworkMoveLifelongLinksStage", {
        "id": case["id"], "version": case["version"], "stage": "EXPLORING", "enteredOn": day(-55)})
    skipped = await ops.refusals(coordinator, "NetworkMoveLifelongLinksStage", {
        "id": case["id"], "version": case["version"], "stage": "PLAN_AGREED", "enteredOn": day(-54)})
    assert [code for code, _ in skipped] == ["ORDER_REQUIRED", "MEETING_REQUIRED", "COMMITMENT_REQUIRED"]
    assert skipped[0][1].startswith("PLAN_AGREED needs MEETING_HELD first")
    case = await ops.ok(coordinator, "NetworkMoveLifelongLinksStage", {
        "id": case["id"], "version": case["version"], "stage": "SEARCHING", "enteredOn": day(-50)})

    # The network: one person known before the referral, three found by search, one who will decline.
    aunt = await add_member(world, case["id"], given="Pat", relationship="RELATIVE", known_before=True,
                            identified=-70, phone="07700 900123",
                            email="pat@example.org", address="1 Example Street, Birmingham")
    carer = await add_member(world, case["id"], given="Jo", relationship="FORMER_FOSTER_CARER", identified=-45,
                             phone="07700 900456")
    teacher = await add_member(world, case["id"], given="Lee", relationship="TEACHER", identified=-44,
                               email="lee@example.org")
    cousin = await add_member(world, case["id"], given="Kim", relationship="RELATIVE", identified=-43)
    members = [aunt, carer, teacher, cousin]
    case = await ops.ok(coordinator, "NetworkMoveLifelongLinksStage", {
        "id": case["id"], "version": case["version"], "stage": "CONTACTING", "enteredOn": day(-40)})

    for member in members:
        await move(world, "coordinator", member, "FOUND", -40)
    # Not before vetting and the member's own consent.
    unvetted = await ops.refusals(coordinator, "NetworkMoveMemberStatus", {
        "id": aunt["id"], "version": aunt["version"], "status": "CONTACTED", "changedOn": day(-39)})
    assert unvetted == [("CONSENT_REQUIRED", "CONTACTED needs the member's consent to be contacted first."),
                        ("VETTING_REQUIRED", "CONTACTED needs vetting sign-off by LEAVING_CARE first."),
                        ("VETTING_REQUIRED", "CONTACTED needs vetting sign-off by PROBATION first.")]
    for member in members:
        consent = await ops.ok(coordinator, "ConsentRecord", {
            **ya, "networkMemberId": member["id"], "purpose": "CONTACT", "grantedOn": day(-39)})
        assert consent["networkMember"] == {"id": member["id"]}
    unvetted = await ops.refusals(coordinator, "NetworkMoveMemberStatus", {
        "id": aunt["id"], "version": aunt["version"], "status": "CONTACTED", "changedOn": day(-39)})
    assert [code for code, _ in unvetted] == ["VETTING_REQUIRED", "VETTING_REQUIRED"]
    for member in members:
        half = await ops.ok(pa, "NetworkSignOffVetting", {"memberId": member["id"], "outcome": "CLEARED",
                                                          "signedOn": day(-38)})
        assert half["vettingOutcome"] == "PENDING"
        vetted = await ops.ok(com, "NetworkSignOffVetting", {"memberId": member["id"], "outcome": "CLEARED",
                                                             "signedOn": day(-37)})
        assert vetted["vettingOutcome"] == "CLEARED"
        assert {(s["service"], s["signedBy"]["id"]) for s in vetted["vettingSignoffs"]} == {
            ("LEAVING_CARE", world.practitioners["pa"]), ("PROBATION", world.practitioners["com"])}
        member["version"] = vetted["version"]
        await ops.ok(coordinator, "NetworkUpdateMember", {"id": member["id"], "version": member["version"],
                                                          "privacyNoticeOn": day(-36)})
        member["version"] += 1
        await move(world, "coordinator", member, "CONTACTED", -36)
    for member in (aunt, carer, teacher):
        await move(world, "coordinator", member, "AGREED", -35)
    await move(world, "coordinator", cousin, "DECLINED", -35)

    # The Lifelong Links meeting, then the support plan: commitments against the integrated plan's goals.
    meeting = await ops.ok(coordinator, "NetworkRecordMeeting", {
        **ya, "heldOn": day(-30), "outcome": "A lifelong support plan was agreed.",
        "practitionerIds": [world.practitioners["coordinator"], world.practitioners["pa"]],
        "memberIds": [aunt["id"], carer["id"], teacher["id"]]})
    assert len(meeting["members"]) == 3
    assert len(meeting["practitioners"]) == 2
    case = await ops.ok(coordinator, "NetworkMoveLifelongLinksStage", {
        "id": case["id"], "version": case["version"], "stage": "MEETING_HELD", "enteredOn": day(-30)})
    no_plan = await ops.refused(coordinator, "NetworkMoveLifelongLinksStage", {
        "id": case["id"], "version": case["version"], "stage": "PLAN_AGREED", "enteredOn": day(-29)})
    assert no_plan["message"] == "PLAN_AGREED needs at least one commitment from the network recorded first."

    goal, gate = await plan_goal(admin_conn, world, "Somewhere settled to live on release",
                                 "Collected from the prison on release day")
    at_gate = await ops.ok(coordinator, "NetworkAddCommitment", {
        "memberId": aunt["id"], "description": "Meets him at the gate on release day", "actionLineageId": str(gate)})
    assert at_gate["goalLineageId"] == str(goal)  # the action's goal, found from the plan
    visits = await ops.ok(coordinator, "NetworkAddCommitment", {
        "memberId": carer["id"], "description": "Visits monthly", "goalLineageId": str(goal)})
    helps = await ops.ok(coordinator, "NetworkAddCommitment", {
        "memberId": teacher["id"], "description": "Helps with a college application", "goalLineageId": str(goal)})
    for member in (aunt, carer, teacher):
        await move(world, "coordinator", member, "COMMITTED", -29)
    for member in (aunt, carer):
        await move(world, "coordinator", member, "ACTIVE", -20)
    case = await ops.ok(coordinator, "NetworkMoveLifelongLinksStage", {
        "id": case["id"], "version": case["version"], "stage": "PLAN_AGREED", "enteredOn": day(-29)})
    assessed = await ops.ok(coordinator, "NetworkAssessObjective", {
        "id": objective["id"], "version": objective["version"], "met": True, "assessedOn": day(-5)})
    assert assessed["met"] is True
    case = await ops.ok(coordinator, "NetworkUpdateLifelongLinksCase", {
        "id": case["id"], "version": case["version"], "connectionScoreFollowUp": 7})
    ended = await ops.ok(coordinator, "NetworkEndCommitment", {
        "id": helps["id"], "version": helps["version"], "endsOn": day(-1)})
    assert ended["status"] == "ENDED"

    # The plan shows who in the network carries what: by goal, and by action.
    against_goal = (await ops(pom, "NetworkCommitmentsForYoungAdult", {**ya, "goalLineageId": str(goal)}))[
        "commitmentsForYoungAdult"]
    assert [(c["description"], c["member"]["relationship"], c["status"]) for c in against_goal] == [
        ("Meets him at the gate on release day", "RELATIVE", "ACTIVE"),
        ("Visits monthly", "FORMER_FOSTER_CARER", "ACTIVE"),
        ("Helps with a college application", "TEACHER", "ENDED")]
    against_action = (await ops(pom, "NetworkCommitmentsForYoungAdult", {**ya, "actionLineageId": str(gate)}))[
        "commitmentsForYoungAdult"]
    assert [c["id"] for c in against_action] == [at_gate["id"]]
    assert visits["member"] == {"id": carer["id"], "relationship": "FORMER_FOSTER_CARER"}

    # The case as recorded.
    shown = (await ops(coordinator, "NetworkLifelongLinksCase", ya))["lifelongLinksCase"]
    assert [s["stage"] for s in shown["stages"]] == ["REFERRED", "EXPLORING", "SEARCHING", "CONTACTING",
                                                     "MEETING_HELD", "PLAN_AGREED"]
    assert (shown["connectionScoreStart"], shown["connectionScoreFollowUp"]) == (3.5, 7.0)
    assert [(o["met"], o["assessedOn"]) for o in shown["objectives"]] == [(True, day(-5))]
    assert len(shown["members"]) == 4
    meetings = (await ops(pom, "NetworkMeetings", ya))["networkMeetings"]
    assert [m["heldOn"] for m in meetings] == [day(-30)]

    # Network measures.
    measures = (await ops(pom, "NetworkMeasures", ya))["networkMeasures"]
    assert {k: v for k, v in measures.items() if k != "byStatus"} == {
        "sizeAtReferral": 1, "sizeNow": 3, "identified": 4, "committed": 3, "active": 2, "committedWanted": 3,
        "committedTargetMet": True}
    assert {s["status"]: s["count"] for s in measures["byStatus"] if s["count"]} == {
        "ACTIVE": 2, "COMMITTED": 1, "DECLINED": 1}

    # Need-to-know: the coordinator and the personal adviser see how to reach the aunt; nobody else does.
    for who in ("coordinator", "pa"):
        shown_members = (await ops(world.staff[who], "NetworkMembers", ya))["networkMembers"]
        assert (shown_members[0]["phone"], shown_members[0]["email"], shown_members[0]["address"]) == (
            "07700 900123", "pat@example.org", "1 Example Street, Birmingham"), who
    for caller in (pom, com, world.staff["other_pa"], world.admin):
        shown_members = (await ops(caller, "NetworkMembers", ya))["networkMembers"]
        assert [(m["relationship"], m["status"]) for m in shown_members] == [
            ("RELATIVE", "ACTIVE"), ("FORMER_FOSTER_CARER", "ACTIVE"), ("TEACHER", "COMMITTED"),
            ("RELATIVE", "DECLINED")]
        leaked = [(m["givenName"], f) for m in shown_members for f in ("phone", "email", "address") if m[f]]
        assert leaked == [], leaked
        assert not any(m["contactDetailsVisible"] for m in shown_members)

    # Another tenant sees nothing: no node, no list, no change.
    other = await make_tenant()
    stranger = await login(Role.TENANT_ADMIN, other)
    for global_id in (case["id"], aunt["id"], at_gate["id"], meeting["id"], objective["id"], world.young_adult):
        assert (await stranger.data("query($id: ID!) { node(id: $id) { id } }", {"id": global_id}))["node"] is None
    for name in ("NetworkLifelongLinksCase", "NetworkMembers", "NetworkCommitmentsForYoungAdult", "NetworkMeetings",
                 "NetworkMeasures", "ConsentsForYoungAdult"):
        body = await ops.raw(stranger, name, ya)
        assert not any((body["data"] or {}).values()), name
        assert [e["extensions"]["code"] for e in body["errors"]] == ["NOT_FOUND"], name
    refused = await ops.refused(stranger, "NetworkMoveMemberStatus", {
        "id": aunt["id"], "version": aunt["version"], "status": "LAPSED"})
    assert refused["code"] == "NOT_FOUND"
    refused = await ops.refused(stranger, "ConsentRecord", {**ya, "purpose": "PARTICIPATION"})
    assert refused["code"] == "NOT_FOUND"

    # Withdrawing the aunt's consent to contact: contact stops, her details are withheld, the record stays.
    consents = (await ops(coordinator, "ConsentsForYoungAdult", ya))["consents"]
    aunt_contact = next(c for c in consents if c["networkMember"] and c["networkMember"]["id"] == aunt["id"])
    withdrawn = await ops.ok(coordinator, "ConsentWithdraw", {
        "id": aunt_contact["id"], "version": aunt_contact["version"], "withdrawnOn": day(0)})
    assert (withdrawn["active"], withdrawn["withdrawnOn"]) == (False, day(0))
    after = (await ops(coordinator, "NetworkMembers", ya))["networkMembers"][0]
    assert after["contactConsent"] == "WITHDRAWN"
    assert (after["phone"], after["email"], after["address"], after["contactDetailsVisible"]) == (
        None, None, None, False)
    assert after["contactConsents"] == [{"id": aunt_contact["id"], "grantedOn": day(-39), "withdrawnOn": day(0),
                                         "active": False}]
    lapsed = await move(world, "coordinator", {"id": aunt["id"], "version": after["version"]}, "LAPSED", 0)
    back = await ops.refused(coordinator, "NetworkMoveMemberStatus", {
        "id": aunt["id"], "version": lapsed["version"], "status": "ACTIVE"})
    assert back["message"] == "ACTIVE is refused: the member has withdrawn consent to be contacted."

    # Every view and change is on the audit trail; contact details were disclosed to the two with need-to-know.
    audit = await admin_conn.fetch(
        f"SELECT actor_subject, action, subject_type, fields FROM {by_type(world.tenant.schema)}")
    kinds = {(r["action"], r["subject_type"]) for r in audit}
    assert {("CREATE", "LifelongLinksCase"), ("ALTER", "LifelongLinksCase"), ("CREATE", "LifelongLinksObjective"),
            ("ALTER", "LifelongLinksObjective"), ("CREATE", "NetworkMember"), ("ALTER", "NetworkMember"),
            ("CREATE", "NetworkCommitment"), ("ALTER", "NetworkCommitment"), ("CREATE", "NetworkMeeting"),
            ("CREATE", "Consent"), ("ALTER", "Consent"), ("CONSULT", "LifelongLinksCase"),
            ("CONSULT", "NetworkMember"), ("CONSULT", "NetworkCommitment"), ("CONSULT", "NetworkMeeting"),
            ("CONSULT", "NetworkMeasures"), ("CONSULT", "Consent"), ("DISCLOSE", "NetworkMember")} <= kinds
    disclosed_to = {r["actor_subject"] for r in audit if r["action"] == "DISCLOSE"}
    assert disclosed_to == {world.subjects["coordinator"], world.subjects["pa"]}
    assert ops.used == set(operation_files()), set(operation_files()) - ops.used


def test_each_operation_file_holds_one_named_operation_that_validates() -> None:
    """Front-ends (and the plan feature's runner) load these files by name, one operation each."""
    files = operation_files()
    assert files
    for name, text in files.items():
        document = parse(text)
        operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
        assert [o.name.value if o.name else None for o in operations] == [name], name
        assert validate(schema._schema, document) == [], name
