"""Business rules of the support network: the Lifelong Links case and its stages, network members and their
statuses, vetting before contact, commitments against the integrated plan, the Lifelong Links meeting.

Who may act follows who may see the young adult (the central scope in service.people.service). Contact details
of members are need-to-know: only the case's coordinator and the young adult's personal adviser read or write
them (see repository.member_contacts). Practice rules are read through :func:`vetting_services_required` and
:func:`committed_members_wanted` only, so the practice-rules feature can supply per-site values.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import date
from decimal import Decimal
from typing import Any

import asyncpg

from service.kernel.audit import AuditAction, AuditEvent
from service.kernel.audit import write as audit
from service.kernel.errors import Checks, Conflict, InvalidInput, NotFound, StaleVersion, prerequisite
from service.kernel.principal import Principal, Role
from service.kernel.session import TenantSession
from service.kernel.visibility import Scope
from service.network import repository
from service.people import repository as people_repository
from service.people.service import check_date, clean_text, scope_for, visible_young_adult
from service.rules.service import rules_for_young_adult

STAGES = ("REFERRED", "EXPLORING", "SEARCHING", "CONTACTING", "MEETING_HELD", "PLAN_AGREED", "REVIEWED", "CLOSED")
MEMBER_NEXT: dict[str, tuple[str, ...]] = {
    "IDENTIFIED": ("FOUND",),
    "FOUND": ("CONTACTED",),
    "CONTACTED": ("AGREED", "DECLINED"),
    "AGREED": ("COMMITTED", "DECLINED"),
    "DECLINED": (),
    "COMMITTED": ("ACTIVE", "LAPSED"),
    "ACTIVE": ("LAPSED",),
    "LAPSED": ("ACTIVE",),
}
# Moves that mean reaching the member: refused once they have withdrawn consent to be contacted.
CONTACT_MOVES = frozenset({"CONTACTED", "AGREED", "COMMITTED", "ACTIVE"})
RELATIONSHIPS = ("RELATIVE", "FORMER_FOSTER_CARER", "FORMER_RESIDENTIAL_CARER", "TEACHER", "PROFESSIONAL", "FRIEND",
                 "MENTOR", "OTHER")
CONTACT_FIELDS = ("phone", "email", "address")
SCORE_RANGE = (Decimal(0), Decimal(100))
STALE = "This record was changed by someone else since you read it; reload it and try again."


# --- practice rules (DESIGN §5 defaults until per-site rules supply them) -----------------------------------------

async def vetting_services_required(session: TenantSession, young_adult_id: uuid.UUID) -> frozenset[str]:
    """Services whose vetting sign-off is needed before a network member is contacted: the practice rule "network
    vetting before contact" at the young adult's governing site (by default personal adviser and probation)."""
    values = await rules_for_young_adult(session, young_adult_id, session.today)
    return frozenset(values["network_vetting_services"])


async def committed_members_wanted(session: TenantSession, young_adult_id: uuid.UUID) -> int:
    """Committed network members wanted before release, from the practice rules at the governing site."""
    values = await rules_for_young_adult(session, young_adult_id, session.today)
    return int(values["committed_network_members_before_release"])


# --- shared checks ----------------------------------------------------------------------------------------------

async def case_in_scope(session: TenantSession, scope: Scope, case_id: uuid.UUID | None, field: str,
                        ) -> asyncpg.Record:
    rows = [] if case_id is None else await repository.cases_by_id(session, [case_id], scope)
    if not rows:
        raise NotFound("No such Lifelong Links case.", field=field)
    return rows[0]


async def member_in_scope(session: TenantSession, scope: Scope, member_id: uuid.UUID | None, field: str,
                          ) -> asyncpg.Record:
    rows = [] if member_id is None else await repository.members_by_id(session, [member_id], scope)
    if not rows:
        raise NotFound("No such network member.", field=field)
    return rows[0]


async def caller_practitioner(session: TenantSession, principal: Principal) -> uuid.UUID | None:
    """The caller's practitioner record (matched by subject); only practitioners have one that counts."""
    if principal.role is not Role.PRACTITIONER:
        return None
    return await repository.practitioner_id_for_subject(session, principal.subject)


async def has_need_to_know(session: TenantSession, principal: Principal, member_id: uuid.UUID) -> bool:
    rows = await repository.member_contacts(session, [member_id], await caller_practitioner(session, principal))
    return bool(rows and rows[0]["need_to_know"])


async def _events(session: TenantSession, principal: Principal, request_id: str,
                  events: Iterable[AuditEvent]) -> None:
    await audit(session, principal, request_id, events)


# --- the Lifelong Links case ------------------------------------------------------------------------------------

async def _coordinator(session: TenantSession, coordinator_id: uuid.UUID | None, site_ids: list[uuid.UUID],
                       field: str) -> uuid.UUID | None:
    if coordinator_id is not None and await repository.is_coordinator_at(session, coordinator_id, site_ids):
        return coordinator_id
    raise InvalidInput("The coordinator must be a Lifelong Links coordinator at the Lifelong Links service.",
                       field=field)


async def refer(session: TenantSession, principal: Principal, request_id: str, young_adult_id: uuid.UUID | None,
                site_id: uuid.UUID | None, coordinator_id: uuid.UUID | None, coordinator_given: bool,
                referred_on: date, today: date) -> asyncpg.Record:
    """Refer a young adult to a Lifelong Links service: opens their case at REFERRED and enrols them at that
    service, which is what lets the service's coordinators see them."""
    scope = await scope_for(session, principal)
    young_adult_id = await visible_young_adult(session, scope, young_adult_id)
    checks = Checks()  # every refusal at once
    sites = [] if site_id is None else await people_repository.sites_by_id(session, [site_id])
    open_service = bool(sites) and sites[0]["kind"] == "LIFELONG_LINKS" and sites[0]["closed_at"] is None
    if not open_service:
        checks.add(InvalidInput("siteId must be an open Lifelong Links service.", field="siteId"))
    if coordinator_given:
        with checks.check():
            coordinator_id = await _coordinator(session, coordinator_id, [site_id] if site_id else [],
                                                "coordinatorId")
    with checks.check():
        check_date(referred_on, "referredOn", today)
    if await repository.open_case_exists(session, young_adult_id):
        checks.add(Conflict("This young adult already has an open Lifelong Links case.", field="youngAdultId"))
    checks.done()
    assert site_id is not None
    row = await repository.insert_case(session, young_adult_id, coordinator_id, referred_on, principal.subject)
    await repository.enrol_at_referral(session, young_adult_id, site_id, referred_on, principal.subject)
    await _events(session, principal, request_id, [AuditEvent(
        AuditAction.CREATE, "LifelongLinksCase", row["id"], young_adult_id,
        tuple(sorted(["referred_on", "stage"] + (["coordinator_id"] if coordinator_id else []))))])
    return row


def _score(value: float | None, field: str) -> Decimal | None:
    if value is None:
        return None
    score = Decimal(str(value)).quantize(Decimal("0.1"))
    if not SCORE_RANGE[0] <= score <= SCORE_RANGE[1]:
        raise InvalidInput(f"{field} must be between 0 and 100.", field=field)
    return score


async def update_case(session: TenantSession, principal: Principal, request_id: str, case_id: uuid.UUID | None,
                      version: int, changes: dict[str, Any]) -> asyncpg.Record:
    """Change the coordinator or the social-connection scores (at start, at follow-up)."""
    scope = await scope_for(session, principal)
    case = await case_in_scope(session, scope, case_id, "id")
    values: dict[str, Any] = {}
    if "coordinator_id" in changes:
        values["coordinator_id"] = await _coordinator(
            session, changes["coordinator_id"], await _lifelong_links_sites(session, case["young_adult_id"]),
            "coordinatorId")
    for name, field in (("connection_score_start", "connectionScoreStart"),
                        ("connection_score_follow_up", "connectionScoreFollowUp")):
        if name in changes:
            values[name] = _score(changes[name], field)
    if not values:
        raise InvalidInput("Nothing to change: give at least one field.")
    row = await repository.update_case(session, case["id"], version, values)
    if row is None:
        raise StaleVersion(STALE, field="version")
    await _events(session, principal, request_id, [AuditEvent(
        AuditAction.ALTER, "LifelongLinksCase", row["id"], row["young_adult_id"], tuple(sorted(values)))])
    return row


async def _lifelong_links_sites(session: TenantSession, young_adult_id: uuid.UUID) -> list[uuid.UUID]:
    rows = await people_repository.enrolments_for(session, [young_adult_id], Scope(None))
    sites = await people_repository.sites_by_id(session, [r["site_id"] for r in rows])
    return [s["id"] for s in sites if s["kind"] == "LIFELONG_LINKS"]


def stage_refusal(current: str, target: str) -> str | None:
    """Why the case cannot go from ``current`` to ``target`` by the order of stages, or None if it can."""
    if target not in STAGES:
        return f"stage must be one of {', '.join(STAGES)}."
    if current == "CLOSED":
        return "The case is closed."
    if target == current:
        return f"The case is already at {current}."
    if target == "CLOSED":
        return None  # a case may close at any stage (the young adult withdraws, is transferred…)
    here, there = STAGES.index(current), STAGES.index(target)
    if there < here:
        return f"The case cannot go back from {current} to {target}."
    if there > here + 1:
        return f"{target} needs {STAGES[there - 1]} first; the case is at {current}, next is {STAGES[here + 1]}."
    return None


async def move_stage(session: TenantSession, principal: Principal, request_id: str, case_id: uuid.UUID | None,
                     version: int, stage: str, entered_on: date, today: date) -> asyncpg.Record:
    scope = await scope_for(session, principal)
    case = await case_in_scope(session, scope, case_id, "id")
    refusal = stage_refusal(case["stage"], stage)
    skipped = refusal is not None and stage in STAGES and case["stage"] not in (stage, "CLOSED") \
        and STAGES.index(stage) > STAGES.index(case["stage"])
    if refusal is not None and not skipped:
        raise InvalidInput(refusal, field="stage")
    checks = Checks()  # every missing prerequisite at once
    if refusal is not None:
        checks.add(prerequisite("ORDER_REQUIRED", refusal, "stage"))
    history = await repository.stage_changes(session, [case["id"]])
    latest = max(r["entered_on"] for r in history)
    with checks.check():
        check_date(entered_on, "enteredOn", today, latest, f"the date of {case['stage']}")
    young_adult_id = case["young_adult_id"]
    # The prerequisites of each stage the move would pass through (the target's own, and a skipped one's).
    passing = () if stage == "CLOSED" else STAGES[STAGES.index(case["stage"]) + 1:STAGES.index(stage) + 1]
    if "MEETING_HELD" in passing and not await repository.meeting_held(
            session, young_adult_id, case["referred_on"], entered_on):
        checks.add(prerequisite("MEETING_REQUIRED", f"{stage} needs a Lifelong Links meeting recorded first.",
                                "stage"))
    if "PLAN_AGREED" in passing and not await repository.active_commitment_exists(session, young_adult_id):
        checks.add(prerequisite("COMMITMENT_REQUIRED", f"{stage} needs at least one commitment from the network "
                                "recorded first.", "stage"))
    checks.done()
    row = await repository.update_case(session, case["id"], version, {"stage": stage})
    if row is None:
        raise StaleVersion(STALE, field="version")
    await repository.insert_stage_change(session, case["id"], stage, entered_on, principal.subject)
    await _events(session, principal, request_id, [AuditEvent(
        AuditAction.ALTER, "LifelongLinksCase", row["id"], young_adult_id, ("stage",))])
    return row


async def add_objective(session: TenantSession, principal: Principal, request_id: str, case_id: uuid.UUID | None,
                        description: str) -> asyncpg.Record:
    scope = await scope_for(session, principal)
    case = await case_in_scope(session, scope, case_id, "caseId")
    text = clean_text(description, "description", 2000, required=True)
    assert text is not None
    row = await repository.insert_objective(session, case["id"], text)
    await _events(session, principal, request_id, [AuditEvent(
        AuditAction.CREATE, "LifelongLinksObjective", row["id"], case["young_adult_id"], ("description",))])
    return row


async def assess_objective(session: TenantSession, principal: Principal, request_id: str,
                           objective_id: uuid.UUID | None, version: int, met: bool, assessed_on: date, today: date,
                           ) -> asyncpg.Record:
    scope = await scope_for(session, principal)
    rows = [] if objective_id is None else await repository.objectives_by_id(session, [objective_id])
    found = rows[0] if rows else None
    if found is None:
        raise NotFound("No such objective.", field="id")
    case = await case_in_scope(session, scope, found["case_id"], "id")
    check_date(assessed_on, "assessedOn", today, case["referred_on"], "the referral")
    row = await repository.assess_objective(session, found["id"], version, met, assessed_on)
    if row is None:
        raise StaleVersion(STALE, field="version")
    await _events(session, principal, request_id, [AuditEvent(
        AuditAction.ALTER, "LifelongLinksObjective", row["id"], case["young_adult_id"], ("assessed_on", "met"))])
    return row
