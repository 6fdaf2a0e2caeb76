"""myWork: the caller's due items and plan actions across every young adult they may see, overdue first, filtered,
paged with cursors that neither repeat nor skip, at a statement count that does not grow with the page size."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

import asyncpg
import pytest

from service.api.relay import to_global_id
from service.kernel import clock
from service.kernel.principal import Role, Service
from service.kernel.tenancy import Tenant
from tests.conftest import Caller, CallerFactory, TenantFactory
from tests.messages import count_statements
from tests.operations import Operations
from tests.rules.cases import young_adult

TODAY = clock.today()


async def practitioner(conn: asyncpg.Connection, tenant: Tenant, subject: str, service: str) -> uuid.UUID:
    found: uuid.UUID = await conn.fetchval(
        f'INSERT INTO "{tenant.schema}".practitioner (subject, given_name, family_name, service, role) '
        "VALUES ($1, 'Pat', 'Example-Worker', $2, 'POM') RETURNING id", subject, service)
    return found


async def plan(conn: asyncpg.Connection, tenant: Tenant, ya: uuid.UUID, status: str,
               actions: list[tuple[str, str, uuid.UUID | None, int | None, str]]) -> dict[str, uuid.UUID]:
    """A plan version at ``status`` (agreed long ago, so not a recent review) with one goal and the actions
    (description, owner service, owner, due in N days, status); returns the action ids by description."""
    s = f'"{tenant.schema}"'
    plan_id = await conn.fetchval(
        f"INSERT INTO {s}.integrated_plan (young_adult_id) VALUES ($1) ON CONFLICT (young_adult_id) "
        "DO UPDATE SET version = integrated_plan.version RETURNING id", ya)
    version = await conn.fetchval(
        f"INSERT INTO {s}.plan_version (plan_id, number, status, created_by, agreed_at) "
        f"SELECT $1, coalesce(max(number), 0) + 1, $2, 'test', "
        "CASE WHEN $2 = 'DRAFT' THEN NULL ELSE now() - interval '30 weeks' END "
        f"FROM {s}.plan_version WHERE plan_id = $1 RETURNING id", plan_id, status)
    goal = await conn.fetchval(f"INSERT INTO {s}.plan_goal (plan_version_id, pathway, description) "
                               "VALUES ($1, 'ACCOMMODATION', 'A place to live') RETURNING id", version)
    ids = {}
    for description, service, owner, due_in, action_status in actions:
        ids[description] = await conn.fetchval(
            f"INSERT INTO {s}.plan_action (plan_goal_id, description, owner_service, owner_id, due_on, status) "
            "VALUES ($1, $2, $3, $4, $5, $6) RETURNING id", goal, description, service, owner,
            None if due_in is None else TODAY + timedelta(days=due_in), action_status)
    return ids


async def my_work(caller: Caller, ops: Operations, **variables: Any) -> dict[str, Any]:
    page: dict[str, Any] = (await ops.data(caller, "MyWork", variables))["myWork"]
    return page


def summary(page: dict[str, Any]) -> list[tuple[str, str, str | None, bool]]:
    nodes = [e["node"] for e in page["edges"]]
    return [(n["youngAdult"]["familyName"],
             n["dueItem"]["kind"] if n["kind"] == "DUE_ITEM" else n["planAction"]["description"],
             n["dueOn"], n["overdue"]) for n in nodes]


@pytest.fixture
async def world(make_tenant: TenantFactory, login: CallerFactory, admin_conn: asyncpg.Connection,
                ) -> tuple[Caller, Tenant]:
    tenant = await make_tenant()
    me = await login(Role.PRACTITIONER, tenant, service=Service.PRISON, sites=("BSI",), subject="pom-my-work")
    mine = await practitioner(admin_conn, tenant, "pom-my-work", "PRISON")
    late = await young_adult(admin_conn, tenant, "BSI", "Example-Late", identified_on=TODAY - timedelta(days=10),
                             reception=TODAY - timedelta(days=10), reviews=[TODAY - timedelta(weeks=20)])
    await young_adult(admin_conn, tenant, "BSI", "Example-Soon", identified_on=TODAY - timedelta(days=10),
                      reception=TODAY - timedelta(days=10), reviews=[TODAY - timedelta(weeks=12)])
    hidden = await young_adult(admin_conn, tenant, "BRM-LC", "Example-Hidden", identified_on=TODAY - timedelta(days=10),
                               reception=TODAY - timedelta(days=10), reviews=[TODAY - timedelta(weeks=20)])
    await plan(admin_conn, tenant, late, "AGREED", [
        ("Mine, soon", "LEAVING_CARE", mine, 5, "IN_PROGRESS"),
        ("Prison's, late", "PRISON", None, -3, "NOT_STARTED"),
        ("Prison's, undated", "PRISON", None, None, "BLOCKED"),
        ("Probation's", "PROBATION", None, -1, "NOT_STARTED"),
        ("Prison's, done", "PRISON", None, -9, "DONE")])
    await plan(admin_conn, tenant, late, "DRAFT", [("Draft of the next version", "PRISON", None, -2, "NOT_STARTED")])
    await plan(admin_conn, tenant, hidden, "AGREED", [("Not mine to see", "PRISON", mine, -4, "NOT_STARTED")])
    return me, tenant


async def test_my_work_lists_what_is_mine_overdue_first(world: tuple[Caller, Tenant]) -> None:
    me, _ = world
    ops = Operations()
    everything = summary(await my_work(me, ops, first=100))
    weeks = TODAY - timedelta(weeks=7)
    assert everything[:2] == [("Example-Late", "PLAN_REVIEW", weeks.isoformat(), True),
                              ("Example-Late", "Prison's, late", (TODAY - timedelta(days=3)).isoformat(), True)]
    assert not any(overdue for *_, overdue in everything[2:])
    rest = [(who, what, due) for who, what, due, _ in everything[2:]]
    assert rest[-1] == ("Example-Late", "Prison's, undated", None)  # no due date: last
    dated = [due or "" for _, _, due in rest[:-1]]
    assert "" not in dated
    assert dated == sorted(dated)
    assert ("Example-Late", "Mine, soon", (TODAY + timedelta(days=5)).isoformat()) in rest
    assert ("Example-Soon", "PLAN_REVIEW", (TODAY + timedelta(weeks=1)).isoformat()) in rest
    named = {what for _, what, *_ in everything}
    assert not named & {"Probation's", "Prison's, done", "Draft of the next version", "Not mine to see"}
    assert "Example-Hidden" not in {who for who, *_ in everything}

    actions = summary(await my_work(me, ops, first=100, kinds=["PLAN_ACTION"]))
    assert [what for _, what, *_ in actions] == ["Prison's, late", "Mine, soon", "Prison's, undated"]
    week = summary(await my_work(me, ops, first=100, withinDays=7))
    assert [what for _, what, *_ in week] == ["PLAN_REVIEW", "Prison's, late", "Mine, soon", "PLAN_REVIEW"]
    reviews = summary(await my_work(me, ops, first=100, kinds=["DUE_ITEM"], dueItemKinds=["PLAN_REVIEW"]))
    assert [(who, what) for who, what, *_ in reviews] == [("Example-Late", "PLAN_REVIEW"),
                                                          ("Example-Soon", "PLAN_REVIEW")]

    walked, after = [], None
    while True:
        page = await my_work(me, ops, first=2, after=after)
        walked += summary(page)
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["pageInfo"]["endCursor"]
    assert walked == everything


async def test_my_work_refuses_bad_arguments_and_roles_without_case_data(world: tuple[Caller, Tenant],
                                                                         login: CallerFactory) -> None:
    me, _ = world
    ops = Operations()
    for variables, field in (({"first": 101}, "first"), ({"first": 0}, "first"), ({"withinDays": -1}, "withinDays"),
                             ({"withinDays": 400}, "withinDays"), ({"after": "bm90LWEtY3Vyc29y"}, "after"),
                             ({"after": to_global_id("cursor", uuid.uuid4())}, "after")):
        body = await ops.raw(me, "MyWork", variables)
        assert body["data"] is None
        assert body["errors"][0]["extensions"] == {"code": "INVALID", "field": field}
    analyst = await login(Role.NATIONAL_ANALYST)
    refused = await ops.raw(analyst, "MyWork", {})
    assert refused["errors"][0]["extensions"]["code"] == "FORBIDDEN"


async def test_statements_per_page_do_not_grow_with_page_size(world: tuple[Caller, Tenant],
                                                              admin_conn: asyncpg.Connection,
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    me, tenant = world
    for i in range(8):
        await young_adult(admin_conn, tenant, "BSI", f"Example-{i:02d}", identified_on=TODAY - timedelta(days=10),
                          reception=TODAY - timedelta(days=10), reviews=[TODAY - timedelta(weeks=14)])
    counts = count_statements(monkeypatch)
    ops, by_size = Operations(), {}
    for first in (12, 20):  # both pages hold due items and actions (with and without an owner) of many people
        counts.clear()
        page = await my_work(me, ops, first=first)
        assert len(page["edges"]) == first
        assert {e["node"]["kind"] for e in page["edges"]} == {"DUE_ITEM", "PLAN_ACTION"}
        assert len({e["node"]["youngAdult"]["familyName"] for e in page["edges"]}) >= 9
        by_size[first] = counts[0]
    assert by_size[12] == by_size[20], by_size
