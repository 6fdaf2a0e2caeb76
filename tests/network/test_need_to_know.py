"""Members' contact details are need-to-know: the case's coordinator and the young adult's personal adviser see
them (and each view is audited as DISCLOSE with the field names); everyone else who sees the young adult gets the
member's relationship and status, with phone, email and address null — not an error.

A tenant administrator does not see them: administering the region is not a need to reach a young adult's
relatives, and an administrator has no practitioner record on the case.
"""

from __future__ import annotations

import secrets
from typing import Any

import asyncpg
import pytest

from service.kernel.principal import Role, Service
from service.kernel.session import RequestConnection
from tests.conftest import CallerFactory, TenantFactory
from tests.network.world import World, add_member, build_world, day, open_case

CONTACT = {"phone": "07700 900123", "email": "pat@example.org", "address": "1 Example Street, Birmingham"}
FIELD = "query($id: ID!) {{ node(id: $id) {{ ... on NetworkMember {{ relationship status {field} }} }} }}"


async def disclosures(admin_conn: asyncpg.Connection, world: World) -> list[tuple[str, list[str]]]:
    rows = await admin_conn.fetch(
        f'SELECT actor_subject, fields FROM "{world.tenant.schema}".audit_event, unnest(subject_ids) '
        "WHERE action = 'DISCLOSE' ORDER BY id")
    return [(r["actor_subject"], list(r["fields"])) for r in rows]


async def world_with_member(make_tenant: TenantFactory, login: CallerFactory, admin_conn: asyncpg.Connection,
                            ) -> tuple[World, dict[str, Any]]:
    world = await build_world(make_tenant, login, admin_conn)
    case = await open_case(world)
    member = await add_member(world, case["id"], phone=CONTACT["phone"], email=CONTACT["email"],
                              address=CONTACT["address"])
    return world, member


@pytest.mark.parametrize(("who", "sees"), [
    ("coordinator", True), ("pa", True),
    ("other_pa", False), ("pom", False), ("com", False), ("tenant_admin", False), ("site_manager", False),
    ("practitioner_without_record", False),
])
async def test_contact_details_field_by_field(make_tenant: TenantFactory, login: CallerFactory,
                                              admin_conn: asyncpg.Connection, who: str, sees: bool) -> None:
    world, member = await world_with_member(make_tenant, login, admin_conn)
    subject = world.subjects.get(who, f"{who}-{secrets.token_hex(4)}")
    if who == "tenant_admin":
        caller = world.admin
    elif who == "site_manager":
        caller = await login(Role.SITE_MANAGER, world.tenant, sites=("BRM-LC",), subject=subject)
    elif who == "practitioner_without_record":  # a coordinator at the service, but not the case's coordinator
        caller = await login(Role.PRACTITIONER, world.tenant, service=Service.LIFELONG_LINKS, sites=("WM-LL",),
                             subject=subject)
    else:
        caller = world.staff[who]
    before = await disclosures(admin_conn, world)
    for field, value in CONTACT.items():
        shown = (await caller.data(FIELD.format(field=field), {"id": member["id"]}))["node"]
        assert shown == {"relationship": "RELATIVE", "status": "IDENTIFIED", field: value if sees else None}, field
    after = (await disclosures(admin_conn, world))[len(before):]
    if sees:
        assert after == [(subject, [f]) for f in CONTACT]
    else:
        assert after == []


async def test_need_to_know_ends_with_the_role(make_tenant: TenantFactory, login: CallerFactory,
                                               admin_conn: asyncpg.Connection) -> None:
    world, member = await world_with_member(make_tenant, login, admin_conn)
    phone = FIELD.format(field="phone")
    await admin_conn.execute(f'UPDATE "{world.tenant.schema}".team_member SET ended_on = current_date '
                             "WHERE team_role = 'PERSONAL_ADVISER'")
    assert (await world.staff["pa"].data(phone, {"id": member["id"]}))["node"]["phone"] is None
    case = (await world.ops(world.staff["coordinator"], "NetworkLifelongLinksCase",
                            {"youngAdultId": world.young_adult}))["lifelongLinksCase"]
    assert (await world.staff["coordinator"].data(phone, {"id": member["id"]}))["node"]["phone"] == CONTACT["phone"]
    await world.ops.ok(world.staff["coordinator"], "NetworkMoveLifelongLinksStage", {
        "id": case["id"], "version": case["version"], "stage": "CLOSED", "enteredOn": day(0)})
    assert (await world.staff["coordinator"].data(phone, {"id": member["id"]}))["node"]["phone"] is None


async def test_only_need_to_know_may_write_contact_details(make_tenant: TenantFactory, login: CallerFactory,
                                                           admin_conn: asyncpg.Connection) -> None:
    world, member = await world_with_member(make_tenant, login, admin_conn)
    case = await world.ops(world.staff["pom"], "NetworkLifelongLinksCase", {"youngAdultId": world.young_adult})
    refused = await world.ops.refused(world.staff["pom"], "NetworkAddMember", {
        "caseId": case["lifelongLinksCase"]["id"], "givenName": "Jo", "relationship": "FRIEND", "knownBefore": True,
        "phone": "07700 900999"})
    assert (refused["code"], refused["field"]) == ("INVALID", "phone")
    refused = await world.ops.refused(world.staff["pom"], "NetworkUpdateMember", {
        "id": member["id"], "version": member["version"], "address": "Elsewhere"})
    assert (refused["code"], refused["field"]) == ("INVALID", "address")
    # Relationship and status are not need-to-know: the POM may correct the relationship.
    changed = await world.ops.ok(world.staff["pom"], "NetworkUpdateMember", {
        "id": member["id"], "version": member["version"], "relationship": "MENTOR"})
    assert changed["relationship"] == "MENTOR"
    updated = await world.ops.ok(world.staff["pa"], "NetworkUpdateMember", {
        "id": member["id"], "version": changed["version"], "phone": "07700 900000"})
    assert updated["version"] == changed["version"] + 1


async def test_a_members_list_costs_the_same_statements_for_two_or_eight(
        make_tenant: TenantFactory, login: CallerFactory, admin_conn: asyncpg.Connection,
        monkeypatch: pytest.MonkeyPatch) -> None:
    world = await build_world(make_tenant, login, admin_conn)
    case = await open_case(world)
    counts: list[int] = []
    original = RequestConnection.finish

    async def counting_finish(self: RequestConnection, *, commit: bool) -> None:
        counts.append(self.statements)
        await original(self, commit=commit)

    by_size = {}
    for total in (2, 8):
        while len((await world.ops(world.staff["pa"], "NetworkMembers", {"youngAdultId": world.young_adult}))[
                "networkMembers"]) < total:
            member = await add_member(world, case["id"], phone=CONTACT["phone"], email=CONTACT["email"],
                              address=CONTACT["address"])
            await world.ops.ok(world.staff["coordinator"], "ConsentRecord", {
                "youngAdultId": world.young_adult, "networkMemberId": member["id"], "purpose": "CONTACT"})
            await world.ops.ok(world.staff["pa"], "NetworkSignOffVetting", {"memberId": member["id"],
                                                                            "outcome": "CLEARED"})
        monkeypatch.setattr(RequestConnection, "finish", counting_finish)
        counts.clear()
        shown = (await world.ops(world.staff["pa"], "NetworkMembers", {"youngAdultId": world.young_adult}))[
            "networkMembers"]
        assert all(m["phone"] == CONTACT["phone"] and m["vettingSignoffs"] and m["contactConsents"] for m in shown)
        assert len(shown) == total
        by_size[total] = counts[0]
        monkeypatch.setattr(RequestConnection, "finish", original)
    assert by_size[2] == by_size[8], by_size
