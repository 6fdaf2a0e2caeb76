"""Declarations (service/api/model.py) of the custody part of a young adult's record: episodes (audited as
consulted) with their key dates, licence conditions and recalls. The earliest release date is a generated column
(alembic t0002), so both executors read its one definition."""

from __future__ import annotations

from service.api.model import Consulted, Many, One, TypeModel, cols, global_id
from service.custody.repository import CONDITION_ORDER, RECALL_ORDER

MODELS = (
    TypeModel("CustodyEpisode", "custody_episode", {
        "id": global_id("CustodyEpisode"),
        **cols(version="version", receptionDate="reception_date", sentenceType="sentence_type",
               sentenceStart="sentence_start", crd="crd", ard="ard", ped="ped", hdced="hdced", sed="sed", led="led",
               tused="tused", handoverDate="handover_date", earliestReleaseDate="earliest_release_date",
               actualReleaseDate="actual_release_date", releaseType="release_type"),
        "prison": One("Site", "{c}.id = {p}.prison_site_id"),
        "licenceConditions": Many("LicenceCondition", "{c}.custody_episode_id = {p}.id",
                                  CONDITION_ORDER.format(t="{c}")),
        "recalls": Many("RecallEvent", "{c}.custody_episode_id = {p}.id", RECALL_ORDER.format(t="{c}")),
    }, consulted=Consulted("{t}.young_adult_id")),
    TypeModel("LicenceCondition", "licence_condition",
              cols(description="description", startsOn="starts_on", endsOn="ends_on")),
    TypeModel("RecallEvent", "recall_event",
              cols(recalledOn="recalled_on", returnedToCustodyOn="returned_to_custody_on", reason="reason")),
)
