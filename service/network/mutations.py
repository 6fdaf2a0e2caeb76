"""GraphQL mutations of the support network: thin resolvers over service.network.service and .members.

Each takes one input and returns a payload whose expected refusals are data (``errors``); dates default to today.
"""

from __future__ import annotations

import datetime as dt
import enum
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

import asyncpg
import strawberry

from service.api.common import UserError, attempt
from service.api.context import Info
from service.api.relay import expect_id
from service.kernel.work import UnitOfWork
from service.network import loaders, members, repository
from service.network import service as network
from service.network.api import (
    LifelongLinksCase,
    LifelongLinksObjective,
    LifelongLinksStage,
    NetworkCommitment,
    NetworkMeeting,
    NetworkMember,
    NetworkMemberStatus,
    Relationship,
    VettingDecision,
)
from service.people.loaders import scope


@strawberry.input(description="Refer a young adult to a Lifelong Links service (opens the case at REFERRED).")
class ReferToLifelongLinksInput:
    young_adult_id: strawberry.ID
    site_id: strawberry.ID = strawberry.field(description="The Lifelong Links service (a LIFELONG_LINKS site).")
    coordinator_id: strawberry.ID | None = strawberry.field(
        default=None, description="A Lifelong Links coordinator at that service.")
    referred_on: dt.date | None = None


@strawberry.input(description="Change the coordinator or the social-connection scores. Only the fields you give "
                              "change.")
class UpdateLifelongLinksCaseInput:
    id: strawberry.ID
    version: int
    coordinator_id: strawberry.ID | None = strawberry.UNSET
    connection_score_start: float | None = strawberry.field(default=strawberry.UNSET, description="0 to 100.")
    connection_score_follow_up: float | None = strawberry.field(default=strawberry.UNSET, description="0 to 100.")


@strawberry.input(description="Move the case to its next stage (or CLOSED).")
class MoveLifelongLinksStageInput:
    id: strawberry.ID
    version: int
    stage: LifelongLinksStage
    entered_on: dt.date | None = None


@strawberry.input
class AddLifelongLinksObjectiveInput:
    case_id: strawberry.ID
    description: str


@strawberry.input
class AssessLifelongLinksObjectiveInput:
    id: strawberry.ID
    version: int
    met: bool
    assessed_on: dt.date | None = None


@strawberry.input(description="Add someone to the support network. Contact details may be given only by the "
                              "case's coordinator or the young adult's personal adviser.")
class AddNetworkMemberInput:
    case_id: strawberry.ID
    given_name: str
    relationship: Relationship
    known_before: bool
    family_name: str | None = None
    relationship_detail: str | None = None
    identified_on: dt.date | None = None
    privacy_notice_on: dt.date | None = None
    phone: str | None = None
    email: str | None = None
    address: str | None = None


@strawberry.input(description="Change a member's details. Only the fields you give change; contact details only "
                              "with need-to-know.")
class UpdateNetworkMemberInput:
    id: strawberry.ID
    version: int
    given_name: str | None = strawberry.UNSET
    family_name: str | None = strawberry.UNSET
    relationship: Relationship | None = strawberry.UNSET
    relationship_detail: str | None = strawberry.UNSET
    known_before: bool | None = strawberry.UNSET
    privacy_notice_on: dt.date | None = strawberry.UNSET
    phone: str | None = strawberry.UNSET
    email: str | None = strawberry.UNSET
    address: str | None = strawberry.UNSET


@strawberry.input
class MoveNetworkMemberStatusInput:
    id: strawberry.ID
    version: int
    status: NetworkMemberStatus
    changed_on: dt.date | None = None


@strawberry.input(description="Your service's vetting decision on a member (signed off in your name).")
class SignOffNetworkVettingInput:
    member_id: strawberry.ID
    outcome: VettingDecision
    signed_on: dt.date | None = None


@strawberry.input
class RecordNetworkMeetingInput:
    young_adult_id: strawberry.ID
    held_on: dt.date
    outcome: str | None = None
    practitioner_ids: list[strawberry.ID] = strawberry.field(default_factory=list)
    member_ids: list[strawberry.ID] = strawberry.field(default_factory=list)


@strawberry.input(description="A member's commitment against a goal or an action of the integrated plan, named by "
                              "its lineage id (the same across plan versions).")
class AddNetworkCommitmentInput:
    member_id: strawberry.ID
    description: str
    goal_lineage_id: uuid.UUID | None = None
    action_lineage_id: uuid.UUID | None = None
    starts_on: dt.date | None = None


@strawberry.input
class EndNetworkCommitmentInput:
    id: strawberry.ID
    version: int
    ends_on: dt.date | None = None


@strawberry.type
class LifelongLinksCasePayload:
    lifelong_links_case: LifelongLinksCase | None
    errors: list[UserError]


@strawberry.type
class LifelongLinksObjectivePayload:
    objective: LifelongLinksObjective | None
    errors: list[UserError]


@strawberry.type
class NetworkMemberPayload:
    network_member: NetworkMember | None
    errors: list[UserError]


@strawberry.type
class NetworkCommitmentPayload:
    commitment: NetworkCommitment | None
    errors: list[UserError]


@strawberry.type
class NetworkMeetingPayload:
    meeting: NetworkMeeting | None
    errors: list[UserError]


def _given(input_: Any, names: tuple[str, ...]) -> dict[str, Any]:
    out = {}
    for name in names:
        value = getattr(input_, name)
        if value is not strawberry.UNSET:
            out[name] = value.value if isinstance(value, enum.Enum) else value
    return out


async def _case(ctx: UnitOfWork, action: Callable[[], Awaitable[asyncpg.Record]]) -> LifelongLinksCasePayload:
    row, errors = await attempt(ctx, action)
    return LifelongLinksCasePayload(lifelong_links_case=None if row is None else LifelongLinksCase.from_row(row),
                                    errors=errors)


async def _member(ctx: UnitOfWork, action: Callable[[], Awaitable[uuid.UUID]]) -> NetworkMemberPayload:
    async def run() -> asyncpg.Record:
        member_id = await action()
        (row,) = await repository.members_by_id(ctx.tenant(), [member_id], await scope(ctx))
        loaders.members(ctx).prime(member_id, row, force=True)
        return row
    row, errors = await attempt(ctx, run)
    return NetworkMemberPayload(network_member=None if row is None else NetworkMember.from_row(row), errors=errors)


MEMBER_FIELDS = ("given_name", "family_name", "relationship", "relationship_detail", "known_before",
                 "privacy_notice_on", "phone", "email", "address")


@strawberry.type
class NetworkMutation:
    @strawberry.mutation(description="Refer a young adult to a Lifelong Links service.")
    async def refer_to_lifelong_links(self, info: Info, input: ReferToLifelongLinksInput) -> LifelongLinksCasePayload:
        ctx, today = info.context, info.context.today
        return await _case(ctx, lambda: network.refer(
            ctx.tenant(), ctx.principal, ctx.request_id, expect_id(input.young_adult_id, "YoungAdult", "youngAdultId"),
            expect_id(input.site_id, "Site", "siteId"),
            None if input.coordinator_id is None else expect_id(input.coordinator_id, "Practitioner", "coordinatorId"),
            input.coordinator_id is not None, input.referred_on or today, today))

    @strawberry.mutation(description="Change a case's coordinator or social-connection scores.")
    async def update_lifelong_links_case(self, info: Info, input: UpdateLifelongLinksCaseInput,
                                         ) -> LifelongLinksCasePayload:
        ctx = info.context
        changes = _given(input, ("connection_score_start", "connection_score_follow_up"))
        if input.coordinator_id is not strawberry.UNSET:
            changes["coordinator_id"] = (None if input.coordinator_id is None
                                         else expect_id(input.coordinator_id, "Practitioner", "coordinatorId"))
        return await _case(ctx, lambda: network.update_case(
            ctx.tenant(), ctx.principal, ctx.request_id, expect_id(input.id, "LifelongLinksCase", "id"),
            input.version, changes))

    @strawberry.mutation(description="Move a case to its next stage; a step that is missing is named in the refusal.")
    async def move_lifelong_links_stage(self, info: Info, input: MoveLifelongLinksStageInput,
                                        ) -> LifelongLinksCasePayload:
        ctx, today = info.context, info.context.today
        return await _case(ctx, lambda: network.move_stage(
            ctx.tenant(), ctx.principal, ctx.request_id, expect_id(input.id, "LifelongLinksCase", "id"),
            input.version, input.stage.value, input.entered_on or today, today))

    @strawberry.mutation
    async def add_lifelong_links_objective(self, info: Info, input: AddLifelongLinksObjectiveInput,
                                           ) -> LifelongLinksObjectivePayload:
        ctx = info.context
        row, errors = await attempt(ctx, lambda: network.add_objective(
            ctx.tenant(), ctx.principal, ctx.request_id, expect_id(input.case_id, "LifelongLinksCase", "caseId"),
            input.description))
        return LifelongLinksObjectivePayload(
            objective=None if row is None else LifelongLinksObjective.from_row(row), errors=errors)

    @strawberry.mutation(description="Mark an objective met or not met.")
    async def assess_lifelong_links_objective(self, info: Info, input: AssessLifelongLinksObjectiveInput,
                                              ) -> LifelongLinksObjectivePayload:
        ctx, today = info.context, info.context.today
        row, errors = await attempt(ctx, lambda: network.assess_objective(
            ctx.tenant(), ctx.principal, ctx.request_id, expect_id(input.id, "LifelongLinksObjective", "id"),
            input.version, input.met, input.assessed_on or today, today))
        return LifelongLinksObjectivePayload(
            objective=None if row is None else LifelongLinksObjective.from_row(row), errors=errors)

    @strawberry.mutation(description="Add someone to the young adult's support network (status IDENTIFIED).")
    async def add_network_member(self, info: Info, input: AddNetworkMemberInput) -> NetworkMemberPayload:
        ctx, today = info.context, info.context.today
        fields = _given(input, MEMBER_FIELDS)
        return await _member(ctx, lambda: members.add_member(
            ctx.tenant(), ctx.principal, ctx.request_id, expect_id(input.case_id, "LifelongLinksCase", "caseId"),
            fields, input.identified_on or today, today))

    @strawberry.mutation(description="Change a member's details, if nobody changed them since you read them.")
    async def update_network_member(self, info: Info, input: UpdateNetworkMemberInput) -> NetworkMemberPayload:
        ctx, today = info.context, info.context.today
        fields = _given(input, MEMBER_FIELDS)
        return await _member(ctx, lambda: members.update_member(
            ctx.tenant(), ctx.principal, ctx.request_id, expect_id(input.id, "NetworkMember", "id"), input.version,
            fields, today))

    @strawberry.mutation(description="Move a member to a next status. CONTACTED needs vetting sign-off and the "
                                     "member's consent to be contacted.")
    async def move_network_member_status(self, info: Info, input: MoveNetworkMemberStatusInput,
                                         ) -> NetworkMemberPayload:
        ctx, today = info.context, info.context.today
        return await _member(ctx, lambda: members.move_status(
            ctx.tenant(), ctx.principal, ctx.request_id, expect_id(input.id, "NetworkMember", "id"), input.version,
            input.status.value, input.changed_on or today, today))

    @strawberry.mutation(description="Sign off a member's vetting for your service.")
    async def sign_off_network_vetting(self, info: Info, input: SignOffNetworkVettingInput) -> NetworkMemberPayload:
        ctx, today = info.context, info.context.today
        return await _member(ctx, lambda: members.sign_off_vetting(
            ctx.tenant(), ctx.principal, ctx.request_id, expect_id(input.member_id, "NetworkMember", "memberId"),
            input.outcome.value, input.signed_on or today, today))

    @strawberry.mutation(description="Record a Lifelong Links meeting and who attended.")
    async def record_network_meeting(self, info: Info, input: RecordNetworkMeetingInput) -> NetworkMeetingPayload:
        ctx, today = info.context, info.context.today
        row, errors = await attempt(ctx, lambda: members.record_meeting(
            ctx.tenant(), ctx.principal, ctx.request_id, expect_id(input.young_adult_id, "YoungAdult", "youngAdultId"),
            input.held_on, input.outcome,
            [expect_id(p, "Practitioner", "practitionerIds") for p in input.practitioner_ids],
            [expect_id(m, "NetworkMember", "memberIds") for m in input.member_ids], today))
        return NetworkMeetingPayload(meeting=None if row is None else NetworkMeeting.from_row(row), errors=errors)

    @strawberry.mutation(description="Record what a member commits to, against a goal or action of the plan.")
    async def add_network_commitment(self, info: Info, input: AddNetworkCommitmentInput) -> NetworkCommitmentPayload:
        ctx = info.context
        row, errors = await attempt(ctx, lambda: members.add_commitment(
            ctx.tenant(), ctx.principal, ctx.request_id, expect_id(input.member_id, "NetworkMember", "memberId"),
            input.description, input.goal_lineage_id, input.action_lineage_id, input.starts_on))
        return NetworkCommitmentPayload(commitment=None if row is None else NetworkCommitment.from_row(row),
                                        errors=errors)

    @strawberry.mutation(description="End a commitment (it stays on the record with its end date).")
    async def end_network_commitment(self, info: Info, input: EndNetworkCommitmentInput) -> NetworkCommitmentPayload:
        ctx, today = info.context, info.context.today
        row, errors = await attempt(ctx, lambda: members.end_commitment(
            ctx.tenant(), ctx.principal, ctx.request_id, expect_id(input.id, "NetworkCommitment", "id"),
            input.version, input.ends_on or today, today))
        return NetworkCommitmentPayload(commitment=None if row is None else NetworkCommitment.from_row(row),
                                        errors=errors)
