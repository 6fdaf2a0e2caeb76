"""Rules for custody episodes: key dates that contradict each other are refused with a message naming both."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Any

import asyncpg

from service.custody import repository
from service.kernel.audit import AuditAction, AuditEvent
from service.kernel.errors import Checks, Conflict, InvalidInput, NotFound, StaleVersion, prerequisite
from service.kernel.visibility import Actor
from service.people.service import require_young_adult, text

SENTENCE_TYPES = ("DETERMINATE", "INDETERMINATE", "REMAND")
RELEASE_TYPES = ("CONDITIONAL", "AUTOMATIC", "PAROLE", "HOME_DETENTION_CURFEW", "END_OF_SENTENCE", "COURT", "OTHER")
STALE = "This custody episode was changed by someone else since you read it; reload it and try again."

# What each date is called, as the API names it.
NAMES = {"reception_date": "receptionDate (reception)", "sentence_start": "sentenceStart (sentence start)",
         "crd": "crd (conditional release date)", "ard": "ard (automatic release date)",
         "ped": "ped (parole eligibility date)", "hdced": "hdced (home detention curfew eligibility date)",
         "sed": "sed (sentence expiry date)", "led": "led (licence expiry date)",
         "tused": "tused (end of post-sentence supervision)", "handover_date": "handoverDate (handover to probation)",
         "actual_release_date": "actualReleaseDate (release)"}
# (earlier, later): the second may not fall before the first.
ORDER = (
    ("reception_date", "actual_release_date"),
    ("sentence_start", "crd"), ("sentence_start", "ard"), ("sentence_start", "ped"), ("sentence_start", "hdced"),
    ("sentence_start", "sed"),
    ("crd", "sed"), ("ard", "sed"), ("ped", "sed"), ("hdced", "crd"), ("hdced", "ard"),
    ("crd", "led"), ("actual_release_date", "led"), ("sed", "tused"), ("led", "tused"),
)


def check_dates(values: dict[str, Any]) -> None:
    """Refuse the first contradiction found in an episode's dates (its complete state after the change)."""
    if values.get("sentence_type") == "REMAND":
        for name in ("sentence_start", "crd", "ard", "ped", "hdced", "sed", "led", "tused"):
            if values.get(name) is not None:
                raise InvalidInput(f"A remand episode has no sentence dates: leave {NAMES[name]} empty.", field=name)
    for earlier, later in ORDER:
        a, b = values.get(earlier), values.get(later)
        if a is not None and b is not None and b < a:
            raise InvalidInput(f"{NAMES[later]} must not be before {NAMES[earlier]}.", field=later)


async def _prison(actor: Actor, site_id: uuid.UUID | None) -> None:
    if site_id is not None and not await repository.prison_exists(actor.session, site_id):
        raise NotFound("No such prison.", field="prisonSiteId")


async def _episode(actor: Actor, episode_id: uuid.UUID | None, field: str = "id") -> asyncpg.Record:
    found = await repository.episodes_by_id(actor.session, [episode_id], actor.scope) if episode_id else []
    if not found:
        raise NotFound("No such custody episode.", field=field)
    return found[0]


def _check_types(values: dict[str, Any]) -> None:
    if "sentence_type" in values and values["sentence_type"] not in SENTENCE_TYPES:
        raise InvalidInput(f"sentenceType must be one of {', '.join(SENTENCE_TYPES)}.", field="sentence_type")


async def record_episode(actor: Actor, young_adult_id: uuid.UUID | None, values: dict[str, Any], today: date,
                         ) -> asyncpg.Record:
    young_adult_id = await require_young_adult(actor, young_adult_id)
    await _prison(actor, values.get("prison_site_id"))
    _check_types(values)
    if values["reception_date"] > today:
        raise InvalidInput("receptionDate (reception) must not be in the future.", field="reception_date")
    check_dates(values)
    row = await repository.insert_episode(actor.session, young_adult_id, values)
    await actor.audit([AuditEvent(AuditAction.CREATE, "CustodyEpisode", row["id"], young_adult_id,
                                  tuple(sorted(k for k, v in values.items() if v is not None)))])
    return row


async def update_episode(actor: Actor, episode_id: uuid.UUID | None, version: int, changes: dict[str, Any],
                         ) -> asyncpg.Record:
    current = await _episode(actor, episode_id)
    if not changes:
        raise InvalidInput("Nothing to change: give at least one field.")
    if changes.get("reception_date", current["reception_date"]) is None:
        raise InvalidInput("receptionDate (reception) is required.", field="reception_date")
    await _prison(actor, changes.get("prison_site_id"))
    _check_types(changes)
    check_dates({**dict(current), **changes})
    row = await repository.update_episode(actor.session, current["id"], version, changes)
    if row is None:
        raise StaleVersion(STALE, field="version")
    await actor.audit([AuditEvent(AuditAction.ALTER, "CustodyEpisode", row["id"], row["young_adult_id"],
                                  tuple(sorted(changes)))])
    return row


async def record_release(actor: Actor, episode_id: uuid.UUID | None, version: int, released_on: date,
                         release_type: str, today: date) -> asyncpg.Record:
    current = await _episode(actor, episode_id, "custodyEpisodeId")
    if current["actual_release_date"] is not None:
        raise Conflict("This episode's release is already recorded.", field="custodyEpisodeId")
    if release_type not in RELEASE_TYPES:
        raise InvalidInput(f"releaseType must be one of {', '.join(RELEASE_TYPES)}.", field="release_type")
    if released_on > today:
        raise InvalidInput("actualReleaseDate (release) must not be in the future.", field="actual_release_date")
    changes = {"actual_release_date": released_on, "release_type": release_type}
    check_dates({**dict(current), **changes})
    row = await repository.update_episode(actor.session, current["id"], version, changes)
    if row is None:
        raise StaleVersion(STALE, field="version")
    await actor.audit([AuditEvent(AuditAction.ALTER, "CustodyEpisode", row["id"], row["young_adult_id"],
                                  ("actual_release_date", "release_type"))])
    return row


async def record_recall(actor: Actor, episode_id: uuid.UUID | None, recalled_on: date, returned_on: date | None,
                        reason: str | None, today: date) -> asyncpg.Record:
    current = await _episode(actor, episode_id, "custodyEpisodeId")
    released = current["actual_release_date"]
    checks = Checks()  # every refusal at once
    if released is None:
        checks.add(prerequisite("RELEASE_REQUIRED", "A recall follows a release: record the release first.",
                                "custodyEpisodeId"))
    elif recalled_on < released:
        checks.add(InvalidInput("recalledOn (recall) must not be before actualReleaseDate (release).",
                                field="recalled_on"))
    if returned_on is not None and returned_on < recalled_on:
        checks.add(InvalidInput("returnedToCustodyOn (return to custody) must not be before recalledOn (recall).",
                                field="returned_to_custody_on"))
    if max(recalled_on, returned_on or recalled_on) > today:
        checks.add(InvalidInput("A recall is recorded once it has happened: no future dates.", field="recalled_on"))
    checks.done()
    recall_id = await repository.insert_recall(actor.session, current["id"], recalled_on, returned_on,
                                               text(reason, "reason", 2000))
    await actor.audit([AuditEvent(AuditAction.CREATE, "RecallEvent", recall_id, current["young_adult_id"],
                                  ("reason", "recalled_on", "returned_to_custody_on"))])
    return current


async def add_licence_condition(actor: Actor, episode_id: uuid.UUID | None, description: str,
                                starts_on: date | None, ends_on: date | None) -> asyncpg.Record:
    current = await _episode(actor, episode_id, "custodyEpisodeId")
    described = text(description, "description", 2000, required=True)
    assert described is not None
    if starts_on is not None and ends_on is not None and ends_on < starts_on:
        raise InvalidInput("endsOn (condition ends) must not be before startsOn (condition starts).",
                           field="ends_on")
    condition_id = await repository.insert_condition(actor.session, current["id"], described, starts_on, ends_on)
    await actor.audit([AuditEvent(AuditAction.CREATE, "LicenceCondition", condition_id, current["young_adult_id"],
                                  ("description", "ends_on", "starts_on"))])
    return current
