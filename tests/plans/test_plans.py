"""The integrated plan: sign-off rules, versions when an agreed plan is edited, and concurrent editors who never
lose each other's work."""

from __future__ import annotations

import asyncio
from typing import Any

from service.kernel.principal import Role, Service
from tests.conftest import CallerFactory, TenantFactory
from tests.operations import Operations
from tests.records.casework import PRACTITIONERS, Casework, casework, young_adult


async def plan_with_goal(make_tenant: TenantFactory, login: CallerFactory) -> tuple[Casework, str, dict[str, Any]]:
    cw = await casework(make_tenant, login, Operations())
    ops, pom = cw.ops, cw.callers["pom"]
    ya = (await ops.ok(pom, "CreateYoungAdult", young_adult(cw.sites["BSI"], "Example-Plan")))["youngAdult"]["id"]
    for key, (_service, _role, team_role, _site) in PRACTITIONERS.items():
        await ops.ok(pom, "AddTeamMember", {"youngAdultId": ya, "practitionerId": cw.practitioner_ids[key],
                                            "role": team_role})
    plan = (await ops.ok(pom, "CreatePlan", {"youngAdultId": ya}))["plan"]
    again = await ops.payload(pom, "CreatePlan", {"youngAdultId": ya})
    assert [e["code"] for e in again["errors"]] == ["CONFLICT"]
    empty = await ops.payload(pom, "SignOffPlanVersion", {"planVersionId": plan["currentVersion"]["id"],
                                                          "version": plan["currentVersion"]["version"]})
    assert empty["errors"][0]["message"] == "A plan with no goals cannot be signed off."
    draft = (await ops.ok(pom, "AddPlanGoal", {"planId": plan["id"], "pathway": "HEALTH",
                                               "description": "Registered with a GP"}))["planVersion"]
    draft = (await ops.ok(pom, "AddPlanAction", {"goalId": draft["goals"][0]["id"], "description": "Book a GP",
                                                 "ownerService": "PRISON"}))["planVersion"]
    return cw, plan["id"], draft


async def sign_all(cw: Casework, version: dict[str, Any]) -> dict[str, Any]:
    for key in ("pom", "com", "pa"):
        signed = await cw.ops.ok(cw.callers[key], "SignOffPlanVersion", {"planVersionId": version["id"],
                                                                         "version": version["version"]})
    result: dict[str, Any] = signed["planVersion"]
    return result


async def test_sign_off_rules(make_tenant: TenantFactory, login: CallerFactory) -> None:
    cw, _plan, draft = await plan_with_goal(make_tenant, login)
    ops, pom, com = cw.ops, cw.callers["pom"], cw.callers["com"]
    sign = {"planVersionId": draft["id"], "version": draft["version"]}
    first = await ops.ok(pom, "SignOffPlanVersion", sign)
    assert first["planVersion"]["missingServices"] == ["PROBATION", "LEAVING_CARE"]
    assert [e["code"] for e in (await ops.payload(pom, "SignOffPlanVersion", sign))["errors"]] == ["CONFLICT"]

    coordinator = await login(Role.PRACTITIONER, cw.tenant, service=Service.LIFELONG_LINKS, sites=("BSI",))
    not_required = await ops.payload(coordinator, "SignOffPlanVersion", sign)
    assert [(e["code"], e["field"]) for e in not_required["errors"]] == [("INVALID", "planVersionId")]
    admin = await ops.raw(cw.admin, "SignOffPlanVersion", {"input": sign})
    assert admin["errors"][0]["extensions"]["code"] == "FORBIDDEN"

    # a change to the draft withdraws the sign-offs given to the old content, and old-content sign-offs are stale
    goal = draft["goals"][0]
    changed = (await ops.ok(com, "UpdatePlanGoal", {"id": goal["id"], "version": goal["version"],
                                                    "description": "Registered with a GP near home"}))["planVersion"]
    assert (changed["number"], changed["signoffs"]) == (1, [])
    stale = await ops.payload(cw.callers["pa"], "SignOffPlanVersion", sign)
    assert [e["code"] for e in stale["errors"]] == ["STALE_VERSION"]
    agreed = await sign_all(cw, changed)
    assert agreed["status"] == "AGREED"
    assert [e["code"] for e in (await ops.payload(pom, "SignOffPlanVersion", {
        "planVersionId": agreed["id"], "version": agreed["version"]}))["errors"]] == ["CONFLICT"]


async def test_editing_an_agreed_plan_starts_one_new_version(make_tenant: TenantFactory,
                                                             login: CallerFactory) -> None:
    cw, plan_id, draft = await plan_with_goal(make_tenant, login)
    ops, pom, com, pa = cw.ops, cw.callers["pom"], cw.callers["com"], cw.callers["pa"]
    v1 = await sign_all(cw, draft)
    goal = v1["goals"][0]

    # an addition to the agreed plan opens version 2; a second addition goes to the same draft
    v2 = (await ops.ok(pa, "AddPlanGoal", {"planId": plan_id, "pathway": "ACCOMMODATION",
                                           "description": "A tenancy"}))["planVersion"]
    assert (v2["number"], v2["status"], len(v2["goals"])) == (2, "DRAFT", 2)
    v2 = (await ops.ok(com, "AddPlanAction", {"goalId": goal["id"], "description": "Register with probation GP",
                                              "ownerService": "PROBATION",
                                              "ownerId": cw.practitioner_ids["com"]}))["planVersion"]
    assert v2["number"] == 2
    copy = next(g for g in v2["goals"] if g["lineageId"] == goal["lineageId"])
    assert len(copy["actions"]) == 2

    # someone who read version 1 and edits it now is told their copy is stale; nothing of version 2 is lost
    late = await ops.payload(pom, "UpdatePlanGoal", {"id": goal["id"], "version": goal["version"],
                                                     "description": "Overwrite"})
    assert [e["code"] for e in late["errors"]] == ["STALE_VERSION"]
    wrong_owner = await ops.payload(pom, "AddPlanAction", {"goalId": copy["id"], "description": "x",
                                                           "ownerService": "PRISON",
                                                           "ownerId": cw.practitioner_ids["pa"]})
    assert wrong_owner["errors"][0]["field"] == "ownerId"
    history = (await ops.data(pom, "PlanHistory", {"youngAdultId": await young_adult_of(cw, plan_id)}))
    versions = history["youngAdult"]["plan"]["versions"]
    assert [(v["number"], v["status"], len(v["goals"])) for v in versions] == [(2, "DRAFT", 2), (1, "AGREED", 1)]
    assert versions[1]["goals"][0]["description"] == "Registered with a GP"

    v2_agreed = await sign_all(cw, v2)
    assert v2_agreed["status"] == "AGREED"
    versions = (await ops.data(pom, "PlanHistory", {"youngAdultId": await young_adult_of(cw, plan_id)})
                )["youngAdult"]["plan"]["versions"]
    assert [v["status"] for v in versions] == ["AGREED", "SUPERSEDED"]


async def young_adult_of(cw: Casework, plan_id: str) -> str:
    caseload = await cw.ops.data(cw.admin, "Caseload", {"first": 10})
    found: str = next(e["node"]["id"] for e in caseload["caseload"]["edges"] if e["node"]["plan"]["id"] == plan_id)
    return found


async def test_concurrent_editors_second_gets_stale_and_loses_nothing(make_tenant: TenantFactory,
                                                                      login: CallerFactory) -> None:
    cw, _plan, draft = await plan_with_goal(make_tenant, login)
    ops, pom, com = cw.ops, cw.callers["pom"], cw.callers["com"]
    action = draft["goals"][0]["actions"][0]
    results = await asyncio.gather(
        ops.payload(pom, "UpdatePlanAction", {"id": action["id"], "version": action["version"],
                                              "description": "Book a GP appointment"}),
        ops.payload(com, "UpdatePlanAction", {"id": action["id"], "version": action["version"],
                                              "description": "Something else entirely"}))
    codes = sorted(tuple(e["code"] for e in r["errors"]) for r in results)
    assert codes == [(), ("STALE_VERSION",)]
    winner = next(r for r in results if not r["errors"])["planVersion"]["goals"][0]["actions"][0]["description"]
    record = await ops.data(pom, "PlanHistory", {"youngAdultId": await young_adult_of(cw, _plan)})
    [version] = record["youngAdult"]["plan"]["versions"]
    assert version["goals"][0]["actions"][0]["description"] == winner

    # two people editing the agreed plan at the same moment: one new draft, the other told to reload
    agreed = await sign_all(cw, (await ops.data(pom, "YoungAdultRecord", {
        "id": await young_adult_of(cw, _plan)}))["youngAdult"]["plan"]["currentVersion"])
    goal = agreed["goals"][0]
    edits = await asyncio.gather(*(
        ops.payload(caller, "UpdatePlanGoal", {"id": goal["id"], "version": goal["version"], "description": text})
        for caller, text in ((pom, "First wording"), (com, "Second wording"))))
    assert sorted(tuple(e["code"] for e in r["errors"]) for r in edits) == [(), ("STALE_VERSION",)]
    versions = (await ops.data(pom, "PlanHistory", {"youngAdultId": await young_adult_of(cw, _plan)})
                )["youngAdult"]["plan"]["versions"]
    assert [(v["number"], v["status"]) for v in versions] == [(2, "DRAFT"), (1, "AGREED")]
