"""Outcome check-ins through the API: the rules a check-in must meet, the due item it completes, the audit event it
leaves, and the national outcome figure it feeds — from the mutation through a reporting refresh to what a national
analyst reads. Releases are in 2017 so no other test's tenant adds to the national figures of that year."""

from __future__ import annotations

import datetime as dt
from typing import Any

import asyncpg

from service.api.relay import to_global_id
from service.kernel import clock
from service.kernel.principal import Role, Service
from tests.audit_rows import by_type
from tests.conftest import Caller, CallerFactory, TenantFactory
from tests.operations import Operations
from tests.reporting.seed import D, Seeder, delete_rollups

RELEASED = D(2017, 3, 6)
HEADLINE = """query($metric: String!, $period: Date!, $tenant: String) {
  nationalMetric(metric: $metric, grain: MONTH, periodStart: $period, breakdown: TENANT, tenant: $tenant) {
    total { value suppressed reason numerator { value } denominator { value } } } }"""
DUE = """query($id: ID!) { youngAdult(id: $id) { dueItems { kind timePoint status }
                                             outcomeCheckIns { timePoint accommodation } } }"""


def check_in(ya: Any, time_point: str = "RELEASE_DAY", observed: D = RELEASED, **values: Any) -> dict[str, Any]:
    return {"youngAdultId": to_global_id("YoungAdult", ya), "timePoint": time_point,
            "observedOn": observed.isoformat(), **({"accommodation": "SETTLED"} | values)}


def refusal(payload: dict[str, Any]) -> list[tuple[str, str | None]]:
    assert payload["outcomeCheckIn"] is None
    return [(e["code"], e["field"]) for e in payload["errors"]]


async def outcome_status(caller: Caller, ya: Any, time_point: str) -> str:
    record = (await caller.data(DUE, {"id": to_global_id("YoungAdult", ya)}))["youngAdult"]
    return str(next(i["status"] for i in record["dueItems"]
                    if i["kind"] == "OUTCOME_CHECK_IN" and i["timePoint"] == time_point))


async def test_check_in_rules_due_item_and_audit(make_tenant: TenantFactory, login: CallerFactory,
                                                 admin_conn: asyncpg.Connection) -> None:
    tenant = await make_tenant()
    seed, ops = Seeder(admin_conn, tenant.schema), Operations()
    ya = await seed.young_adult("BSI", identified=D(2016, 6, 1))
    in_custody = await seed.young_adult("BSI", identified=D(2016, 6, 1))
    await admin_conn.execute(f'INSERT INTO "{tenant.schema}".custody_episode (young_adult_id, reception_date, '
                             "sentence_type) VALUES ($1, '2016-05-01', 'DETERMINATE')", in_custody)
    await seed.release(ya, D(2016, 5, 1), RELEASED)
    pom = await login(Role.PRACTITIONER, tenant, service=Service.PRISON, sites=("BSI",))
    elsewhere = await login(Role.PRACTITIONER, tenant, service=Service.LEAVING_CARE, sites=("BRM-LC",))
    assert await outcome_status(pom, ya, "RELEASE_DAY") == "OVERDUE"

    tomorrow = clock.today() + dt.timedelta(days=1)
    assert refusal(await ops.payload(pom, "RecordOutcomeCheckIn", check_in(ya, observed=tomorrow))) == [
        ("INVALID", "observedOn")]
    assert refusal(await ops.payload(pom, "RecordOutcomeCheckIn", check_in(ya, observed=D(2017, 3, 5)))) == [
        ("INVALID", "observedOn")]  # before the release
    assert refusal(await ops.payload(pom, "RecordOutcomeCheckIn",
                                     check_in(ya, "MONTH_6", D(2017, 4, 1)))) == [("INVALID", "observedOn")]
    assert refusal(await ops.payload(pom, "RecordOutcomeCheckIn", check_in(in_custody))) == [
        ("INVALID", "timePoint")]  # no release yet
    assert refusal(await ops.payload(pom, "RecordOutcomeCheckIn", check_in(ya, accommodation=None))) == [
        ("INVALID", "accommodation")]  # nothing observed
    assert refusal(await ops.payload(pom, "RecordOutcomeCheckIn", check_in(ya, networkContactsLast30Days=-1))) == [
        ("INVALID", "networkContactsLast30Days")]
    assert refusal(await ops.payload(elsewhere, "RecordOutcomeCheckIn", check_in(ya))) == [
        ("NOT_FOUND", "youngAdultId")]  # not theirs to see: answered like a missing id
    assert await admin_conn.fetchval(f'SELECT count(*) FROM "{tenant.schema}".outcome_observation') == 0

    done = (await ops.ok(pom, "RecordOutcomeCheckIn", check_in(ya, networkContactsLast30Days=4)))["outcomeCheckIn"]
    assert (done["timePoint"], done["accommodation"], done["networkContactsLast30Days"]) == ("RELEASE_DAY",
                                                                                             "SETTLED", 4)
    assert await outcome_status(pom, ya, "RELEASE_DAY") == "DONE"
    assert await outcome_status(pom, ya, "MONTH_3") == "OVERDUE"
    assert refusal(await ops.payload(pom, "RecordOutcomeCheckIn", check_in(ya, accommodation="TEMPORARY"))) == [
        ("CONFLICT", "timePoint")]  # one per time point
    three = check_in(ya, "MONTH_3", D(2017, 6, 1), accommodation=None, inEducationTrainingEmployment=True)
    assert (await ops.ok(pom, "RecordOutcomeCheckIn", three))["outcomeCheckIn"]["inEducationTrainingEmployment"]
    audit = await admin_conn.fetch(
        f"SELECT action, subject_type, young_adult_ids[1] AS young_adult_id, fields FROM {by_type(tenant.schema)} "
        "WHERE subject_type = 'OutcomeCheckIn' AND action = 'CREATE' ORDER BY id, part")
    assert [(a["action"], a["young_adult_id"], a["fields"]) for a in audit] == [
        ("CREATE", ya, ["observed_on", "time_point", "accommodation", "network_contacts_last_30_days"]),
        ("CREATE", ya, ["observed_on", "time_point", "in_education_training_employment"])]
    record = (await pom.data(DUE, {"id": to_global_id("YoungAdult", ya)}))["youngAdult"]
    assert [c["timePoint"] for c in record["outcomeCheckIns"]] == ["RELEASE_DAY", "MONTH_3"]


async def test_check_ins_feed_the_national_outcome_figure(make_tenant: TenantFactory, login: CallerFactory,
                                                          admin_conn: asyncpg.Connection) -> None:
    await delete_rollups(admin_conn, "period_start BETWEEN '2017-01-01' AND '2017-12-31'")
    tenant = await make_tenant("oc")
    seed, ops = Seeder(admin_conn, tenant.schema), Operations()
    pom = await login(Role.PRACTITIONER, tenant, service=Service.PRISON, sites=("BSI",))
    for i in range(15):
        ya = await seed.young_adult("BSI", identified=D(2016, 6, 1))
        await seed.release(ya, D(2016, 5, 1), RELEASED)
        await ops.ok(pom, "RecordOutcomeCheckIn", check_in(ya, accommodation="SETTLED" if i < 10 else "TEMPORARY"))

    admin, analyst = await login(Role.TENANT_ADMIN, tenant), await login(Role.NATIONAL_ANALYST)
    refreshed = await admin.data("mutation($t: String) { refreshReporting(input: {tenant: $t}) "
                                 "{ refreshed { tenant rollupRows } errors { code } } }", {"t": tenant.slug})
    assert refreshed["refreshReporting"]["errors"] == []
    figure = (await analyst.data(HEADLINE, {"metric": "settled_on_release", "period": "2017-03-01",
                                            "tenant": None}))["nationalMetric"]["total"]
    assert figure["suppressed"] is False, figure
    assert (figure["numerator"]["value"], figure["denominator"]["value"]) == (10, 15)
    assert figure["value"] == 66.7  # per cent, one decimal
