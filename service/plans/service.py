"""Rules for the integrated plan.

A plan has numbered versions: at most one DRAFT (being worked on), at most one AGREED (in force), and SUPERSEDED
history. Editing content (goals, actions) edits the draft; editing content of the agreed version first copies it
into a new draft (goals and actions keep their ``lineage_id``), so agreed versions never change. A version is
agreed when every required service has signed it off; changing a draft's content withdraws its sign-offs, since
they were given to different content.

Concurrency: every goal and action carries a ``version``. An edit names the version it read; if the row changed
meanwhile, or it belongs to an agreed version that someone has already started a new draft of, the edit is
refused as STALE_VERSION and writes nothing, so the other person's change is never lost. Sign-off names the
content version of the plan version it signs. Progress on an action (its status) is not plan content: it is
recorded on the action and its copies without a new version.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping
from typing import Any

import asyncpg

from service.kernel.audit import AuditAction, AuditEvent
from service.kernel.domain import Pathway, values
from service.kernel.errors import AccessDenied, Checks, Conflict, InvalidInput, NotFound, StaleVersion, prerequisite
from service.kernel.principal import Role, Service
from service.kernel.visibility import Actor
from service.people import repository as people_repository
from service.people.service import require_young_adult, text
from service.plans import repository
from service.rules.service import rules_for_young_adult

PATHWAYS = values(Pathway)
SERVICES = values(Service)
ACTION_STATUSES = ("NOT_STARTED", "IN_PROGRESS", "DONE", "BLOCKED", "DECLINED")
STALE = "The plan was changed by someone else since you read it; reload it and try again."


async def required_signoff_services(actor: Actor, young_adult_id: uuid.UUID) -> tuple[str, ...]:
    """The services whose sign-off agrees this young adult's plan: the practice rule "services whose sign-off
    agrees a plan" at their governing site (the programme default, prison, probation and leaving care, unless a
    tenant or site changed it)."""
    values = await rules_for_young_adult(actor.session, young_adult_id, actor.session.today)
    return required_services(values)


def required_services(rules: Mapping[str, Any]) -> tuple[str, ...]:
    """The services whose sign-off agrees a plan, in sign-off order, under the rule values ``rules`` (those in force
    at the young adult's governing site)."""
    return signoff_order(rules["plan_signoff_services"])


def missing_services(rules: Mapping[str, Any], signed: Iterable[str]) -> tuple[str, ...]:
    """The required services (under ``rules``) that are not among the ``signed`` ones."""
    done = set(signed)
    return tuple(s for s in required_services(rules) if s not in done)


def signoff_order(services: Iterable[str]) -> tuple[str, ...]:
    wanted = set(services)
    return tuple(s for s in SERVICES if s in wanted)


async def create_plan(actor: Actor, young_adult_id: uuid.UUID | None) -> asyncpg.Record:
    young_adult_id = await require_young_adult(actor, young_adult_id)
    try:
        row = await repository.insert_plan(actor.session, young_adult_id, actor.principal.subject)
    except asyncpg.UniqueViolationError:
        raise Conflict("This young adult already has an integrated plan.", field="youngAdultId") from None
    await actor.audit([AuditEvent(AuditAction.CREATE, "IntegratedPlan", row["id"], young_adult_id)])
    return row


async def _draft_of(actor: Actor, content: asyncpg.Record | Mapping[str, Any], *, edit: bool) -> uuid.UUID:
    """The draft an edit of ``content`` (a goal or action row, with its plan version's id and status, the plan and
    the young adult) goes to. An edit of the agreed version starts a new draft; if a draft already exists the
    editor read an outdated plan (for additions, the existing draft is used)."""
    plan_id: uuid.UUID = content["plan_id"]
    version_id: uuid.UUID = content["plan_version_id"]
    status: str = content["version_status"]
    if status == "DRAFT":
        return version_id
    if status == "AGREED":
        draft = await repository.open_draft(actor.session, plan_id)
        if draft is not None:
            if edit:
                raise StaleVersion(STALE, field="version")
            return draft
        try:
            draft = await repository.copy_to_new_draft(actor.session, version_id, actor.principal.subject)
        except asyncpg.UniqueViolationError:  # someone started a draft at the same moment
            raise StaleVersion(STALE, field="version") from None
        await actor.audit([AuditEvent(AuditAction.CREATE, "PlanVersion", draft, content["young_adult_id"])])
        return draft
    raise StaleVersion(STALE, field="version")


async def _in_draft(actor: Actor, row: asyncpg.Record, kind: str, *, edit: bool,
                    ) -> tuple[uuid.UUID, uuid.UUID | None]:
    """The draft a change to ``row`` (a goal or an action) goes into, and the row's copy there: the row itself when
    it is already in the draft, else the copy sharing its lineage (None if the draft no longer has one)."""
    draft = await _draft_of(actor, row, edit=edit)
    if draft == row["plan_version_id"]:
        return draft, row["id"]
    find = repository.goal_in_version if kind == "PlanGoal" else repository.action_in_version
    return draft, await find(actor.session, draft, row["lineage_id"])


def _expected(row: asyncpg.Record, target: uuid.UUID, version: int) -> int | None:
    """The version the write must match: the caller's, on the row they read; none on the copy this same change has
    just made in a new draft (an edit through an older version while a draft exists is refused by _draft_of)."""
    return version if target == row["id"] else None


async def _goal(actor: Actor, goal_id: uuid.UUID | None, field: str = "id") -> asyncpg.Record:
    found = await repository.goals_by_id(actor.session, [goal_id], actor.scope) if goal_id else []
    if not found:
        raise NotFound("No such plan goal.", field=field)
    return found[0]


async def _action(actor: Actor, action_id: uuid.UUID | None) -> asyncpg.Record:
    found = await repository.actions_by_id(actor.session, [action_id], actor.scope) if action_id else []
    if not found:
        raise NotFound("No such plan action.", field="id")
    return found[0]


def _pathway(value: str) -> str:
    if value not in PATHWAYS:
        raise InvalidInput(f"pathway must be one of {', '.join(PATHWAYS)}.", field="pathway")
    return value


async def _changed(actor: Actor, draft: uuid.UUID, subject_type: str, subject_id: uuid.UUID,
                   young_adult_id: uuid.UUID, action: AuditAction, fields: tuple[str, ...]) -> uuid.UUID:
    await repository.touch_draft(actor.session, draft)
    await actor.audit([AuditEvent(action, subject_type, subject_id, young_adult_id, fields)])
    return draft


async def add_goal(actor: Actor, plan_id: uuid.UUID | None, pathway: str, description: str) -> uuid.UUID:
    """Add a goal to the plan's draft (starting one from the agreed version if need be); returns the draft."""
    found = await repository.plans_by_id(actor.session, [plan_id], actor.scope) if plan_id else []
    if not found:
        raise NotFound("No such integrated plan.", field="planId")
    plan = found[0]
    draft = await repository.open_draft(actor.session, plan["id"])
    if draft is None:
        agreed = await repository.latest_agreed(actor.session, plan["id"])
        assert agreed is not None, "a plan always has a draft or an agreed version"
        draft = await _draft_of(actor, {"plan_id": plan["id"], "plan_version_id": agreed, "version_status": "AGREED",
                                        "young_adult_id": plan["young_adult_id"]}, edit=False)
    described = text(description, "description", 2000, required=True)
    goal_id = await repository.insert_goal(actor.session, draft, _pathway(pathway), described or "")
    return await _changed(actor, draft, "PlanGoal", goal_id, plan["young_adult_id"], AuditAction.CREATE,
                          ("description", "pathway"))


async def update_goal(actor: Actor, goal_id: uuid.UUID | None, version: int, changes: dict[str, Any]) -> uuid.UUID:
    goal = await _goal(actor, goal_id)
    if goal["version"] != version:
        raise StaleVersion(STALE, field="version")
    if not changes:
        raise InvalidInput("Nothing to change: give at least one field.")
    if "pathway" in changes:
        _pathway(changes["pathway"])
    if "description" in changes:
        changes["description"] = text(changes["description"], "description", 2000, required=True)
    draft, target = await _in_draft(actor, goal, "PlanGoal", edit=True)
    assert target is not None
    if not await repository.update_row(actor.session, "plan_goal", target, _expected(goal, target, version),
                                       changes):
        raise StaleVersion(STALE, field="version")
    return await _changed(actor, draft, "PlanGoal", target, goal["young_adult_id"], AuditAction.ALTER,
                          tuple(sorted(changes)))


async def remove_goal(actor: Actor, goal_id: uuid.UUID | None, version: int) -> uuid.UUID:
    goal = await _goal(actor, goal_id)
    if goal["version"] != version:
        raise StaleVersion(STALE, field="version")
    draft, target = await _in_draft(actor, goal, "PlanGoal", edit=True)
    assert target is not None
    if not await repository.delete_goal(actor.session, target, _expected(goal, target, version)):
        raise StaleVersion(STALE, field="version")
    return await _changed(actor, draft, "PlanGoal", target, goal["young_adult_id"], AuditAction.ERASE, ())


async def _owner(actor: Actor, values: dict[str, Any], service: str | None) -> None:
    if service is not None and service not in SERVICES:
        raise InvalidInput(f"ownerService must be one of {', '.join(SERVICES)}.", field="owner_service")
    if values.get("owner_id") is None:
        return
    found = await people_repository.practitioners_by_id(actor.session, [values["owner_id"]])
    if not found:
        raise NotFound("No such practitioner.", field="ownerId")
    if service is not None and found[0]["service"] != service:
        raise InvalidInput("The owner must work for the owning service (ownerId and ownerService disagree).",
                           field="owner_id")


def _check_action(values: dict[str, Any]) -> None:
    if "description" in values:
        values["description"] = text(values["description"], "description", 2000, required=True)
    if values.get("status") is not None and values["status"] not in ACTION_STATUSES:
        raise InvalidInput(f"status must be one of {', '.join(ACTION_STATUSES)}.", field="status")


async def add_action(actor: Actor, goal_id: uuid.UUID | None, values: dict[str, Any]) -> uuid.UUID:
    goal = await _goal(actor, goal_id, "goalId")
    _check_action(values)
    await _owner(actor, values, values["owner_service"])
    draft, target = await _in_draft(actor, goal, "PlanGoal", edit=False)
    if target is None:  # the goal was removed in the newer draft
        raise StaleVersion(STALE, field="goalId")
    action_id = await repository.insert_action(actor.session, target, values)
    return await _changed(actor, draft, "PlanAction", action_id, goal["young_adult_id"], AuditAction.CREATE,
                          tuple(sorted(k for k, v in values.items() if v is not None)))


async def update_action(actor: Actor, action_id: uuid.UUID | None, version: int, changes: dict[str, Any],
                        ) -> uuid.UUID:
    action = await _action(actor, action_id)
    if action["version"] != version:
        raise StaleVersion(STALE, field="version")
    if not changes:
        raise InvalidInput("Nothing to change: give at least one field.")
    _check_action(changes)
    await _owner(actor, changes, changes.get("owner_service", action["owner_service"]))
    draft, target = await _in_draft(actor, action, "PlanAction", edit=True)
    assert target is not None
    if not await repository.update_row(actor.session, "plan_action", target, _expected(action, target, version),
                                       changes):
        raise StaleVersion(STALE, field="version")
    return await _changed(actor, draft, "PlanAction", target, action["young_adult_id"], AuditAction.ALTER,
                          tuple(sorted(changes)))


async def remove_action(actor: Actor, action_id: uuid.UUID | None, version: int) -> uuid.UUID:
    action = await _action(actor, action_id)
    if action["version"] != version:
        raise StaleVersion(STALE, field="version")
    draft, target = await _in_draft(actor, action, "PlanAction", edit=True)
    assert target is not None
    if not await repository.delete_action(actor.session, target, _expected(action, target, version)):
        raise StaleVersion(STALE, field="version")
    return await _changed(actor, draft, "PlanAction", target, action["young_adult_id"], AuditAction.ERASE, ())


async def set_action_status(actor: Actor, action_id: uuid.UUID | None, version: int, status: str) -> uuid.UUID:
    """Record progress on an action (in force or in draft); not a change of plan content, so no new version."""
    action = await _action(actor, action_id)
    if action["version_status"] == "SUPERSEDED":
        raise StaleVersion(STALE, field="version")
    _check_action({"status": status})
    if not await repository.set_action_status(actor.session, action["id"], version, status):
        raise StaleVersion(STALE, field="version")
    await actor.audit([AuditEvent(AuditAction.ALTER, "PlanAction", action["id"], action["young_adult_id"],
                                  ("status",))])
    version_id: uuid.UUID = action["plan_version_id"]
    return version_id


async def sign_off(actor: Actor, version_id: uuid.UUID | None, version: int) -> uuid.UUID:
    """The caller's service signs off this content of a draft; the last required service's sign-off agrees it."""
    principal = actor.principal
    if principal.role is not Role.PRACTITIONER or principal.service is None:
        raise AccessDenied("Plans are signed off by practitioners, for their service.")
    found = await repository.versions_by_id(actor.session, [version_id], actor.scope) if version_id else []
    if not found:
        raise NotFound("No such plan version.", field="planVersionId")
    locked = await repository.lock_version(actor.session, found[0]["id"])
    assert locked is not None
    if locked["status"] == "AGREED":
        raise Conflict("This version is already agreed.", field="planVersionId")
    if locked["status"] != "DRAFT" or locked["version"] != version:
        raise StaleVersion(STALE, field="version")
    checks = Checks()  # every refusal at once
    if locked["goals"] == 0:
        checks.add(prerequisite("GOALS_REQUIRED", "A plan with no goals cannot be signed off.", "planVersionId"))
    required = await required_signoff_services(actor, found[0]["young_adult_id"])
    service = principal.service.value
    if service not in required:
        checks.add(InvalidInput(f"Sign-off by {service} is not required for this plan "
                                f"(required: {', '.join(required)}).", field="planVersionId"))
    checks.done()
    try:
        signed = await repository.insert_signoff(actor.session, locked["id"], service, actor.scope.practitioner_id,
                                                 principal.subject)
    except asyncpg.UniqueViolationError:
        raise Conflict(f"{service} has already signed off this version.", field="planVersionId") from None
    events = [AuditEvent(AuditAction.CREATE, "PlanSignoff", locked["id"], found[0]["young_adult_id"], ("service",))]
    if set(required) <= set(signed):
        await repository.agree(actor.session, locked["id"], locked["plan_id"])
        events.append(AuditEvent(AuditAction.ALTER, "PlanVersion", locked["id"], found[0]["young_adult_id"],
                                 ("agreed_at", "status")))
    await actor.audit(events)
    signed_version: uuid.UUID = locked["id"]
    return signed_version
