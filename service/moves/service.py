"""Business rules for moves inside a tenant: a site transfer (one operation, effective on a date) and the release
handover (recorded, with its checklist and the new lead).

The governing site — whose practice rules set the due items — follows the rule in
:func:`service.rules.repository.governing`: from its effective date, the site a transfer moved the young adult to.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, timedelta

import asyncpg

from service.kernel.audit import AuditAction, AuditEvent
from service.kernel.errors import Conflict, InvalidInput, NotFound
from service.kernel.visibility import Actor
from service.moves import repository
from service.people import repository as people_repository
from service.people.service import require_young_adult, text
from service.records import service as records
from service.rules.service import rules_for_young_adult

# How far ahead a transfer may be recorded: prison transfers are planned weeks, not years, ahead.
MAX_DAYS_AHEAD = 180


@dataclass(frozen=True, slots=True)
class TeamChange:
    """Who joins the team on a transfer (their team role), and which roles' current members leave it."""

    join: tuple[tuple[uuid.UUID | None, str], ...] = ()
    leave: tuple[str, ...] = ()


async def _open_site(actor: Actor, site_id: uuid.UUID | None, field: str) -> asyncpg.Record:
    found = await people_repository.sites_by_id(actor.session, [site_id]) if site_id else []
    if not found:
        raise NotFound("No such site.", field=field)
    if found[0]["closed_at"] is not None:
        raise InvalidInput("That site is closed and takes no new work.", field=field)
    return found[0]


async def transfer_site(actor: Actor, young_adult_id: uuid.UUID | None, from_site_id: uuid.UUID | None,
                        to_site_id: uuid.UUID | None, effective_on: date, reason: str | None, team: TeamChange,
                        today: date) -> asyncpg.Record:
    """Move a young adult from one site to another on ``effective_on``: the sending enrolment ends and the receiving
    one starts that day (so the governing site, its rules and the due items change then), and the team changes as
    stated (dated the effective day, or today when that is still ahead, so the receiving team sees the record)."""
    young_adult_id = await require_young_adult(actor, young_adult_id)
    if from_site_id is None or not actor.scope.covers(from_site_id):
        raise NotFound("No such site.", field="fromSiteId")
    await _open_site(actor, from_site_id, "fromSiteId")
    to_site = await _open_site(actor, to_site_id, "toSiteId")
    if to_site["id"] == from_site_id:
        raise InvalidInput("toSiteId must be another site than fromSiteId.", field="toSiteId")
    sending = await repository.current_enrolment_at(actor.session, young_adult_id, from_site_id)
    if sending is None or sending["status"] == "EXITED":
        raise InvalidInput("The young adult has no current enrolment at fromSiteId.", field="fromSiteId")
    if await repository.current_enrolment_at(actor.session, young_adult_id, to_site["id"]) is not None:
        raise Conflict("The young adult is already enrolled at toSiteId; exit that enrolment instead.",
                       field="toSiteId")
    if effective_on <= sending["identified_on"]:
        raise InvalidInput("effectiveOn must be after the sending enrolment began.", field="effectiveOn")
    if effective_on > today + timedelta(days=MAX_DAYS_AHEAD):
        raise InvalidInput(f"effectiveOn must be within {MAX_DAYS_AHEAD} days from today.", field="effectiveOn")
    reason = text(reason, "reason", 500, required=True)
    assert reason is not None
    row = await repository.insert_site_transfer(actor.session, young_adult_id, sending, to_site["id"], effective_on,
                                                reason, actor.principal.subject)
    await actor.audit([
        AuditEvent(AuditAction.CREATE, "SiteTransfer", row["id"], young_adult_id,
                   ("effective_on", "from_enrolment_id", "reason", "to_enrolment_id")),
        AuditEvent(AuditAction.ALTER, "Enrolment", row["from_enrolment_id"], young_adult_id,
                   ("exit_reason", "exited_on", "status")),
        AuditEvent(AuditAction.CREATE, "Enrolment", row["to_enrolment_id"], young_adult_id,
                   ("identified_on", "site_id"))])
    dated = min(effective_on, today)
    current = await repository.current_team(actor.session, young_adult_id)
    for role in team.leave:
        member = next((m for m in current if m["team_role"] == role), None)
        if member is None:
            raise InvalidInput(f"The team has no current {role} to leave.", field="team")
        await records.end_team_membership(actor, member["id"], member["version"], dated)
    for practitioner_id, role in team.join:
        await records.add_team_member(actor, young_adult_id, practitioner_id, role, dated, today)
    return row


async def record_handover(actor: Actor, young_adult_id: uuid.UUID | None, handed_over_on: date, from_service: str,
                          to_services: list[str], lead_id: uuid.UUID | None, checklist: list[str], today: date,
                          ) -> tuple[asyncpg.Record, list[str]]:
    """Record the release handover as it happened: from one service to the others, the new lead practitioner (on
    the team, from a receiving service) and the checklist items confirmed. Returns the handover and the items the
    practice rules still want confirmed (the HANDOVER due item is done once none is left)."""
    young_adult_id = await require_young_adult(actor, young_adult_id)
    if handed_over_on > today:
        raise InvalidInput("handedOverOn must not be in the future: record the handover when it happens.",
                           field="handedOverOn")
    receiving = sorted(set(to_services))
    if not receiving:
        raise InvalidInput("toServices must name at least one service.", field="toServices")
    if from_service in receiving:
        raise InvalidInput("toServices must not include fromService.", field="toServices")
    lead = await people_repository.practitioners_by_id(actor.session, [lead_id]) if lead_id else []
    if not lead:
        raise NotFound("No such practitioner.", field="leadPractitionerId")
    if lead[0]["service"] not in receiving:
        raise InvalidInput("The new lead must work for one of toServices.", field="leadPractitionerId")
    team = await repository.current_team(actor.session, young_adult_id)
    if not any(m["practitioner_id"] == lead[0]["id"] for m in team):
        raise InvalidInput("The new lead must be on the young adult's team; add them first.",
                           field="leadPractitionerId")
    previous = await repository.last_handover_lead(actor.session, young_adult_id)
    if previous is None:
        previous = next((m["practitioner_id"] for m in team if m["service"] == from_service), None)
    episode = await repository.latest_custody_episode(actor.session, young_adult_id)
    confirmed = sorted(set(checklist))
    row = await repository.insert_handover(actor.session, young_adult_id, episode, handed_over_on, from_service,
                                           receiving, previous, lead[0]["id"], confirmed, actor.principal.subject)
    await actor.audit([AuditEvent(AuditAction.CREATE, "Handover", row["id"], young_adult_id,
                                  ("checklist", "from_service", "handed_over_on", "to_lead_id", "to_services"))])
    wanted = (await rules_for_young_adult(actor.session, young_adult_id, handed_over_on))["handover_checklist"]
    return row, [item for item in wanted if item not in confirmed]
