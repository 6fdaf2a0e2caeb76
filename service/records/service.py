"""Business rules for a young adult's record: valid details, enrolments and their status, access restriction."""

from __future__ import annotations

import re
import uuid
from datetime import date
from typing import Any

import asyncpg

from service.kernel.audit import AuditAction, AuditEvent
from service.kernel.errors import AccessDenied, Conflict, InvalidInput, NotFound, StaleVersion
from service.kernel.principal import Role
from service.kernel.visibility import Actor
from service.people import repository as people_repository
from service.people.service import api_name, require_young_adult, text
from service.records import repository

CARE_STATUSES = ("ELIGIBLE", "RELEVANT", "FORMER_RELEVANT", "QUALIFYING", "OTHER_CARE_EXPERIENCED")
PRISON_NUMBER = re.compile(r"^[A-Z]\d{4}[A-Z]{2}$")  # e.g. A1234BC
PROBATION_CRN = re.compile(r"^[A-Z]\d{6}$")  # e.g. X123456
# An enrolment moves forward through these; EXITED may be reached from any of them.
ENROLMENT_STATUSES = ("IDENTIFIED", "REFERRED", "CONSENTED", "ACTIVE", "EXITED")
STALE = "This record was changed by someone else since you read it; reload it and try again."


def validate_fields(fields: dict[str, Any], *, creating: bool, today: date) -> dict[str, Any]:
    """Normalise and check young-adult fields; messages name the field and the rule, never the value."""
    out: dict[str, Any] = {}
    for name in ("given_name", "family_name"):
        if name in fields or creating:
            out[name] = text(fields.get(name), name, required=True)
    if "date_of_birth" in fields or creating:
        dob = fields.get("date_of_birth")
        if dob is None:
            raise InvalidInput("dateOfBirth is required.", field="date_of_birth")
        if dob >= today or dob.year < today.year - 120:
            raise InvalidInput("dateOfBirth must be a past date within a lifetime.", field="date_of_birth")
        out["date_of_birth"] = dob
    if "care_status" in fields or creating:
        if fields.get("care_status") not in CARE_STATUSES:
            raise InvalidInput(f"careStatus must be one of {', '.join(CARE_STATUSES)}.", field="care_status")
        out["care_status"] = fields["care_status"]
    for name, pattern, example in (("prison_number", PRISON_NUMBER, "A1234BC"),
                                   ("probation_crn", PROBATION_CRN, "X123456")):
        if name in fields:
            value = text(fields[name], name, 20)
            if value is not None:
                value = value.upper()
                if not pattern.fullmatch(value):
                    raise InvalidInput(f"{api_name(name)} must look like {example}.", field=name)
            out[name] = value
    for name in ("la_reference", "responsible_local_authority"):
        if name in fields:
            out[name] = text(fields[name], name, 100)
    if "entitlement_end_age" in fields:
        if fields["entitlement_end_age"] not in (21, 25):
            raise InvalidInput("entitlementEndAge must be 21 or 25.", field="entitlement_end_age")
        out["entitlement_end_age"] = fields["entitlement_end_age"]
    return out


async def _require_site(actor: Actor, site_id: uuid.UUID | None) -> uuid.UUID:
    if (site_id is None or not actor.scope.covers(site_id)
            or not await people_repository.sites_by_id(actor.session, [site_id])):
        raise NotFound("No such site.", field="siteId")
    return site_id


async def create_young_adult(actor: Actor, site_id: uuid.UUID | None, fields: dict[str, Any], today: date,
                             ) -> asyncpg.Record:
    """A young adult identified at one of the caller's sites (with their enrolment there)."""
    site_id = await _require_site(actor, site_id)
    values = validate_fields(fields, creating=True, today=today)
    try:
        row = await repository.insert_young_adult(actor.session, values)
    except asyncpg.UniqueViolationError:
        raise Conflict("Another young adult already has this prison number.", field="prisonNumber") from None
    enrolment = await repository.insert_enrolment(actor.session, row["id"], site_id, today)
    await actor.audit([
        AuditEvent(AuditAction.CREATE, "YoungAdult", row["id"], row["id"],
                   tuple(sorted(k for k, v in values.items() if v is not None))),
        AuditEvent(AuditAction.CREATE, "Enrolment", enrolment["id"], row["id"], ("identified_on", "site_id"))])
    return row


async def update_young_adult(actor: Actor, young_adult_id: uuid.UUID | None, version: int, fields: dict[str, Any],
                             today: date) -> asyncpg.Record:
    young_adult_id = await require_young_adult(actor, young_adult_id, "id")
    changes = validate_fields(fields, creating=False, today=today)
    if not changes:
        raise InvalidInput("Nothing to change: give at least one field.")
    try:
        row = await repository.update_young_adult(actor.session, young_adult_id, version, changes)
    except asyncpg.UniqueViolationError:
        raise Conflict("Another young adult already has this prison number.", field="prisonNumber") from None
    if row is None:
        raise StaleVersion(STALE, field="version")
    await actor.audit([AuditEvent(AuditAction.ALTER, "YoungAdult", young_adult_id, young_adult_id,
                                  tuple(sorted(changes)))])
    return row


async def restrict_access(actor: Actor, young_adult_id: uuid.UUID | None, version: int, restricted: bool,
                          ) -> asyncpg.Record:
    """Restrict a record to its named team (or lift that). Tenant administrators and the team decide; a site
    manager or a practitioner who sees the record through their site may not."""
    young_adult_id = await require_young_adult(actor, young_adult_id, "id")
    if actor.principal.role is not Role.TENANT_ADMIN:
        on_team = await repository.on_team(actor.session, young_adult_id, actor.scope.practitioner_id)
        if not on_team:
            raise AccessDenied("Only the young adult's team and tenant administrators restrict a record.")
    row = await repository.update_young_adult(actor.session, young_adult_id, version,
                                              {"access_restricted": restricted})
    if row is None:
        raise StaleVersion(STALE, field="version")
    await actor.audit([AuditEvent(AuditAction.ALTER, "YoungAdult", young_adult_id, young_adult_id,
                                  ("access_restricted",))])
    return row


async def enrol(actor: Actor, young_adult_id: uuid.UUID | None, site_id: uuid.UUID | None, identified_on: date,
                today: date) -> asyncpg.Record:
    """Enrol a young adult the caller sees at another site of theirs (e.g. the leaving-care service)."""
    young_adult_id = await require_young_adult(actor, young_adult_id)
    site_id = await _require_site(actor, site_id)
    if identified_on > today:
        raise InvalidInput("identifiedOn must not be in the future.", field="identified_on")
    try:
        row = await repository.insert_enrolment(actor.session, young_adult_id, site_id, identified_on)
    except asyncpg.UniqueViolationError:
        raise Conflict("The young adult is already enrolled at this site.", field="siteId") from None
    await actor.audit([AuditEvent(AuditAction.CREATE, "Enrolment", row["id"], young_adult_id,
                                  ("identified_on", "site_id"))])
    return row


async def change_enrolment_status(actor: Actor, enrolment_id: uuid.UUID | None, version: int, status: str,
                                  changed_on: date, reason: str | None, today: date) -> asyncpg.Record:
    """Move an enrolment forward (IDENTIFIED → REFERRED → CONSENTED → ACTIVE), or exit it with a reason."""
    found = await repository.enrolments_by_id(actor.session, [enrolment_id], actor.scope) if enrolment_id else []
    if not found:
        raise NotFound("No such enrolment.", field="enrolmentId")
    current = found[0]
    if current["status"] == "EXITED":
        raise InvalidInput("The enrolment has ended; enrol the young adult again instead.", field="status")
    if status != "EXITED" and ENROLMENT_STATUSES.index(status) <= ENROLMENT_STATUSES.index(current["status"]):
        raise InvalidInput(f"An enrolment moves forward only: it is {current['status']}, not before {status}.",
                           field="status")
    reason = text(reason, "reason", 500)
    if status == "EXITED" and reason is None:
        raise InvalidInput("Give the reason the enrolment ends.", field="reason")
    if changed_on > today:
        raise InvalidInput("changedOn must not be in the future.", field="changed_on")
    last = await repository.last_status_change(actor.session, current["id"])
    earliest = max(current["identified_on"], last or current["identified_on"])
    if changed_on < earliest:
        raise InvalidInput("changedOn must not be before the enrolment's previous status change (or identifiedOn).",
                           field="changed_on")
    row = await repository.change_enrolment_status(actor.session, current["id"], version, status, changed_on,
                                                   actor.principal.subject, reason)
    if row is None:
        raise StaleVersion(STALE, field="version")
    await actor.audit([AuditEvent(AuditAction.ALTER, "Enrolment", row["id"], row["young_adult_id"],
                                  ("status",) + (("exit_reason",) if status == "EXITED" else ()))])
    return row


# Which service a team role belongs to: a personal adviser comes from leaving care, and so on.
TEAM_ROLE_SERVICE = {"OFFENDER_MANAGER": "PRISON", "KEY_WORKER": "PRISON", "COMMUNITY_OFFENDER_MANAGER": "PROBATION",
                     "PERSONAL_ADVISER": "LEAVING_CARE", "LIFELONG_LINKS_COORDINATOR": "LIFELONG_LINKS"}


async def add_team_member(actor: Actor, young_adult_id: uuid.UUID | None, practitioner_id: uuid.UUID | None,
                          team_role: str, started_on: date, today: date) -> asyncpg.Record:
    """Name a practitioner in the young adult's team. Team members see the record even when it is restricted."""
    young_adult_id = await require_young_adult(actor, young_adult_id)
    found = await people_repository.practitioners_by_id(actor.session, [practitioner_id]) if practitioner_id else []
    if not found:
        raise NotFound("No such practitioner.", field="practitionerId")
    if found[0]["service"] != TEAM_ROLE_SERVICE[team_role]:
        raise InvalidInput(f"A {team_role} comes from the {TEAM_ROLE_SERVICE[team_role]} service; this practitioner "
                           f"works for {found[0]['service']}.", field="practitionerId")
    if started_on > today:
        raise InvalidInput("startedOn must not be in the future.", field="started_on")
    try:
        row = await repository.insert_team_member(actor.session, young_adult_id, found[0]["id"], team_role,
                                                  started_on)
    except asyncpg.UniqueViolationError:
        raise Conflict(f"The team already has a current {team_role}; end that membership first.",
                       field="teamRole") from None
    await actor.audit([AuditEvent(AuditAction.CREATE, "TeamMember", row["id"], young_adult_id,
                                  ("practitioner_id", "started_on", "team_role"))])
    return row


async def end_team_membership(actor: Actor, member_id: uuid.UUID | None, version: int, ended_on: date,
                              ) -> asyncpg.Record:
    found = await repository.team_members_by_id(actor.session, [member_id], actor.scope) if member_id else []
    if not found or found[0]["ended_on"] is not None:
        raise NotFound("No such current team member.", field="id")
    if ended_on < found[0]["started_on"]:
        raise InvalidInput("endedOn must not be before startedOn.", field="ended_on")
    row = await repository.end_team_member(actor.session, found[0]["id"], version, ended_on)
    if row is None:
        raise StaleVersion(STALE, field="version")
    await actor.audit([AuditEvent(AuditAction.ALTER, "TeamMember", row["id"], row["young_adult_id"], ("ended_on",))])
    return row
