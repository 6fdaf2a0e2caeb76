"""Custody episodes: contradictory key dates are refused naming both; release, recall and concurrency rules."""

from __future__ import annotations

from typing import Any

import pytest

from tests.conftest import CallerFactory, TenantFactory
from tests.operations import Operations
from tests.records.casework import Casework, casework, days_ago, young_adult


async def setup(make_tenant: TenantFactory, login: CallerFactory) -> tuple[Casework, str]:
    cw = await casework(make_tenant, login, Operations())
    created = await cw.ops.ok(cw.callers["pom"], "CreateYoungAdult", young_adult(cw.sites["BSI"], "Example-Dates"))
    return cw, created["youngAdult"]["id"]


@pytest.mark.parametrize(("dates", "field", "both"), [
    ({"sentenceStart": 100, "sed": 150}, "sed", ("sed (sentence expiry", "sentenceStart")),
    ({"crd": 50, "sed": 60}, "sed", ("sed (sentence expiry", "crd (conditional release")),
    ({"hdced": 10, "crd": 20}, "crd", ("crd (conditional release", "hdced (home detention")),
    ({"ped": 5, "sed": 10}, "sed", ("sed (sentence expiry", "ped (parole eligibility")),
    ({"sed": 10, "tused": 20}, "tused", ("tused (end of post-sentence supervision", "sed (sentence expiry")),
    ({"crd": 10, "led": 20}, "led", ("led (licence expiry", "crd (conditional release")),
])
async def test_contradictory_key_dates_are_refused_naming_both(make_tenant: TenantFactory, login: CallerFactory,
                                                               dates: dict[str, int], field: str,
                                                               both: tuple[str, str]) -> None:
    cw, ya = await setup(make_tenant, login)
    # days ago: a larger number is earlier
    given = {k: days_ago(v) for k, v in dates.items()}
    payload = await cw.ops.payload(cw.callers["pom"], "RecordCustodyEpisode", {
        "youngAdultId": ya, "receptionDate": days_ago(300), "sentenceType": "DETERMINATE", **given})
    assert payload["custodyEpisode"] is None
    [error] = payload["errors"]
    assert (error["code"], error["field"]) == ("INVALID", field)
    assert all(name in error["message"] for name in both), error["message"]


async def test_release_licence_and_recall(make_tenant: TenantFactory, login: CallerFactory) -> None:
    cw, ya = await setup(make_tenant, login)
    ops, pom = cw.ops, cw.callers["pom"]
    episode = (await ops.ok(pom, "RecordCustodyEpisode", {
        "youngAdultId": ya, "receptionDate": days_ago(300), "sentenceType": "DETERMINATE", "crd": days_ago(10),
        "ped": days_ago(40), "sed": days_ago(-300), "led": days_ago(8)}))["custodyEpisode"]
    assert episode["earliestReleaseDate"] == days_ago(40)  # PED when there is one

    recall_first = await ops.payload(pom, "RecordRecall", {"custodyEpisodeId": episode["id"],
                                                           "recalledOn": days_ago(-1)})
    assert [(e["code"], e["message"]) for e in recall_first["errors"]] == [
        ("RELEASE_REQUIRED", "A recall follows a release: record the release first."),
        ("INVALID", "A recall is recorded once it has happened: no future dates.")]
    after_licence = await ops.payload(pom, "RecordRelease", {"custodyEpisodeId": episode["id"], "version": 1,
                                                             "actualReleaseDate": days_ago(5),
                                                             "releaseType": "CONDITIONAL"})
    assert after_licence["errors"][0]["field"] == "led"
    assert "actualReleaseDate (release)" in after_licence["errors"][0]["message"]
    stale_edit = {"id": episode["id"], "version": 1, "led": days_ago(-200)}
    await ops.ok(pom, "UpdateCustodyEpisode", stale_edit)
    again = await ops.payload(pom, "UpdateCustodyEpisode", {**stale_edit, "led": days_ago(-100)})
    assert [e["code"] for e in again["errors"]] == ["STALE_VERSION"]
    released = await ops.ok(pom, "RecordRelease", {"custodyEpisodeId": episode["id"], "version": 2,
                                                   "actualReleaseDate": days_ago(5), "releaseType": "PAROLE"})
    assert released["custodyEpisode"]["releaseType"] == "PAROLE"
    twice = await ops.payload(pom, "RecordRelease", {"custodyEpisodeId": episode["id"], "version": 3,
                                                     "actualReleaseDate": days_ago(4), "releaseType": "PAROLE"})
    assert [e["code"] for e in twice["errors"]] == ["CONFLICT"]
    early: dict[str, Any] = {"custodyEpisodeId": episode["id"], "recalledOn": days_ago(6)}
    assert (await ops.payload(pom, "RecordRecall", early))["errors"][0]["field"] == "recalledOn"
    bad_condition = {"custodyEpisodeId": episode["id"], "description": "Curfew", "startsOn": days_ago(1),
                     "endsOn": days_ago(2)}
    assert (await ops.payload(pom, "AddLicenceCondition", bad_condition))["errors"][0]["field"] == "endsOn"


async def test_remand_has_no_sentence_dates_and_prisons_must_exist(make_tenant: TenantFactory,
                                                                   login: CallerFactory) -> None:
    cw, ya = await setup(make_tenant, login)
    base = {"youngAdultId": ya, "receptionDate": days_ago(30), "sentenceType": "REMAND"}
    remand = await cw.ops.payload(cw.callers["pom"], "RecordCustodyEpisode", {**base, "crd": days_ago(-30)})
    assert remand["errors"][0]["field"] == "crd"
    not_a_prison = await cw.ops.payload(cw.callers["pom"], "RecordCustodyEpisode",
                                        {**base, "prisonSiteId": cw.sites["BRM-LC"]})
    assert [(e["code"], e["field"]) for e in not_a_prison["errors"]] == [("NOT_FOUND", "prisonSiteId")]
