"""The support network's rules: stage order, member status order, vetting before contact, referral and
commitment checks. Refusals are data naming what is missing, and write nothing."""

from __future__ import annotations

import asyncpg
import pytest

from service.network.members import status_refusal
from service.network.service import stage_refusal
from tests.conftest import CallerFactory, TenantFactory
from tests.network.world import add_member, build_world, day, move, open_case, plan_goal


@pytest.mark.parametrize(("current", "target", "message"), [
    ("REFERRED", "EXPLORING", None),
    ("CONTACTING", "CLOSED", None),
    ("REFERRED", "PLAN_AGREED", "PLAN_AGREED needs MEETING_HELD first; the case is at REFERRED, next is EXPLORING."),
    ("SEARCHING", "MEETING_HELD", "MEETING_HELD needs CONTACTING first; the case is at SEARCHING, next is "
                                  "CONTACTING."),
    ("PLAN_AGREED", "SEARCHING", "The case cannot go back from PLAN_AGREED to SEARCHING."),
    ("EXPLORING", "EXPLORING", "The case is already at EXPLORING."),
    ("CLOSED", "REVIEWED", "The case is closed."),
])
def test_stage_order(current: str, target: str, message: str | None) -> None:
    assert stage_refusal(current, target) == message


@pytest.mark.parametrize(("current", "target", "message"), [
    ("IDENTIFIED", "FOUND", None),
    ("CONTACTED", "DECLINED", None),
    ("LAPSED", "ACTIVE", None),
    ("IDENTIFIED", "CONTACTED", "CONTACTED needs FOUND first; the member is IDENTIFIED."),
    ("FOUND", "COMMITTED", "COMMITTED needs AGREED first; the member is FOUND."),
    ("DECLINED", "AGREED", "AGREED needs CONTACTED first; the member is DECLINED."),
    ("FOUND", "ACTIVE", "ACTIVE needs COMMITTED or LAPSED first; the member is FOUND."),
])
def test_member_status_order(current: str, target: str, message: str | None) -> None:
    assert status_refusal(current, target) == message


async def test_referral_checks(make_tenant: TenantFactory, login: CallerFactory,
                               admin_conn: asyncpg.Connection) -> None:
    world = await build_world(make_tenant, login, admin_conn)
    ops, pa = world.ops, world.staff["pa"]
    base = {"youngAdultId": world.young_adult, "siteId": world.sites["WM-LL"]}
    wrong_site = await ops.refused(pa, "NetworkReferToLifelongLinks", {**base, "siteId": world.sites["BRM-LC"]})
    assert wrong_site["field"] == "siteId"
    not_coordinator = await ops.refused(pa, "NetworkReferToLifelongLinks", {
        **base, "coordinatorId": world.practitioners["pa"]})
    assert not_coordinator["field"] == "coordinatorId"
    future = await ops.refused(pa, "NetworkReferToLifelongLinks", {**base, "referredOn": day(3)})
    assert (future["field"], future["message"]) == ("referredOn", "referredOn cannot be in the future.")
    assert (await ops(pa, "NetworkLifelongLinksCase", {"youngAdultId": world.young_adult}))[
        "lifelongLinksCase"] is None
    await open_case(world)
    again = await ops.refused(pa, "NetworkReferToLifelongLinks", base)
    assert again["code"] == "CONFLICT"
    # The coordinator sees the young adult only through the referral's enrolment at their service.
    node = await world.staff["coordinator"].data("query($id: ID!) { node(id: $id) { id } }",
                                                 {"id": world.young_adult})
    assert node["node"] == {"id": world.young_adult}


async def test_vetting_not_cleared_blocks_contact(make_tenant: TenantFactory, login: CallerFactory,
                                                  admin_conn: asyncpg.Connection) -> None:
    world = await build_world(make_tenant, login, admin_conn)
    case = await open_case(world)
    member = await add_member(world, case["id"])
    await move(world, "coordinator", member, "FOUND", -40)
    await world.ops.ok(world.staff["coordinator"], "ConsentRecord", {
        "youngAdultId": world.young_adult, "networkMemberId": member["id"], "purpose": "CONTACT"})
    await world.ops.ok(world.staff["pa"], "NetworkSignOffVetting", {"memberId": member["id"], "outcome": "CLEARED"})
    signed = await world.ops.ok(world.staff["com"], "NetworkSignOffVetting", {"memberId": member["id"],
                                                                             "outcome": "NOT_CLEARED"})
    assert signed["vettingOutcome"] == "NOT_CLEARED"
    refused = await world.ops.refused(world.staff["coordinator"], "NetworkMoveMemberStatus", {
        "id": member["id"], "version": signed["version"], "status": "CONTACTED"})
    assert refused["message"] == "The member was not cleared at vetting, so cannot be contacted."
    # A prison practitioner's sign-off counts for PRISON only, which the default rule does not require.
    await world.ops.ok(world.staff["pom"], "NetworkSignOffVetting", {"memberId": member["id"], "outcome": "CLEARED"})
    # A tenant administrator signs nothing off.
    admin = await world.ops.refused(world.admin, "NetworkSignOffVetting", {"memberId": member["id"],
                                                                          "outcome": "CLEARED"})
    assert admin["field"] == "memberId"


async def test_stage_dates_and_meeting_and_commitment_checks(make_tenant: TenantFactory, login: CallerFactory,
                                                             admin_conn: asyncpg.Connection) -> None:
    world = await build_world(make_tenant, login, admin_conn)
    ops, coordinator = world.ops, world.staff["coordinator"]
    case = await open_case(world)
    early = await ops.refused(coordinator, "NetworkMoveLifelongLinksStage", {
        "id": case["id"], "version": case["version"], "stage": "EXPLORING", "enteredOn": day(-61)})
    assert early["message"] == "enteredOn cannot be before the date of REFERRED."
    for stage in ("EXPLORING", "SEARCHING", "CONTACTING"):
        case = await ops.ok(coordinator, "NetworkMoveLifelongLinksStage", {
            "id": case["id"], "version": case["version"], "stage": stage, "enteredOn": day(-50)})
    stale = await ops.refused(coordinator, "NetworkMoveLifelongLinksStage", {
        "id": case["id"], "version": case["version"] - 1, "stage": "CLOSED"})
    assert stale["code"] == "STALE_VERSION"
    no_meeting = await ops.refused(coordinator, "NetworkMoveLifelongLinksStage", {
        "id": case["id"], "version": case["version"], "stage": "MEETING_HELD"})
    assert no_meeting["message"] == "MEETING_HELD needs a Lifelong Links meeting recorded first."
    member = await add_member(world, case["id"])
    not_agreed = await ops.refusals(coordinator, "NetworkRecordMeeting", {
        "youngAdultId": world.young_adult, "heldOn": day(-1), "memberIds": [member["id"]]})
    assert [code for code, _ in not_agreed] == ["AGREEMENT_REQUIRED", "CONSENT_REQUIRED"]
    goal, _action = await plan_goal(admin_conn, world, "A place to live", "Housing application")
    too_early = await ops.refusals(coordinator, "NetworkAddCommitment", {
        "memberId": member["id"], "description": "Visits monthly", "goalLineageId": str(goal)})
    assert too_early == [
        ("AGREEMENT_REQUIRED", "A commitment needs the member to have AGREED to take part first."),
        ("CONSENT_REQUIRED", "A commitment needs the member's consent to be contacted first.")]
    await ops.ok(coordinator, "ConsentRecord", {"youngAdultId": world.young_adult, "networkMemberId": member["id"],
                                                "purpose": "CONTACT"})
    for who in ("pa", "com"):
        await ops.ok(world.staff[who], "NetworkSignOffVetting", {"memberId": member["id"], "outcome": "CLEARED"})
    member["version"] = (await ops(coordinator, "NetworkMembers", {"youngAdultId": world.young_adult}))[
        "networkMembers"][0]["version"]
    for status in ("FOUND", "CONTACTED", "AGREED"):
        await move(world, "coordinator", member, status, 0)
    # A lineage id that is not in this young adult's plan is not found; a link to the plan is required.
    unknown = await ops.refused(coordinator, "NetworkAddCommitment", {
        "memberId": member["id"], "description": "Visits", "goalLineageId": "00000000-0000-0000-0000-000000000001"})
    assert (unknown["code"], unknown["field"]) == ("NOT_FOUND", "goalLineageId")
    unknown = await ops.refused(coordinator, "NetworkAddCommitment", {
        "memberId": member["id"], "description": "Visits", "actionLineageId": str(goal)})
    assert (unknown["code"], unknown["field"]) == ("NOT_FOUND", "actionLineageId")
    unlinked = await ops.refused(coordinator, "NetworkAddCommitment", {"memberId": member["id"],
                                                                       "description": "Visits"})
    assert (unlinked["code"], unlinked["field"]) == ("INVALID", "goalLineageId")
    not_committed = await ops.refused(coordinator, "NetworkMoveMemberStatus", {
        "id": member["id"], "version": member["version"], "status": "COMMITTED"})
    assert not_committed["message"] == "COMMITTED needs a commitment from the member recorded first."
    commitments = (await ops(coordinator, "NetworkCommitmentsForYoungAdult", {"youngAdultId": world.young_adult}))
    assert commitments["commitmentsForYoungAdult"] == []
