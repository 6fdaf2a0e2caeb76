"""Consent records: by purpose, granted and withdrawn with dates, never deleted; withdrawing a network member's
consent to contact stops contact with them."""

from __future__ import annotations

import asyncpg

from tests.conftest import CallerFactory, TenantFactory
from tests.network.world import add_member, build_world, day, move, open_case


async def test_purposes_withdrawal_and_regrant(make_tenant: TenantFactory, login: CallerFactory,
                                               admin_conn: asyncpg.Connection) -> None:
    world = await build_world(make_tenant, login, admin_conn)
    ops, pa = world.ops, world.staff["pa"]
    ya = {"youngAdultId": world.young_adult}
    no_org = await ops.refused(pa, "ConsentRecord", {**ya, "purpose": "SHARING"})
    assert (no_org["field"], no_org["message"]) == (
        "organisation", "Consent to sharing names the organisation it is shared with.")
    stray_org = await ops.refused(pa, "ConsentRecord", {**ya, "purpose": "CONTACT", "organisation": "Someone"})
    assert stray_org["field"] == "organisation"
    future = await ops.refused(pa, "ConsentRecord", {**ya, "purpose": "PARTICIPATION", "grantedOn": day(1)})
    assert future["field"] == "grantedOn"
    given = await ops.ok(pa, "ConsentRecord", {**ya, "purpose": "PARTICIPATION", "grantedOn": day(-10)})
    assert (given["active"], given["grantedOn"], given["networkMember"]) == (True, day(-10), None)
    twice = await ops.refused(pa, "ConsentRecord", {**ya, "purpose": "PARTICIPATION"})
    assert twice["code"] == "CONFLICT"
    await ops.ok(pa, "ConsentRecord", {**ya, "purpose": "SHARING", "organisation": "Family Rights Group"})
    await ops.ok(pa, "ConsentRecord", {**ya, "purpose": "SHARING", "organisation": "A housing association"})

    backwards = await ops.refused(pa, "ConsentWithdraw", {"id": given["id"], "version": given["version"],
                                                          "withdrawnOn": day(-11)})
    assert backwards["field"] == "withdrawnOn"
    withdrawn = await ops.ok(pa, "ConsentWithdraw", {"id": given["id"], "version": given["version"],
                                                     "withdrawnOn": day(-2)})
    assert (withdrawn["active"], withdrawn["withdrawnOn"]) == (False, day(-2))
    again = await ops.refused(pa, "ConsentWithdraw", {"id": given["id"], "version": withdrawn["version"]})
    assert again["code"] == "CONFLICT"
    regranted = await ops.ok(pa, "ConsentRecord", {**ya, "purpose": "PARTICIPATION"})
    records = (await ops(world.staff["pom"], "ConsentsForYoungAdult", ya))["consents"]
    assert [(c["purpose"], c["organisation"], c["active"]) for c in records] == [
        ("PARTICIPATION", None, False), ("SHARING", "Family Rights Group", True),
        ("SHARING", "A housing association", True), ("PARTICIPATION", None, True)]
    assert records[-1]["id"] == regranted["id"]
    node = await world.staff["com"].data("query($id: ID!) { node(id: $id) { ... on Consent { purpose active } } }",
                                         {"id": given["id"]})
    assert node["node"] == {"purpose": "PARTICIPATION", "active": False}


async def test_withdrawing_contact_consent_stops_contact(make_tenant: TenantFactory, login: CallerFactory,
                                                         admin_conn: asyncpg.Connection) -> None:
    world = await build_world(make_tenant, login, admin_conn)
    ops, coordinator = world.ops, world.staff["coordinator"]
    ya = {"youngAdultId": world.young_adult}
    case = await open_case(world)
    member = await add_member(world, case["id"], phone="07700 900123")
    consent = await ops.ok(coordinator, "ConsentRecord", {**ya, "networkMemberId": member["id"],
                                                          "purpose": "CONTACT", "grantedOn": day(-30)})
    for who in ("pa", "com"):
        await ops.ok(world.staff[who], "NetworkSignOffVetting", {"memberId": member["id"], "outcome": "CLEARED"})
    member["version"] = (await ops(coordinator, "NetworkMembers", ya))["networkMembers"][0]["version"]
    await move(world, "coordinator", member, "FOUND", -20)
    await ops.ok(coordinator, "ConsentWithdraw", {"id": consent["id"], "version": consent["version"],
                                                  "withdrawnOn": day(-10)})
    refused = await ops.refused(coordinator, "NetworkMoveMemberStatus", {
        "id": member["id"], "version": member["version"], "status": "CONTACTED"})
    assert refused["message"] == "CONTACTED is refused: the member has withdrawn consent to be contacted."
    shown = (await ops(coordinator, "NetworkMembers", ya))["networkMembers"][0]
    assert (shown["contactConsent"], shown["phone"], shown["status"]) == ("WITHDRAWN", None, "FOUND")
    # The member may give consent again; contact resumes and the old record stays.
    await ops.ok(coordinator, "ConsentRecord", {**ya, "networkMemberId": member["id"], "purpose": "CONTACT"})
    shown = (await ops(coordinator, "NetworkMembers", ya))["networkMembers"][0]
    assert (shown["contactConsent"], shown["phone"]) == ("ACTIVE", "07700 900123")
    assert [c["active"] for c in shown["contactConsents"]] == [False, True]
    await move(world, "coordinator", member, "CONTACTED", 0)
    count = await admin_conn.fetchval(f'SELECT count(*) FROM "{world.tenant.schema}".consent')
    assert count == 2


async def test_a_member_of_someone_else_is_not_found(make_tenant: TenantFactory, login: CallerFactory,
                                                     admin_conn: asyncpg.Connection) -> None:
    world = await build_world(make_tenant, login, admin_conn)
    case = await open_case(world)
    member = await add_member(world, case["id"])
    other = await build_world(make_tenant, login, admin_conn)
    refused = await other.ops.refused(other.admin, "ConsentRecord", {
        "youngAdultId": other.young_adult, "networkMemberId": member["id"], "purpose": "CONTACT"})
    assert (refused["code"], refused["field"]) == ("NOT_FOUND", "networkMemberId")
