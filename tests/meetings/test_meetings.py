"""Meetings: the plan version agreed at a meeting must be this young adult's and agreed; outcomes follow the
meeting; attendees are real practitioners."""

from __future__ import annotations

import datetime as dt

from service.kernel import clock
from tests.conftest import CallerFactory, TenantFactory
from tests.operations import Operations
from tests.records.casework import casework, days_ago, young_adult


async def test_meeting_rules(make_tenant: TenantFactory, login: CallerFactory) -> None:
    cw = await casework(make_tenant, login, Operations())
    ops, pom = cw.ops, cw.callers["pom"]
    ya, other = [(await ops.ok(pom, "CreateYoungAdult", young_adult(cw.sites["BSI"], f"Example-{n}")))
                 ["youngAdult"]["id"] for n in ("One", "Two")]
    plan = (await ops.ok(pom, "CreatePlan", {"youngAdultId": ya}))["plan"]
    other_plan = (await ops.ok(pom, "CreatePlan", {"youngAdultId": other}))["plan"]
    base = {"youngAdultId": ya, "kind": "THREE_WAY", "heldOn": days_ago(1),
            "attendees": [{"practitionerId": cw.practitioner_ids["pom"]}]}

    draft = await ops.payload(pom, "RecordMeeting", {**base, "agreedPlanVersionId": plan["currentVersion"]["id"]})
    assert [(e["code"], e["field"]) for e in draft["errors"]] == [("PLAN_AGREEMENT_REQUIRED", "agreedPlanVersionId")]
    foreign = await ops.payload(pom, "RecordMeeting", {**base,
                                                       "agreedPlanVersionId": other_plan["currentVersion"]["id"]})
    assert [(e["code"], e["field"]) for e in foreign["errors"]] == [("NOT_FOUND", "agreedPlanVersionId")]
    future = (clock.today() + dt.timedelta(days=7)).isoformat()
    early = await ops.payload(pom, "RecordMeeting", {**base, "heldOn": future, "outcome": "Decided already"})
    assert [e["field"] for e in early["errors"]] == ["outcome"]
    # Every refusal at once: an outcome before the meeting, and a plan version not yet agreed.
    both = await ops.payload(pom, "RecordMeeting", {**base, "heldOn": future, "outcome": "Decided already",
                                                    "agreedPlanVersionId": plan["currentVersion"]["id"]})
    assert [(e["code"], e["field"]) for e in both["errors"]] == [("INVALID", "outcome"),
                                                                 ("PLAN_AGREEMENT_REQUIRED", "agreedPlanVersionId")]
    nobody = await ops.payload(pom, "RecordMeeting", {**base, "attendees": [{"practitionerId": "bogus"}]})
    assert [e["code"] for e in nobody["errors"]] == ["NOT_FOUND"]
    unnamed = await ops.payload(pom, "RecordMeeting", {**base, "attendees": [{}]})
    assert [(e["code"], e["field"]) for e in unnamed["errors"]] == [("INVALID", "attendees")]

    planned = (await ops.ok(pom, "RecordMeeting", {**base, "heldOn": future}))["meeting"]
    assert planned["outcome"] is None
    too_soon = await ops.payload(pom, "UpdateMeeting", {"id": planned["id"], "version": planned["version"],
                                                        "outcome": "Went well"})
    assert [e["field"] for e in too_soon["errors"]] == ["outcome"]
    held = await ops.ok(pom, "UpdateMeeting", {"id": planned["id"], "version": planned["version"],
                                               "heldOn": days_ago(0), "outcome": "Went well"})
    assert (held["meeting"]["heldOn"], held["meeting"]["outcome"]) == (days_ago(0), "Went well")
    stale = await ops.payload(pom, "UpdateMeeting", {"id": planned["id"], "version": planned["version"],
                                                     "outcome": "Overwrite"})
    assert [e["code"] for e in stale["errors"]] == ["STALE_VERSION"]
