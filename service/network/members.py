"""Business rules for network members: their status, vetting before contact, their own consent to be contacted,
their commitments against the integrated plan, and the Lifelong Links meeting they attend.

A member is a third party in their own right. Moving a member to CONTACTED needs vetting sign-off by every service
the practice rules require and the member's own consent to be contacted; once they withdraw that consent, no
further contact-related move (CONTACTED, AGREED, COMMITTED, ACTIVE), commitment or meeting attendance is accepted,
and their contact details are no longer disclosed. Nothing is deleted.
"""

from __future__ import annotations

import uuid
from datetime import date
from typing import Any

import asyncpg

from service.kernel.audit import AuditAction, AuditEvent
from service.kernel.audit import write as audit
from service.kernel.errors import Checks, InvalidInput, NotFound, StaleVersion, prerequisite
from service.kernel.principal import Principal
from service.kernel.session import TenantSession
from service.network import repository
from service.network.service import (
    CONTACT_FIELDS,
    CONTACT_MOVES,
    MEMBER_NEXT,
    RELATIONSHIPS,
    STALE,
    caller_practitioner,
    case_in_scope,
    has_need_to_know,
    member_in_scope,
    vetting_services_required,
)
from service.people.service import (
    ENGAGED,
    attending_members,
    check_contact_consent,
    check_date,
    clean_text,
    scope_for,
    visible_young_adult,
)

TEXT_LIMITS = {"given_name": 100, "family_name": 100, "relationship_detail": 200, "phone": 40, "email": 254,
               "address": 500}
NEED_TO_KNOW = "Only the case's coordinator and the young adult's personal adviser may record contact details."


def validate_member(fields: dict[str, Any], *, creating: bool, today: date) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name, limit in TEXT_LIMITS.items():
        if name in fields or (creating and name == "given_name"):
            out[name] = clean_text(fields.get(name), name, limit, required=name == "given_name")
    if "email" in out and out["email"] is not None and "@" not in out["email"]:
        raise InvalidInput("email must be an email address.", field="email")
    if "relationship" in fields or creating:
        if fields.get("relationship") not in RELATIONSHIPS:
            raise InvalidInput(f"relationship must be one of {', '.join(RELATIONSHIPS)}.", field="relationship")
        out["relationship"] = fields["relationship"]
    if "known_before" in fields or creating:
        if not isinstance(fields.get("known_before"), bool):
            raise InvalidInput("known_before is required.", field="known_before")
        out["known_before"] = fields["known_before"]
    if fields.get("privacy_notice_on") is not None:
        out["privacy_notice_on"] = check_date(fields["privacy_notice_on"], "privacyNoticeOn", today)
    elif "privacy_notice_on" in fields:
        out["privacy_notice_on"] = None
    return out


async def add_member(session: TenantSession, principal: Principal, request_id: str, case_id: uuid.UUID | None,
                     fields: dict[str, Any], identified_on: date, today: date) -> uuid.UUID:
    scope = await scope_for(session, principal)
    case = await case_in_scope(session, scope, case_id, "caseId")
    if case["stage"] == "CLOSED":
        raise InvalidInput("The case is closed.", field="caseId")
    values = validate_member(fields, creating=True, today=today)
    check_date(identified_on, "identifiedOn", today)
    contact = sorted(f for f in CONTACT_FIELDS if values.get(f) is not None)
    if contact and not await _may_record_contact(session, principal, case):
        raise InvalidInput(NEED_TO_KNOW, field=contact[0])
    member_id = await repository.insert_member(session, case["young_adult_id"], case["id"], values, identified_on,
                                               principal.subject)
    await audit(session, principal, request_id, [AuditEvent(
        AuditAction.CREATE, "NetworkMember", member_id, case["young_adult_id"],
        tuple(sorted(k for k, v in values.items() if v is not None)))])
    return member_id


async def _may_record_contact(session: TenantSession, principal: Principal, case: asyncpg.Record) -> bool:
    """Need-to-know for a member not yet stored: the case's coordinator or the young adult's personal adviser."""
    practitioner = await caller_practitioner(session, principal)
    if practitioner is None:
        return False
    if practitioner == case["coordinator_id"] and case["stage"] != "CLOSED":
        return True
    return await repository.is_personal_adviser(session, case["young_adult_id"], practitioner)


async def update_member(session: TenantSession, principal: Principal, request_id: str, member_id: uuid.UUID | None,
                        version: int, fields: dict[str, Any], today: date) -> uuid.UUID:
    scope = await scope_for(session, principal)
    member = await member_in_scope(session, scope, member_id, "id")
    changes = validate_member(fields, creating=False, today=today)
    if not changes:
        raise InvalidInput("Nothing to change: give at least one field.")
    contact = sorted(f for f in CONTACT_FIELDS if f in changes)
    if contact and not await has_need_to_know(session, principal, member["id"]):
        raise InvalidInput(NEED_TO_KNOW, field=contact[0])
    if not await repository.update_member(session, member["id"], version, changes):
        raise StaleVersion(STALE, field="version")
    await audit(session, principal, request_id, [AuditEvent(
        AuditAction.ALTER, "NetworkMember", member["id"], member["young_adult_id"], tuple(sorted(changes)))])
    return member["id"]  # type: ignore[no-any-return]


def _cleared(required: frozenset[str], signoffs: list[asyncpg.Record]) -> tuple[str, list[str]]:
    """The vetting outcome from the sign-offs so far, and the required services still to sign."""
    outcomes = {r["service"]: r["outcome"] for r in signoffs}
    missing = sorted(s for s in required if outcomes.get(s) != "CLEARED")
    if "NOT_CLEARED" in outcomes.values():
        return "NOT_CLEARED", missing
    if not outcomes:
        return "NOT_STARTED", missing
    return ("CLEARED" if not missing else "PENDING"), missing


def status_refusal(current: str, target: str) -> str | None:
    if target not in MEMBER_NEXT:
        return f"status must be one of {', '.join(MEMBER_NEXT)}."
    if target == current:
        return f"The member is already {current}."
    if target in MEMBER_NEXT[current]:
        return None
    before = [s for s, nexts in MEMBER_NEXT.items() if target in nexts]
    return f"{target} needs {' or '.join(before)} first; the member is {current}."


async def move_status(session: TenantSession, principal: Principal, request_id: str, member_id: uuid.UUID | None,
                      version: int, status: str, changed_on: date, today: date) -> uuid.UUID:
    scope = await scope_for(session, principal)
    member = await member_in_scope(session, scope, member_id, "id")
    refusal = status_refusal(member["status"], status)
    if refusal is not None and (status not in MEMBER_NEXT or status == member["status"]):
        raise InvalidInput(refusal, field="status")
    # Every missing prerequisite is reported at once (issue 15), so the user learns the whole list in one answer.
    checks = Checks()
    if refusal is not None:
        checks.add(prerequisite("ORDER_REQUIRED", refusal, "status"))
    history = await repository.status_changes(session, [member["id"]])
    with checks.check():
        check_date(changed_on, "changedOn", today, max(r["changed_on"] for r in history),
                   f"the date the member became {member['status']}")
    if status in CONTACT_MOVES:
        with checks.check():
            check_contact_consent(member, status)
    if status == "CONTACTED":
        required = await vetting_services_required(session, member["young_adult_id"])
        signoffs = await repository.vetting_signoffs(session, [member["id"]])
        outcome, missing = _cleared(required, signoffs)
        if outcome == "NOT_CLEARED":
            checks.add(prerequisite("VETTING_NOT_CLEARED", "The member was not cleared at vetting, so cannot be "
                                    "contacted.", "status"))
        signed = {r["service"] for r in signoffs}
        for service in (s for s in missing if s not in signed):
            checks.add(prerequisite("VETTING_REQUIRED", f"CONTACTED needs vetting sign-off by {service} first.",
                                    "status"))
    if status == "COMMITTED" and not await repository.member_has_commitment(session, member["id"]):
        checks.add(prerequisite("COMMITMENT_REQUIRED", "COMMITTED needs a commitment from the member recorded first.",
                                "status"))
    checks.done()
    if not await repository.update_member(session, member["id"], version, {"status": status}):
        raise StaleVersion(STALE, field="version")
    await repository.insert_status_change(session, member["id"], status, changed_on, principal.subject)
    await audit(session, principal, request_id, [AuditEvent(
        AuditAction.ALTER, "NetworkMember", member["id"], member["young_adult_id"], ("status",))])
    return member["id"]  # type: ignore[no-any-return]


async def sign_off_vetting(session: TenantSession, principal: Principal, request_id: str,
                           member_id: uuid.UUID | None, outcome: str, signed_on: date, today: date) -> uuid.UUID:
    """Record the caller's service's vetting decision (a later one by the same service replaces it)."""
    scope = await scope_for(session, principal)
    member = await member_in_scope(session, scope, member_id, "memberId")
    practitioner = await caller_practitioner(session, principal)
    if practitioner is None or principal.service is None:
        raise InvalidInput("Vetting is signed off by a practitioner of a service.", field="memberId")
    if outcome not in ("CLEARED", "NOT_CLEARED"):
        raise InvalidInput("outcome must be CLEARED or NOT_CLEARED.", field="outcome")
    check_date(signed_on, "signedOn", today)
    await repository.upsert_vetting_signoff(session, member["id"], principal.service.value, practitioner,
                                            principal.subject, outcome, signed_on)
    required = await vetting_services_required(session, member["young_adult_id"])
    vetting, _missing = _cleared(required, await repository.vetting_signoffs(session, [member["id"]]))
    if vetting != member["vetting_outcome"]:
        await repository.update_member(session, member["id"], None, {"vetting_outcome": vetting})
    await audit(session, principal, request_id, [AuditEvent(
        AuditAction.ALTER, "NetworkMember", member["id"], member["young_adult_id"], ("vetting_outcome",))])
    return member["id"]  # type: ignore[no-any-return]


async def add_commitment(session: TenantSession, principal: Principal, request_id: str,
                         member_id: uuid.UUID | None, description: str, goal_lineage_id: uuid.UUID | None,
                         action_lineage_id: uuid.UUID | None, starts_on: date | None) -> asyncpg.Record:
    """A member's commitment, linked to a goal or an action of the young adult's integrated plan by lineage, so it
    follows that goal or action into later plan versions."""
    scope = await scope_for(session, principal)
    member = await member_in_scope(session, scope, member_id, "memberId")
    checks = Checks()
    if member["status"] not in ENGAGED:
        checks.add(prerequisite("AGREEMENT_REQUIRED", "A commitment needs the member to have AGREED to take part "
                                "first.", "memberId"))
    with checks.check():
        check_contact_consent(member, "A commitment", "memberId")
    with checks.check():
        goal_lineage_id = await _commitment_target(session, member["young_adult_id"], goal_lineage_id,
                                                   action_lineage_id)
    text = None
    with checks.check():
        text = clean_text(description, "description", 2000, required=True)
    checks.done()
    young_adult_id = member["young_adult_id"]
    assert text is not None
    assert goal_lineage_id is not None
    row = await repository.insert_commitment(session, member["id"], goal_lineage_id, action_lineage_id, text,
                                             starts_on)
    await audit(session, principal, request_id, [AuditEvent(
        AuditAction.CREATE, "NetworkCommitment", row["id"], young_adult_id,
        tuple(sorted(["description", "goal_lineage_id"] + (["action_lineage_id"] if action_lineage_id else [])
                     + (["starts_on"] if starts_on else []))))])
    return row


async def _commitment_target(session: TenantSession, young_adult_id: uuid.UUID, goal_lineage_id: uuid.UUID | None,
                             action_lineage_id: uuid.UUID | None) -> uuid.UUID:
    """The goal lineage a commitment is made against (an action's goal when an action is named)."""
    if action_lineage_id is not None:
        goal_of_action = await repository.goal_of_action_lineage(session, young_adult_id, action_lineage_id)
        if goal_of_action is None:
            raise NotFound("No such action in this young adult's integrated plan.", field="actionLineageId")
        if goal_lineage_id is not None and goal_lineage_id != goal_of_action:
            raise InvalidInput("The action is not under that goal.", field="actionLineageId")
        goal_lineage_id = goal_of_action
    elif goal_lineage_id is not None and not await repository.goal_lineage_in_plan(
            session, young_adult_id, goal_lineage_id):
        raise NotFound("No such goal in this young adult's integrated plan.", field="goalLineageId")
    if goal_lineage_id is None:
        raise InvalidInput("A commitment is made against a goal or an action of the integrated plan.",
                           field="goalLineageId")
    return goal_lineage_id


async def end_commitment(session: TenantSession, principal: Principal, request_id: str,
                         commitment_id: uuid.UUID | None, version: int, ends_on: date, today: date,
                         ) -> asyncpg.Record:
    scope = await scope_for(session, principal)
    rows = [] if commitment_id is None else await repository.commitments_by_id(session, [commitment_id],
                                                                                 scope)
    if not rows:
        raise NotFound("No such commitment.", field="id")
    if rows[0]["status"] == "ENDED":
        raise InvalidInput("The commitment has already ended.", field="id")
    check_date(ends_on, "endsOn", today, rows[0]["starts_on"], "the commitment starts")
    row = await repository.end_commitment(session, rows[0]["id"], version, ends_on)
    if row is None:
        raise StaleVersion(STALE, field="version")
    await audit(session, principal, request_id, [AuditEvent(
        AuditAction.ALTER, "NetworkCommitment", row["id"], row["young_adult_id"], ("ends_on", "status"))])
    return row


async def record_meeting(session: TenantSession, principal: Principal, request_id: str,
                         young_adult_id: uuid.UUID | None, held_on: date, outcome: str | None,
                         practitioner_ids: list[uuid.UUID | None], member_ids: list[uuid.UUID | None], today: date,
                         ) -> asyncpg.Record:
    """The Lifelong Links family-group meeting: practitioners and network members who agreed to take part."""
    scope = await scope_for(session, principal)
    young_adult_id = await visible_young_adult(session, scope, young_adult_id)
    cases = await repository.current_cases(session, [young_adult_id], scope)
    checks = Checks()
    if not cases or cases[0]["stage"] == "CLOSED":
        checks.add(prerequisite("OPEN_CASE_REQUIRED", "A Lifelong Links meeting needs an open Lifelong Links case.",
                                "youngAdultId"))
    with checks.check():
        check_date(held_on, "heldOn", today, cases[0]["referred_on"] if cases else None, "the referral")
    wanted = {p for p in practitioner_ids if p is not None}
    if None in practitioner_ids or len(await repository.existing_practitioners(session, list(wanted))) < len(wanted):
        checks.add(NotFound("No such practitioner.", field="practitionerIds"))
    members: list[uuid.UUID] = []
    with checks.check():
        members = await attending_members(session, scope, young_adult_id, member_ids, "memberIds")
    if not wanted and not member_ids:
        checks.add(InvalidInput("A meeting needs at least one attendee.", field="practitionerIds"))
    checks.done()
    row = await repository.insert_meeting(session, young_adult_id, held_on, clean_text(outcome, "outcome", 4000),
                                          sorted(wanted), members)
    await audit(session, principal, request_id, [AuditEvent(
        AuditAction.CREATE, "NetworkMeeting", row["id"], young_adult_id,
        ("attendees", "held_on") + (("outcome",) if row["outcome"] else ()))])
    return row
