"""The caseload: what a practitioner sees, filtered, sorted and paged, at a cost that does not grow with the page."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from service.kernel import clock
from tests.conftest import Caller, CallerFactory, TenantFactory
from tests.messages import count_statements
from tests.operations import Operations
from tests.records.casework import Casework, casework, days_ago, young_adult

TODAY = clock.today()


def ahead(days: int) -> str:
    return (TODAY + dt.timedelta(days=days)).isoformat()


async def add(cw: Casework, caller: Caller, site: str, family: str, release_in: int | None = None,
              on_team: bool = False, with_plan: bool = False) -> str:
    ops = cw.ops
    ya: str = (await ops.ok(caller, "CreateYoungAdult", young_adult(cw.sites[site], family)))["youngAdult"]["id"]
    if release_in is not None:
        await ops.ok(caller, "RecordCustodyEpisode", {
            "youngAdultId": ya, "prisonSiteId": cw.sites[site], "receptionDate": days_ago(100),
            "sentenceType": "DETERMINATE", "crd": ahead(release_in), "sed": ahead(release_in + 300)})
    if on_team:
        await ops.ok(caller, "AddTeamMember", {"youngAdultId": ya, "practitionerId": cw.practitioner_ids["pom"],
                                               "role": "OFFENDER_MANAGER"})
        await ops.ok(caller, "AddTeamMember", {"youngAdultId": ya, "practitionerId": cw.practitioner_ids["com"],
                                               "role": "COMMUNITY_OFFENDER_MANAGER"})
    if with_plan:
        plan = (await ops.ok(caller, "CreatePlan", {"youngAdultId": ya}))["plan"]
        await ops.ok(caller, "AddPlanGoal", {"planId": plan["id"], "pathway": "HEALTH", "description": "A GP"})
    return ya


async def families(ops: Operations, caller: Caller, **variables: Any) -> list[str]:
    page = (await ops.data(caller, "Caseload", {"first": 100, **variables}))["caseload"]
    return [e["node"]["familyName"] for e in page["edges"]]


async def test_filters_sorting_and_pages(make_tenant: TenantFactory, login: CallerFactory) -> None:
    ops = Operations()
    cw = await casework(make_tenant, login, ops)
    pom, com, admin = cw.callers["pom"], cw.callers["com"], cw.admin
    alpha = await add(cw, pom, "BSI", "Example-Alpha", release_in=200, on_team=True)
    await add(cw, pom, "BSI", "Example-Bravo", release_in=30)
    await add(cw, pom, "BSI", "Example-Charlie")
    await add(cw, admin, "SHI", "Example-Delta", release_in=10)
    enrolment = (await ops.data(pom, "YoungAdultRecord", {"id": alpha}))["youngAdult"]["enrolments"][0]
    await ops.ok(pom, "ChangeEnrolmentStatus", {"enrolmentId": enrolment["id"], "version": enrolment["version"],
                                                "status": "REFERRED"})

    assert await families(ops, pom) == ["Example-Alpha", "Example-Bravo", "Example-Charlie"]
    assert await families(ops, pom, orderBy="EARLIEST_RELEASE_DATE") == [
        "Example-Bravo", "Example-Alpha", "Example-Charlie"]  # no release date last
    assert await families(ops, pom, filter={"releaseFrom": ahead(0), "releaseTo": ahead(60)}) == ["Example-Bravo"]
    assert await families(ops, pom, filter={"status": "REFERRED"}) == ["Example-Alpha"]
    assert await families(ops, pom, filter={"search": "ALPHA sam"}) == ["Example-Alpha"]
    assert await families(ops, pom, filter={"search": "%"}) == []  # wildcards are text, not patterns
    assert await families(ops, pom, filter={"onMyTeam": True}) == ["Example-Alpha"]
    assert await families(ops, com) == ["Example-Alpha"]  # probation sees its team's young adults only
    assert await families(ops, admin, filter={"siteId": cw.sites["SHI"]}) == ["Example-Delta"]
    assert await families(ops, pom, filter={"siteId": cw.sites["SHI"]}) == []

    seen, after = [], None
    while True:
        page = (await ops.data(pom, "Caseload", {"orderBy": "EARLIEST_RELEASE_DATE", "first": 1,
                                                 "after": after}))["caseload"]
        seen += [e["node"]["familyName"] for e in page["edges"]]
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["pageInfo"]["endCursor"]
    assert seen == ["Example-Bravo", "Example-Alpha", "Example-Charlie"]

    bad = await ops.raw(pom, "Caseload", {"filter": {"releaseFrom": ahead(10), "releaseTo": ahead(0)}})
    assert bad["errors"][0]["extensions"] == {"code": "INVALID", "field": "releaseTo"}


async def test_statements_per_caseload_page_do_not_grow_with_page_size(
        make_tenant: TenantFactory, login: CallerFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    ops = Operations()
    cw = await casework(make_tenant, login, ops)
    for i in range(12):
        await add(cw, cw.callers["pom"], "BSI", f"Example-{i:02d}", release_in=10 + i, on_team=True, with_plan=True)

    counts = count_statements(monkeypatch)
    by_size = {}
    for first in (2, 12):
        counts.clear()
        page = (await ops.data(cw.callers["pom"], "Caseload", {"first": first}))["caseload"]["edges"]
        assert len(page) == first
        assert all(e["node"]["plan"]["currentVersion"]["number"] == 1 and len(e["node"]["team"]) == 2
                   for e in page)
        by_size[first] = counts[0]
    assert by_size[2] == by_size[12], by_size
