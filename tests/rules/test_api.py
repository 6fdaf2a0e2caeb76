"""Practice rules through GraphQL: the issue #5 acceptance test, refusals, versions in time, and who may do what."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import asyncpg
import pytest

from service.api.relay import to_global_id
from service.kernel import clock
from service.kernel.principal import Role, Service
from tests.conftest import Caller, CallerFactory, TenantFactory
from tests.rules.cases import young_adult

SITES = (("BSI", "HMP Brinsford", "PRISON"), ("BRM-LC", "Birmingham leaving care", "LEAVING_CARE"),
         ("COV-LC", "Coventry leaving care", "LEAVING_CARE"))
DUE = "query($id: ID!) { node(id: $id) { ... on YoungAdult { dueItems { kind dueOn status rule timePoint } } } }"
RULES = """query($site: String, $on: Date) {
  practiceRules(siteCode: $site, on: $on) { rule value level since setBy reason }
}"""
CHANGE = """mutation($input: ChangePracticeRulesInput!) {
  changePracticeRules(input: $input) {
    batchId changes { rule siteCode value effectiveFrom author reason } errors { code field message }
  }
}"""
PREVIEW = """query($input: ChangePracticeRulesInput!) {
  previewPracticeRuleChanges(input: $input) {
    effectiveFrom errors { code field message }
    youngAdults { youngAdult { id familyName } siteCode gainsOverdue losesOverdue
                  changes { kind before { dueOn status } after { dueOn status } } }
  }
}"""
HISTORY = """query($rule: String, $site: String) {
  practiceRuleHistory(rule: $rule, siteCode: $site, first: 10) {
    edges { node { rule siteCode value effectiveFrom author reason batchId } }
  }
}"""
TODAY = clock.today()


def weeks_ago(n: int) -> date:
    return TODAY - timedelta(weeks=n)


async def in_custody(conn: asyncpg.Connection, tenant: Any, site: str, family: str, last_review: date) -> str:
    ya = await young_adult(conn, tenant, site, family, identified_on=weeks_ago(30), consented_on=weeks_ago(28),
                           reception=weeks_ago(30), release_by=TODAY + timedelta(weeks=40), reviews=[last_review],
                           consent_granted=weeks_ago(28))
    return to_global_id("YoungAdult", ya)


async def due(caller: Caller, ya: str) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = (await caller.data(DUE, {"id": ya}))["node"]["dueItems"]
    return items


def only(items: list[dict[str, Any]], kind: str) -> dict[str, Any]:
    [item] = [i for i in items if i["kind"] == kind]
    return item


def change(rule: str, value: Any, site: str | None = None, **batch: Any) -> dict[str, Any]:
    return {"input": {"reason": batch.pop("reason", "Partnership board decision"), **batch,
                      "changes": [{"rule": rule, "siteCode": site, "value": value}]}}


async def effective(caller: Caller, site: str | None, rule: str, on: date | None = None) -> dict[str, Any]:
    rows = (await caller.data(RULES, {"site": site, "on": on.isoformat() if on else None}))["practiceRules"]
    row: dict[str, Any]
    [row] = [r for r in rows if r["rule"] == rule]
    return row


async def test_a_site_rule_change_moves_due_items_for_that_site_only(
        make_tenant: TenantFactory, login: CallerFactory, admin_conn: asyncpg.Connection) -> None:
    tenant = await make_tenant(sites=SITES)
    elsewhere = await make_tenant(sites=SITES)
    a = await in_custody(admin_conn, tenant, "BSI", "Example-A", weeks_ago(8))
    b = await in_custody(admin_conn, tenant, "BSI", "Example-B", weeks_ago(10))
    c = await in_custody(admin_conn, tenant, "BRM-LC", "Example-C", weeks_ago(8))
    d = await in_custody(admin_conn, elsewhere, "BSI", "Example-D", weeks_ago(8))
    admin = await login(Role.TENANT_ADMIN, tenant, subject="admin-wm")
    other_admin = await login(Role.TENANT_ADMIN, elsewhere)
    before = {ya: await due(admin, ya) for ya in (a, b, c)}
    before_d = await due(other_admin, d)
    assert only(before[a], "PLAN_REVIEW") == {"kind": "PLAN_REVIEW", "dueOn": (weeks_ago(8) + timedelta(weeks=13))
                                              .isoformat(), "status": "ON_TIME", "rule": "plan_review_interval_weeks",
                                              "timePoint": None}
    proposal = change("plan_review_interval_weeks", 6, "BSI", reason="Brinsford reviews every 6 weeks")

    preview = (await admin.data(PREVIEW, proposal))["previewPracticeRuleChanges"]
    assert preview["errors"] == []
    assert preview["effectiveFrom"] == TODAY.isoformat()
    assert sorted(p["youngAdult"]["id"] for p in preview["youngAdults"]) == sorted([a, b])
    for p in preview["youngAdults"]:
        assert p["siteCode"] == "BSI"
        assert (p["gainsOverdue"], p["losesOverdue"]) == (True, False)
        [moved] = p["changes"]
        assert moved["kind"] == "PLAN_REVIEW"
        assert (moved["before"]["status"], moved["after"]["status"]) == ("ON_TIME", "OVERDUE")
    assert (await due(admin, a)) == before[a], "a preview saves nothing"

    saved = (await admin.data(CHANGE, proposal))["changePracticeRules"]
    assert saved["errors"] == []
    assert saved["batchId"]
    assert saved["changes"] == [{"rule": "plan_review_interval_weeks", "siteCode": "BSI", "value": 6,
                                 "effectiveFrom": TODAY.isoformat(), "author": "admin-wm",
                                 "reason": "Brinsford reviews every 6 weeks"}]

    after = {ya: await due(admin, ya) for ya in (a, b, c)}
    for ya, reviewed in ((a, 8), (b, 10)):
        assert only(after[ya], "PLAN_REVIEW")["dueOn"] == (weeks_ago(reviewed) + timedelta(weeks=6)).isoformat()
        assert only(after[ya], "PLAN_REVIEW")["status"] == "OVERDUE"
        assert [i for i in after[ya] if i["kind"] != "PLAN_REVIEW"] == \
               [i for i in before[ya] if i["kind"] != "PLAN_REVIEW"]
    assert after[c] == before[c]
    assert await due(other_admin, d) == before_d

    history = (await admin.data(HISTORY, {"rule": "plan_review_interval_weeks"}))["practiceRuleHistory"]["edges"]
    assert [e["node"] for e in history] == [{
        "rule": "plan_review_interval_weeks", "siteCode": "BSI", "value": 6, "effectiveFrom": TODAY.isoformat(),
        "author": "admin-wm", "reason": "Brinsford reviews every 6 weeks", "batchId": saved["batchId"]}]
    assert await effective(admin, "BSI", "plan_review_interval_weeks") == {
        "rule": "plan_review_interval_weeks", "value": 6, "level": "SITE", "since": TODAY.isoformat(),
        "setBy": "admin-wm", "reason": "Brinsford reviews every 6 weeks"}
    assert (await effective(admin, "BRM-LC", "plan_review_interval_weeks"))["level"] == "DEFAULT"
    assert (await effective(other_admin, "BSI", "plan_review_interval_weeks"))["value"] == 13

    refused = (await admin.data(CHANGE, change("plan_review_interval_weeks", 30, "BSI")))["changePracticeRules"]
    assert refused["batchId"] is None
    assert refused["errors"] == [{
        "code": "INVALID", "field": "changes[0].value",
        "message": "plan_review_interval_weeks cannot be 30 weeks: the statutory limit is 26 weeks (the pathway "
                   "plan must be reviewed at least every 6 months (26 weeks))."}]

    pa = await login(Role.PRACTITIONER, tenant, service=Service.LEAVING_CARE, sites=("BSI",))
    forbidden = await pa(CHANGE, change("plan_review_interval_weeks", 4, "BSI"))
    assert forbidden["data"] is None
    assert forbidden["errors"][0]["extensions"] == {"code": "FORBIDDEN"}
    assert "Only tenant administrators change practice rules" in forbidden["errors"][0]["message"]
    history = (await admin.data(HISTORY, {"rule": "plan_review_interval_weeks"}))["practiceRuleHistory"]["edges"]
    assert len(history) == 1, "neither refusal saved anything"


async def test_a_batch_is_all_or_nothing_and_every_problem_is_reported(make_tenant: TenantFactory,
                                                                      login: CallerFactory) -> None:
    tenant = await make_tenant(sites=SITES)
    admin = await login(Role.TENANT_ADMIN, tenant)
    batch = {"input": {"reason": "Pilot values", "changes": [
        {"rule": "min_months_to_release_at_referral", "siteCode": "COV-LC", "value": 9},
        {"rule": "pre_release_meeting_weeks", "siteCode": "BSI", "value": 1},
        {"rule": "eligible_age_range", "value": {"min": 25, "max": 18}},
        {"rule": "accepted_care_statuses", "value": ["RELEVANT", "ADOPTED"]},
        {"rule": "no_such_rule", "value": 1},
        {"rule": "handover_alert_weeks", "siteCode": "XYZ", "value": 4},
        {"rule": "min_months_to_release_at_referral", "siteCode": "cov-lc", "value": 8},
    ]}}
    payload = (await admin.data(CHANGE, batch))["changePracticeRules"]
    assert payload["batchId"] is None
    assert payload["changes"] == []
    assert [(e["field"], e["message"]) for e in payload["errors"]] == [
        ("changes[1].value", "pre_release_meeting_weeks must be between 2 and 26 weeks; got 1."),
        ("changes[2].value", "eligible_age_range: min must not be greater than max."),
        ("changes[3].value", "accepted_care_statuses allows only: ELIGIBLE, RELEVANT, FORMER_RELEVANT, QUALIFYING, "
                             "OTHER_CARE_EXPERIENCED."),
        ("changes[4].rule", "There is no practice rule named 'no_such_rule'; see ruleCatalogue."),
        ("changes[5].siteCode", "There is no site 'XYZ' in this tenant."),
        ("changes[6].rule", "min_months_to_release_at_referral is changed twice for the same level in this batch."),
    ]
    history = (await admin.data(HISTORY, {}))["practiceRuleHistory"]["edges"]
    assert history == []
    assert (await effective(admin, "COV-LC", "min_months_to_release_at_referral"))["value"] == 6

    past = (await admin.data(CHANGE, change("handover_alert_weeks", 6, effectiveFrom=(TODAY - timedelta(days=1))
                                            .isoformat())))["changePracticeRules"]
    assert [e["field"] for e in past["errors"]] == ["effectiveFrom"]
    assert "today or later" in past["errors"][0]["message"]
    blank = (await admin.data(CHANGE, change("handover_alert_weeks", 6, reason="  ")))["changePracticeRules"]
    assert [e["field"] for e in blank["errors"]] == ["reason"]


async def test_a_future_change_takes_effect_on_its_date_without_a_restart(
        make_tenant: TenantFactory, login: CallerFactory, admin_conn: asyncpg.Connection,
        monkeypatch: pytest.MonkeyPatch) -> None:
    tenant = await make_tenant(sites=SITES)
    ya = await in_custody(admin_conn, tenant, "BSI", "Example-F", weeks_ago(8))
    admin = await login(Role.TENANT_ADMIN, tenant)
    tomorrow = TODAY + timedelta(days=1)
    saved = (await admin.data(CHANGE, change("plan_review_interval_weeks", 4, effectiveFrom=tomorrow.isoformat())))
    assert saved["changePracticeRules"]["errors"] == []

    assert (await effective(admin, "BSI", "plan_review_interval_weeks"))["level"] == "DEFAULT"
    assert await effective(admin, "BSI", "plan_review_interval_weeks", on=tomorrow) == {
        "rule": "plan_review_interval_weeks", "value": 4, "level": "TENANT", "since": tomorrow.isoformat(),
        "setBy": saved["changePracticeRules"]["changes"][0]["author"], "reason": "Partnership board decision"}
    assert only(await due(admin, ya), "PLAN_REVIEW")["status"] == "ON_TIME"

    monkeypatch.setattr(clock, "today", lambda zone=clock.DEFAULT_ZONE: tomorrow)  # midnight passes; same app
    assert (await effective(admin, "BSI", "plan_review_interval_weeks"))["value"] == 4
    assert only(await due(admin, ya), "PLAN_REVIEW") == {
        "kind": "PLAN_REVIEW", "dueOn": (weeks_ago(4)).isoformat(), "status": "OVERDUE",
        "rule": "plan_review_interval_weeks", "timePoint": None}


async def test_clearing_a_site_override_falls_back_to_the_tenant_then_the_default(
        make_tenant: TenantFactory, login: CallerFactory) -> None:
    tenant = await make_tenant(sites=SITES)
    admin = await login(Role.TENANT_ADMIN, tenant)
    both = {"input": {"reason": "Regional value and a Coventry exception", "changes": [
        {"rule": "min_months_to_release_at_referral", "value": 7},
        {"rule": "min_months_to_release_at_referral", "siteCode": "cov-lc", "value": 9}]}}
    assert (await admin.data(CHANGE, both))["changePracticeRules"]["errors"] == []
    assert [(await effective(admin, s, "min_months_to_release_at_referral"))["level"]
            for s in ("COV-LC", "BSI", None)] == ["SITE", "TENANT", "TENANT"]
    cleared = change("min_months_to_release_at_referral", None, "COV-LC", reason="Coventry joins the region")
    assert (await admin.data(CHANGE, cleared))["changePracticeRules"]["errors"] == []
    assert (await effective(admin, "COV-LC", "min_months_to_release_at_referral"))["value"] == 7
    assert (await admin.data(CHANGE, change("min_months_to_release_at_referral", None)))[
        "changePracticeRules"]["errors"] == []
    assert await effective(admin, "COV-LC", "min_months_to_release_at_referral") == {
        "rule": "min_months_to_release_at_referral", "value": 6, "level": "DEFAULT", "since": None, "setBy": None,
        "reason": None}
    history = (await admin.data(HISTORY, {"rule": "min_months_to_release_at_referral", "site": "COV-LC"}))
    assert [e["node"]["value"] for e in history["practiceRuleHistory"]["edges"]] == [None, 9]


async def test_who_may_read_and_change_rules(make_tenant: TenantFactory, login: CallerFactory) -> None:
    tenant = await make_tenant(sites=SITES)
    manager = await login(Role.SITE_MANAGER, tenant, sites=("BSI",))
    pa = await login(Role.PRACTITIONER, tenant, service=Service.LEAVING_CARE, sites=("BRM-LC",))
    for caller in (manager, pa):
        assert (await effective(caller, None, "due_soon_days"))["value"] == 14
        for query, variables in ((CHANGE, change("due_soon_days", 7)), (PREVIEW, change("due_soon_days", 7)),
                                 (HISTORY, {})):
            body = await caller(query, variables)
            assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN", query
    assert (await effective(manager, "BSI", "due_soon_days"))["level"] == "DEFAULT"
    hidden = await pa(RULES, {"site": "BSI"})
    assert hidden["errors"][0]["extensions"] == {"code": "NOT_FOUND", "field": "siteCode"}

    for role in (Role.PLATFORM_ADMIN, Role.NATIONAL_ANALYST):
        outsider = await login(role)
        for query, variables in ((RULES, {}), (CHANGE, change("due_soon_days", 7)), (HISTORY, {})):
            body = await outsider(query, variables)
            assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN", (role, query)
        catalogue = await outsider.data("{ ruleCatalogue { name } }")
        assert len(catalogue["ruleCatalogue"]) >= 17, "the catalogue itself is no tenant's data"


async def test_history_is_per_tenant(make_tenant: TenantFactory, login: CallerFactory) -> None:
    ours, theirs = await make_tenant(sites=SITES), await make_tenant(sites=SITES)
    admin, other = await login(Role.TENANT_ADMIN, ours), await login(Role.TENANT_ADMIN, theirs)
    assert (await admin.data(CHANGE, change("due_soon_days", 10)))["changePracticeRules"]["errors"] == []
    assert (await other.data(HISTORY, {}))["practiceRuleHistory"]["edges"] == []
    assert (await effective(other, None, "due_soon_days"))["value"] == 14
