"""The named operations in graphql/operations are valid against the schema, one per file and named for it, and
every one of them runs (without errors) in a walk through a young adult's record."""

from __future__ import annotations

from typing import Any

import pytest
from graphql import OperationDefinitionNode, parse, validate

from service.app.schema import schema
from tests.conftest import CallerFactory, TenantFactory
from tests.operations import RUN_BY_FEATURE_SUITES, Operations, document, names
from tests.records.casework import casework, days_ago, walk_to_release, young_adult


@pytest.mark.parametrize("name", names())
def test_operation_is_valid_and_named_for_its_file(name: str) -> None:
    parsed = parse(document(name))
    assert validate(schema._schema, parsed) == []
    operations = [d for d in parsed.definitions if isinstance(d, OperationDefinitionNode)]
    assert [o.name.value if o.name else None for o in operations] == [name]


async def test_every_operation_runs(make_tenant: TenantFactory, login: CallerFactory) -> None:
    ops = Operations()
    cw = await casework(make_tenant, login, ops)
    full = (await walk_to_release(cw))["full"]
    pom, com = cw.callers["pom"], cw.callers["com"]
    ya = full["id"]

    await ops.data(pom, "Caseload", {"filter": {"siteId": cw.sites["BSI"], "search": "journey"},
                                     "orderBy": "EARLIEST_RELEASE_DATE", "first": 10})
    await ops.ok(pom, "UpdateYoungAdult", {"id": ya, "version": full["version"], "laReference": "LA-REF-1"})
    episode = full["custodyEpisodes"][0]
    changed = await ops.ok(pom, "UpdateCustodyEpisode", {"id": episode["id"], "version": episode["version"],
                                                         "handoverDate": days_ago(30)})
    await ops.ok(com, "AddLicenceCondition", {"custodyEpisodeId": episode["id"], "description": "Curfew 7pm-7am"})
    recalled = await ops.ok(com, "RecordRecall", {"custodyEpisodeId": episode["id"], "recalledOn": days_ago(0)})
    assert recalled["custodyEpisode"]["recalls"][0]["recalledOn"] == days_ago(0)
    assert changed["custodyEpisode"]["handoverDate"] == days_ago(30)

    agreed = full["plan"]["agreedVersion"]
    goal, other = agreed["goals"]
    action = goal["actions"][0]
    progressed = await ops.ok(cw.callers["pa"], "SetPlanActionStatus", {"id": action["id"],
                                                                        "version": action["version"],
                                                                        "status": "IN_PROGRESS"})
    assert progressed["planVersion"]["status"] == "AGREED"  # progress is not a new version
    draft = (await ops.ok(com, "UpdatePlanGoal", {"id": other["id"], "version": other["version"],
                                                  "description": "A college place in September"}))["planVersion"]
    copy = next(g for g in draft["goals"] if g["lineageId"] == goal["lineageId"])
    draft = (await ops.ok(com, "RemovePlanAction", {"id": copy["actions"][0]["id"],
                                                    "version": copy["actions"][0]["version"]}))["planVersion"]
    draft = (await ops.ok(com, "RemovePlanGoal", {"id": copy["id"], "version": copy["version"]}))["planVersion"]
    assert [g["description"] for g in draft["goals"]] == ["A college place in September"]

    meeting = full["meetings"][0]
    await ops.ok(pom, "UpdateMeeting", {"id": meeting["id"], "version": meeting["version"],
                                        "outcome": "Met at the gate by his personal adviser."})
    member = next(m for m in full["team"] if m["role"] == "PERSONAL_ADVISER")
    await ops.ok(pom, "EndTeamMembership", {"id": member["id"], "version": member["version"]})
    other_ya = await ops.ok(pom, "CreateYoungAdult", young_adult(cw.sites["BSI"], "Example-Other"))
    assert other_ya["youngAdult"]["accessRestricted"] is False

    restrict = {"id": other_ya["youngAdult"]["id"], "version": 1, "restricted": True}
    refused = await ops.raw(pom, "RestrictYoungAdultAccess", {"input": restrict})  # not on that young adult's team
    assert refused["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    restricted = await ops.ok(cw.admin, "RestrictYoungAdultAccess", restrict)
    assert restricted["youngAdult"]["accessRestricted"] is True
    due = (await ops.data(cw.callers["pa"], "YoungAdultDueItems", {"id": ya}))["youngAdult"]
    assert due["id"] == ya
    assert all(item["rule"] for item in due["dueItems"])
    trail = await ops.data(cw.admin, "AuditTrail", {"youngAdultId": ya, "first": 1})
    assert trail["auditTrail"]["pageInfo"]["hasNextPage"] is True

    walked = {n for n in names() if not n.startswith(RUN_BY_FEATURE_SUITES)}
    missing: list[Any] = sorted(walked - ops.ran)
    assert missing == [], f"operations never run in tests: {missing}"
