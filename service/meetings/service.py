"""Rules for meetings: a known kind, real practitioners attending, network members attending only once they have
agreed to take part and while their consent to be contacted stands (the same rule as the Lifelong Links meeting:
service.people.service.attending_members), and a plan version agreed there that belongs to this young adult and has
in fact been agreed. Whether the young adult attended is recorded on the meeting."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Any

import asyncpg

from service.kernel.audit import AuditAction, AuditEvent
from service.kernel.errors import Checks, InvalidInput, NotFound, StaleVersion, prerequisite
from service.kernel.visibility import Actor
from service.meetings import repository
from service.people import repository as people_repository
from service.people.service import attending_members, require_young_adult, text

KINDS = ("INTEGRATED_PLANNING", "THREE_WAY", "PRE_RELEASE", "REVIEW", "LIFELONG_LINKS")
STALE = "This meeting was changed by someone else since you read it; reload it and try again."


async def _check_plan_version(actor: Actor, young_adult_id: uuid.UUID, version_id: uuid.UUID | None) -> None:
    if version_id is None:
        return
    found = await repository.plan_version_of(actor.session, version_id)
    if found is None or found["young_adult_id"] != young_adult_id:
        raise NotFound("No such plan version of this young adult.", field="agreedPlanVersionId")
    if found["status"] == "DRAFT":
        raise prerequisite("PLAN_AGREEMENT_REQUIRED", "The plan version agreed at a meeting must have been signed off "
                           "by every required service; this one is still a draft.", "agreed_plan_version_id")


def _check_outcome(held_on: date, outcome: str | None, today: date) -> str | None:
    outcome = text(outcome, "outcome", 4000)
    if outcome is not None and held_on > today:
        raise InvalidInput("An outcome is recorded once the meeting has been held (heldOn is in the future).",
                           field="outcome")
    return outcome


async def record_meeting(actor: Actor, young_adult_id: uuid.UUID | None, values: dict[str, Any],
                         practitioner_ids: list[uuid.UUID | None], member_ids: list[uuid.UUID | None],
                         today: date) -> asyncpg.Record:
    young_adult_id = await require_young_adult(actor, young_adult_id)
    checks = Checks()  # every refusal at once
    if values["kind"] not in KINDS:
        checks.add(InvalidInput(f"kind must be one of {', '.join(KINDS)}.", field="kind"))
    wanted = list(dict.fromkeys(practitioner_ids))
    known = {r["id"] for r in await people_repository.practitioners_by_id(
        actor.session, [p for p in wanted if p is not None])}
    if any(p is None or p not in known for p in wanted):
        checks.add(NotFound("No such practitioner.", field="attendees"))
    members: list[uuid.UUID] = []
    with checks.check():
        members = await attending_members(actor.session, actor.scope, young_adult_id, member_ids, "attendees")
    with checks.check():
        values = {**values, "outcome": _check_outcome(values["held_on"], values.get("outcome"), today)}
    with checks.check():
        await _check_plan_version(actor, young_adult_id, values.get("agreed_plan_version_id"))
    checks.done()
    row = await repository.insert_meeting(actor.session, young_adult_id, values,
                                          [p for p in wanted if p is not None], members)
    await actor.audit([AuditEvent(AuditAction.CREATE, "Meeting", row["id"], young_adult_id,
                                  (*tuple(sorted(k for k, v in values.items() if v not in (None, False))),
                                   "attendees"))])
    return row


async def update_meeting(actor: Actor, meeting_id: uuid.UUID | None, version: int, changes: dict[str, Any],
                         today: date) -> asyncpg.Record:
    found = await repository.meetings_by_id(actor.session, [meeting_id], actor.scope) if meeting_id else []
    if not found:
        raise NotFound("No such meeting.", field="id")
    current = found[0]
    if not changes:
        raise InvalidInput("Nothing to change: give at least one field.")
    if changes.get("held_on", current["held_on"]) is None:
        raise InvalidInput("heldOn is required.", field="held_on")
    if "young_adult_attended" in changes and changes["young_adult_attended"] is None:
        raise InvalidInput("youngAdultAttended is true or false.", field="young_adult_attended")
    merged = {**dict(current), **changes}
    outcome = _check_outcome(merged["held_on"], merged["outcome"], today)
    if "outcome" in changes:
        changes["outcome"] = outcome
    await _check_plan_version(actor, current["young_adult_id"], changes.get("agreed_plan_version_id"))
    row = await repository.update_meeting(actor.session, current["id"], version, changes)
    if row is None:
        raise StaleVersion(STALE, field="version")
    await actor.audit([AuditEvent(AuditAction.ALTER, "Meeting", row["id"], row["young_adult_id"],
                                  tuple(sorted(changes)))])
    return row
