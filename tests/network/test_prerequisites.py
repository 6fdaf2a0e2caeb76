"""A refusal lists every missing prerequisite at once, each with its own code, and changes nothing (issue 15)."""

from __future__ import annotations

import asyncpg

from tests.conftest import CallerFactory, TenantFactory
from tests.network.world import add_member, build_world, day, move, open_case
from tests.operations import document


async def test_contact_with_neither_vetting_nor_consent_names_both(make_tenant: TenantFactory, login: CallerFactory,
                                                                   admin_conn: asyncpg.Connection) -> None:
    world = await build_world(make_tenant, login, admin_conn)
    ops, coordinator = world.ops, world.staff["coordinator"]
    case = await open_case(world)
    member = await add_member(world, case["id"])
    # Straight from IDENTIFIED: the order, the consent and both required vetting sign-offs are all named.
    skipped = await ops.refusals(coordinator, "NetworkMoveMemberStatus", {
        "id": member["id"], "version": member["version"], "status": "CONTACTED", "changedOn": day(-1)})
    assert skipped == [
        ("ORDER_REQUIRED", "CONTACTED needs FOUND first; the member is IDENTIFIED."),
        ("CONSENT_REQUIRED", "CONTACTED needs the member's consent to be contacted first."),
        ("VETTING_REQUIRED", "CONTACTED needs vetting sign-off by LEAVING_CARE first."),
        ("VETTING_REQUIRED", "CONTACTED needs vetting sign-off by PROBATION first.")]

    await move(world, "coordinator", member, "FOUND", -40)
    refused = await ops.refusals(coordinator, "NetworkMoveMemberStatus", {
        "id": member["id"], "version": member["version"], "status": "CONTACTED", "changedOn": day(-41)})
    assert [code for code, _ in refused] == ["INVALID", "CONSENT_REQUIRED", "VETTING_REQUIRED", "VETTING_REQUIRED"]
    assert refused[0][1] == "changedOn cannot be before the date the member became FOUND."

    # One prerequisite done: the refusal names only what is still missing.
    await ops.ok(world.staff["pa"], "NetworkSignOffVetting", {"memberId": member["id"], "outcome": "CLEARED"})
    member["version"] = (await ops(coordinator, "NetworkMembers", {"youngAdultId": world.young_adult}))[
        "networkMembers"][0]["version"]
    refused = await ops.refusals(coordinator, "NetworkMoveMemberStatus", {
        "id": member["id"], "version": member["version"], "status": "CONTACTED"})
    assert [code for code, _ in refused] == ["CONSENT_REQUIRED", "VETTING_REQUIRED"]
    assert "PROBATION" in refused[1][1]
    members = (await ops(coordinator, "NetworkMembers", {"youngAdultId": world.young_adult}))["networkMembers"]
    assert members[0]["status"] == "FOUND"  # nothing was changed by the refusals

    await ops.ok(coordinator, "ConsentRecord", {"youngAdultId": world.young_adult, "networkMemberId": member["id"],
                                                "purpose": "CONTACT"})
    await ops.ok(world.staff["com"], "NetworkSignOffVetting", {"memberId": member["id"], "outcome": "CLEARED"})
    member["version"] = (await ops(coordinator, "NetworkMembers", {"youngAdultId": world.young_adult}))[
        "networkMembers"][0]["version"]
    await move(world, "coordinator", member, "CONTACTED", 0)


async def test_a_referral_names_every_problem(make_tenant: TenantFactory, login: CallerFactory,
                                              admin_conn: asyncpg.Connection) -> None:
    world = await build_world(make_tenant, login, admin_conn)
    ops, pa = world.ops, world.staff["pa"]
    wrong = {"youngAdultId": world.young_adult, "siteId": world.sites["BRM-LC"],
             "coordinatorId": world.practitioners["pa"], "referredOn": day(3)}
    refused = await ops.refusals(pa, "NetworkReferToLifelongLinks", wrong)
    assert refused == [("INVALID", "siteId must be an open Lifelong Links service."),
                       ("INVALID", "The coordinator must be a Lifelong Links coordinator at the Lifelong Links "
                                   "service."),
                       ("INVALID", "referredOn cannot be in the future.")]
    assert (await ops(pa, "NetworkLifelongLinksCase", {"youngAdultId": world.young_adult}))[
        "lifelongLinksCase"] is None
    await open_case(world)
    again = await ops.refusals(pa, "NetworkReferToLifelongLinks", {**wrong, "coordinatorId": None,
                                                                   "referredOn": day(0)})
    assert [code for code, _ in again] == ["INVALID", "CONFLICT"]


async def test_a_meeting_and_a_commitment_name_every_missing_prerequisite(
        make_tenant: TenantFactory, login: CallerFactory, admin_conn: asyncpg.Connection) -> None:
    world = await build_world(make_tenant, login, admin_conn)
    ops, coordinator = world.ops, world.staff["coordinator"]
    # No case yet: a meeting has no case, and its attendee is unknown.
    refused = await ops.refusals(world.staff["pa"], "NetworkRecordMeeting", {
        "youngAdultId": world.young_adult, "heldOn": day(-1),
        "practitionerIds": ["UHJhY3RpdGlvbmVyOjAwMDAwMDAwLTAwMDAtMDAwMC0wMDAwLTAwMDAwMDAwMDAwMQ=="]})
    assert [code for code, _ in refused] == ["OPEN_CASE_REQUIRED", "NOT_FOUND"]
    case = await open_case(world)
    first, second = await add_member(world, case["id"]), await add_member(world, case["id"], given="Jo")
    refused = await ops.refusals(coordinator, "NetworkRecordMeeting", {
        "youngAdultId": world.young_adult, "heldOn": day(-1), "memberIds": [first["id"], second["id"]]})
    assert refused == [
        ("AGREEMENT_REQUIRED", "Member 1 of memberIds attends once they have AGREED to take part."),
        ("CONSENT_REQUIRED", "Member 1 of memberIds attending needs the member's consent to be contacted first."),
        ("AGREEMENT_REQUIRED", "Member 2 of memberIds attends once they have AGREED to take part."),
        ("CONSENT_REQUIRED", "Member 2 of memberIds attending needs the member's consent to be contacted first.")]
    for message in (m for _, m in refused):
        assert "Pat" not in message
        assert "Jo" not in message

    refused = await ops.refusals(coordinator, "NetworkAddCommitment", {
        "memberId": first["id"], "description": " ", "goalLineageId": "00000000-0000-0000-0000-000000000001"})
    assert [code for code, _ in refused] == ["AGREEMENT_REQUIRED", "CONSENT_REQUIRED", "NOT_FOUND", "INVALID"]

    # A Lifelong Links stage that skips ahead names the order and each stage's missing prerequisite.
    for stage in ("EXPLORING", "SEARCHING"):
        case = await ops.ok(coordinator, "NetworkMoveLifelongLinksStage", {
            "id": case["id"], "version": case["version"], "stage": stage, "enteredOn": day(-50)})
    refused = await ops.refusals(coordinator, "NetworkMoveLifelongLinksStage", {
        "id": case["id"], "version": case["version"], "stage": "MEETING_HELD", "enteredOn": day(-70)})
    assert [code for code, _ in refused] == ["ORDER_REQUIRED", "INVALID", "MEETING_REQUIRED"]


async def test_signing_off_a_plan_without_goals_names_the_prerequisite(
        make_tenant: TenantFactory, login: CallerFactory, admin_conn: asyncpg.Connection) -> None:
    world = await build_world(make_tenant, login, admin_conn)
    pom = world.staff["pom"]
    created = (await pom.data(document("CreatePlan"), {"input": {"youngAdultId": world.young_adult}}))["createPlan"]
    draft = created["plan"]["currentVersion"]
    signed = (await pom.data(document("SignOffPlanVersion"), {"input": {
        "planVersionId": draft["id"], "version": draft["version"]}}))["signOffPlanVersion"]
    assert [(e["code"], e["message"]) for e in signed["errors"]] == [
        ("GOALS_REQUIRED", "A plan with no goals cannot be signed off.")]
