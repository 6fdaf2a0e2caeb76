"""The network appears on the young adult's record, and need-to-know still holds there."""

from __future__ import annotations

import asyncpg

from tests.conftest import CallerFactory, TenantFactory
from tests.network.world import add_member, build_world, open_case

RECORD = """query($id: ID!) { node(id: $id) { ... on YoungAdult {
  networkMembers { givenName relationship status phone email address } } } }"""


async def test_record_lists_the_network_with_contact_details_only_for_need_to_know(
        make_tenant: TenantFactory, login: CallerFactory, admin_conn: asyncpg.Connection) -> None:
    world = await build_world(make_tenant, login, admin_conn)
    case = await open_case(world)
    await add_member(world, case["id"], given="Pat", phone="07700 900123", email="pat@example.org")
    await add_member(world, case["id"], given="Lee", relationship="FORMER_FOSTER_CARER")

    by_coordinator = (await world.staff["coordinator"].data(RECORD, {"id": world.young_adult}))["node"]
    assert [(m["givenName"], m["relationship"], m["phone"]) for m in by_coordinator["networkMembers"]] == [
        ("Pat", "RELATIVE", "07700 900123"), ("Lee", "FORMER_FOSTER_CARER", None)]
    by_pom = (await world.staff["pom"].data(RECORD, {"id": world.young_adult}))["node"]
    assert [m["givenName"] for m in by_pom["networkMembers"]] == ["Pat", "Lee"]
    assert all(m["phone"] is None and m["email"] is None and m["address"] is None for m in by_pom["networkMembers"])
