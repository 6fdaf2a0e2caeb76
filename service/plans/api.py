"""GraphQL types and thin resolvers for the integrated plan: versions (history), goals, actions, sign-off."""

from __future__ import annotations

import datetime as dt
import enum
import uuid

import asyncpg
import strawberry

from service.api.common import Node, NodeResolver, UserError, attempt, given_fields, loaded_node
from service.api.context import Info
from service.api.enums import ResettlementPathway, ServiceKind
from service.api.relay import expect_id, to_global_id
from service.people.api import Practitioner, practitioner
from service.people.loaders import actor
from service.plans import loaders
from service.plans import service as plans
from service.rules import loaders as rules_loaders


@strawberry.enum
class PlanVersionStatus(enum.Enum):
    DRAFT = "DRAFT"
    AGREED = "AGREED"
    SUPERSEDED = "SUPERSEDED"


@strawberry.enum
class ActionStatus(enum.Enum):
    NOT_STARTED = "NOT_STARTED"
    IN_PROGRESS = "IN_PROGRESS"
    DONE = "DONE"
    BLOCKED = "BLOCKED"
    DECLINED = "DECLINED"


@strawberry.type(description="A service's sign-off of one plan version.")
class PlanSignoff:
    service: ServiceKind
    signed_at: dt.datetime
    practitioner_id: strawberry.Private[uuid.UUID | None]

    @strawberry.field(description="Who signed, when they have a practitioner record.")
    async def practitioner(self, info: Info) -> Practitioner | None:
        return await practitioner(info, self.practitioner_id)


@strawberry.type(description="Something a service (and optionally a named practitioner) will do towards a goal.")
class PlanAction(Node):
    raw_id: strawberry.Private[uuid.UUID]
    young_adult_id: strawberry.Private[uuid.UUID]
    owner_id: strawberry.Private[uuid.UUID | None]
    lineage_id: strawberry.ID = strawberry.field(description="Shared by this action's copies in every version.")
    description: str
    owner_service: ServiceKind
    due_on: dt.date | None
    status: ActionStatus
    position: int
    version: int

    @classmethod
    def from_row(cls, row: asyncpg.Record) -> PlanAction:
        return cls(id=strawberry.ID(to_global_id("PlanAction", row["id"])), raw_id=row["id"],
                   young_adult_id=row["young_adult_id"],
                   owner_id=row["owner_id"], lineage_id=strawberry.ID(str(row["lineage_id"])),
                   description=row["description"], owner_service=ServiceKind(row["owner_service"]),
                   due_on=row["due_on"], status=ActionStatus(row["status"]), position=row["position"],
                   version=row["version"])

    @strawberry.field
    async def owner(self, info: Info) -> Practitioner | None:
        return await practitioner(info, self.owner_id)


@strawberry.type(description="A goal of the plan under one resettlement pathway.")
class PlanGoal(Node):
    raw_id: strawberry.Private[uuid.UUID]
    young_adult_id: strawberry.Private[uuid.UUID]
    lineage_id: strawberry.ID = strawberry.field(description="Shared by this goal's copies in every version.")
    pathway: ResettlementPathway
    description: str
    position: int
    version: int

    @classmethod
    def from_row(cls, row: asyncpg.Record) -> PlanGoal:
        return cls(id=strawberry.ID(to_global_id("PlanGoal", row["id"])), raw_id=row["id"],
                   young_adult_id=row["young_adult_id"],
                   lineage_id=strawberry.ID(str(row["lineage_id"])), pathway=ResettlementPathway(row["pathway"]),
                   description=row["description"], position=row["position"], version=row["version"])

    @strawberry.field
    async def actions(self, info: Info) -> list[PlanAction]:
        return [PlanAction.from_row(r) for r in await loaders.actions_of(info.context).load(self.raw_id)]


@strawberry.type(description="One version of the plan: a draft being worked on, the agreed one, or history.")
class PlanVersion(Node):
    raw_id: strawberry.Private[uuid.UUID]
    young_adult_id: strawberry.Private[uuid.UUID]
    number: int
    status: PlanVersionStatus
    agreed_at: dt.datetime | None
    created_at: dt.datetime
    version: int = strawberry.field(description="The content version: give it when signing off.")

    @classmethod
    def from_row(cls, row: asyncpg.Record) -> PlanVersion:
        return cls(id=strawberry.ID(to_global_id("PlanVersion", row["id"])), raw_id=row["id"],
                   young_adult_id=row["young_adult_id"], number=row["number"],
                   status=PlanVersionStatus(row["status"]), agreed_at=row["agreed_at"],
                   created_at=row["created_at"], version=row["version"])

    @strawberry.field
    async def goals(self, info: Info) -> list[PlanGoal]:
        return [PlanGoal.from_row(r) for r in await loaders.goals_of(info.context).load(self.raw_id)]

    @strawberry.field
    async def signoffs(self, info: Info) -> list[PlanSignoff]:
        return [PlanSignoff(service=ServiceKind(r["service"]), signed_at=r["signed_at"],
                            practitioner_id=r["practitioner_id"])
                for r in await loaders.signoffs_of(info.context).load(self.raw_id)]

    @strawberry.field(description="The services whose sign-off agrees this plan.")
    async def required_services(self, info: Info) -> list[ServiceKind]:
        values = await rules_loaders.rules_of(info.context).load(self.young_adult_id)
        return [ServiceKind(s) for s in plans.required_services(values)]

    @strawberry.field(description="Required services that have not signed this version off.")
    async def missing_services(self, info: Info) -> list[ServiceKind]:
        values = await rules_loaders.rules_of(info.context).load(self.young_adult_id)
        signed = [r["service"] for r in await loaders.signoffs_of(info.context).load(self.raw_id)]
        return [ServiceKind(s) for s in plans.missing_services(values, signed)]


def _version(row: asyncpg.Record | None) -> PlanVersion | None:
    return None if row is None else PlanVersion.from_row(row)


@strawberry.type(description="The young adult's one integrated plan, with its versions.")
class IntegratedPlan(Node):
    raw_id: strawberry.Private[uuid.UUID]
    young_adult_id: strawberry.Private[uuid.UUID]
    version: int

    @classmethod
    def from_row(cls, row: asyncpg.Record) -> IntegratedPlan:
        return cls(id=strawberry.ID(to_global_id("IntegratedPlan", row["id"])), raw_id=row["id"],
                   young_adult_id=row["young_adult_id"],
                   version=row["version"])

    @strawberry.field(description="Every version, newest first: the plan's history.")
    async def versions(self, info: Info) -> list[PlanVersion]:
        rows = await loaders.versions_of(info.context).load(self.raw_id)
        return [PlanVersion.from_row(r) for r in rows]

    @strawberry.field(description="The version being worked on: the open draft, else the agreed version.")
    async def current_version(self, info: Info) -> PlanVersion | None:
        rows = await loaders.versions_of(info.context).load(self.raw_id)
        return _version(next((r for r in rows if r["status"] == "DRAFT"), rows[0] if rows else None))

    @strawberry.field(description="The version in force, if one has been agreed.")
    async def agreed_version(self, info: Info) -> PlanVersion | None:
        rows = await loaders.versions_of(info.context).load(self.raw_id)
        return _version(next((r for r in rows if r["status"] == "AGREED"), None))


@strawberry.type
class YoungAdultPlan:
    """The plan part of a young adult's record (mixed into YoungAdult)."""

    raw_id: strawberry.Private[uuid.UUID]

    @strawberry.field(description="The integrated plan, once started.")
    async def plan(self, info: Info) -> IntegratedPlan | None:
        row = await loaders.plan_of(info.context).load(self.raw_id)
        return None if row is None else IntegratedPlan.from_row(row)


NODES: dict[str, NodeResolver] = {
    "IntegratedPlan": loaded_node(loaders.plans, IntegratedPlan.from_row),
    "PlanVersion": loaded_node(loaders.versions, PlanVersion.from_row),
    "PlanGoal": loaded_node(loaders.goals, PlanGoal.from_row),
    "PlanAction": loaded_node(loaders.actions, PlanAction.from_row),
}


@strawberry.input
class CreatePlanInput:
    young_adult_id: strawberry.ID


@strawberry.input(description="Add a goal; it goes to the plan's draft (an agreed plan gets a new draft version).")
class AddPlanGoalInput:
    plan_id: strawberry.ID
    pathway: ResettlementPathway
    description: str


@strawberry.input(description="Change a goal you read at `version`; only the fields you give change.")
class UpdatePlanGoalInput:
    id: strawberry.ID
    version: int
    pathway: ResettlementPathway | None = strawberry.UNSET
    description: str | None = strawberry.UNSET


@strawberry.input
class RemovePlanGoalInput:
    id: strawberry.ID
    version: int


@strawberry.input
class AddPlanActionInput:
    goal_id: strawberry.ID
    description: str
    owner_service: ServiceKind
    owner_id: strawberry.ID | None = None
    due_on: dt.date | None = None
    status: ActionStatus | None = None


@strawberry.input(description="Change an action you read at `version`; only the fields you give change.")
class UpdatePlanActionInput:
    id: strawberry.ID
    version: int
    description: str | None = strawberry.UNSET
    owner_service: ServiceKind | None = strawberry.UNSET
    owner_id: strawberry.ID | None = strawberry.UNSET
    due_on: dt.date | None = strawberry.UNSET


@strawberry.input
class RemovePlanActionInput:
    id: strawberry.ID
    version: int


@strawberry.input(description="Progress on an action: not a change of plan content, so no new version.")
class SetPlanActionStatusInput:
    id: strawberry.ID
    version: int
    status: ActionStatus


@strawberry.input(description="Your service signs off the plan version whose content you read at `version`.")
class SignOffPlanVersionInput:
    plan_version_id: strawberry.ID
    version: int


@strawberry.type
class IntegratedPlanPayload:
    plan: IntegratedPlan | None
    errors: list[UserError]


@strawberry.type(description="The plan version now holding the change (a new draft when an agreed plan was edited).")
class PlanVersionPayload:
    plan_version: PlanVersion | None
    errors: list[UserError]


async def _version_payload(info: Info, version_id: uuid.UUID | None, errors: list[UserError]) -> PlanVersionPayload:
    row = None if version_id is None else await loaders.versions(info.context).load(version_id)
    return PlanVersionPayload(plan_version=None if row is None else PlanVersion.from_row(row), errors=errors)


def _owner(fields: dict[str, object]) -> dict[str, object]:
    if fields.get("owner_id") is not None:
        fields["owner_id"] = expect_id(str(fields["owner_id"]), "Practitioner", "ownerId") or uuid.UUID(int=0)
    return fields


@strawberry.type
class PlansMutation:
    @strawberry.mutation(description="Start the young adult's integrated plan (an empty first draft).")
    async def create_plan(self, info: Info, input: CreatePlanInput) -> IntegratedPlanPayload:
        a, ya = await actor(info.context), expect_id(input.young_adult_id, "YoungAdult", "youngAdultId")
        row, errors = await attempt(info.context, lambda: plans.create_plan(a, ya))
        return IntegratedPlanPayload(plan=None if row is None else IntegratedPlan.from_row(row), errors=errors)

    @strawberry.mutation
    async def add_plan_goal(self, info: Info, input: AddPlanGoalInput) -> PlanVersionPayload:
        a, raw = await actor(info.context), expect_id(input.plan_id, "IntegratedPlan", "planId")
        done, errors = await attempt(info.context, lambda: plans.add_goal(a, raw, input.pathway.value,
                                                                          input.description))
        return await _version_payload(info, done, errors)

    @strawberry.mutation
    async def update_plan_goal(self, info: Info, input: UpdatePlanGoalInput) -> PlanVersionPayload:
        a, raw = await actor(info.context), expect_id(input.id, "PlanGoal", "id")
        changes = given_fields(input, ("pathway", "description"))
        done, errors = await attempt(info.context, lambda: plans.update_goal(a, raw, input.version, changes))
        return await _version_payload(info, done, errors)

    @strawberry.mutation
    async def remove_plan_goal(self, info: Info, input: RemovePlanGoalInput) -> PlanVersionPayload:
        a, raw = await actor(info.context), expect_id(input.id, "PlanGoal", "id")
        done, errors = await attempt(info.context, lambda: plans.remove_goal(a, raw, input.version))
        return await _version_payload(info, done, errors)

    @strawberry.mutation
    async def add_plan_action(self, info: Info, input: AddPlanActionInput) -> PlanVersionPayload:
        a, raw = await actor(info.context), expect_id(input.goal_id, "PlanGoal", "goalId")
        values = _owner(given_fields(input, ("description", "owner_service", "owner_id", "due_on", "status")))
        done, errors = await attempt(info.context, lambda: plans.add_action(a, raw, values))
        return await _version_payload(info, done, errors)

    @strawberry.mutation
    async def update_plan_action(self, info: Info, input: UpdatePlanActionInput) -> PlanVersionPayload:
        a, raw = await actor(info.context), expect_id(input.id, "PlanAction", "id")
        changes = _owner(given_fields(input, ("description", "owner_service", "owner_id", "due_on")))
        done, errors = await attempt(info.context, lambda: plans.update_action(a, raw, input.version, changes))
        return await _version_payload(info, done, errors)

    @strawberry.mutation
    async def remove_plan_action(self, info: Info, input: RemovePlanActionInput) -> PlanVersionPayload:
        a, raw = await actor(info.context), expect_id(input.id, "PlanAction", "id")
        done, errors = await attempt(info.context, lambda: plans.remove_action(a, raw, input.version))
        return await _version_payload(info, done, errors)

    @strawberry.mutation(description="Record progress on an action.")
    async def set_plan_action_status(self, info: Info, input: SetPlanActionStatusInput) -> PlanVersionPayload:
        a, raw = await actor(info.context), expect_id(input.id, "PlanAction", "id")
        done, errors = await attempt(info.context, lambda: plans.set_action_status(a, raw, input.version,
                                                                                   input.status.value))
        return await _version_payload(info, done, errors)

    @strawberry.mutation(description="Sign off a draft for your service; the last required sign-off agrees it.")
    async def sign_off_plan_version(self, info: Info, input: SignOffPlanVersionInput) -> PlanVersionPayload:
        a, raw = await actor(info.context), expect_id(input.plan_version_id, "PlanVersion", "planVersionId")
        done, errors = await attempt(info.context, lambda: plans.sign_off(a, raw, input.version))
        return await _version_payload(info, done, errors)
