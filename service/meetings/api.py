"""GraphQL types and thin resolvers for meetings and their attendees."""

from __future__ import annotations

import datetime as dt
import enum
import uuid
from typing import TYPE_CHECKING, Annotated, cast

import asyncpg
import strawberry

from service.api.common import ErrorCode, Node, NodeResolver, UserError, attempt, given_fields, loaded_node, node_of
from service.api.context import Info
from service.api.relay import expect_id, to_global_id
from service.meetings import loaders
from service.meetings import service as meetings
from service.people.api import Practitioner, practitioner
from service.people.loaders import actor
from service.plans import loaders as plan_loaders
from service.plans.api import PlanVersion

if TYPE_CHECKING:
    from service.network.api import NetworkMember


@strawberry.enum
class MeetingKind(enum.Enum):
    INTEGRATED_PLANNING = "INTEGRATED_PLANNING"
    THREE_WAY = "THREE_WAY"
    PRE_RELEASE = "PRE_RELEASE"
    REVIEW = "REVIEW"
    LIFELONG_LINKS = "LIFELONG_LINKS"


@strawberry.type(description="Someone at a meeting: a practitioner or a member of the young adult's support network.")
class MeetingAttendee:
    practitioner_id: strawberry.Private[uuid.UUID | None]
    network_member_id: strawberry.Private[uuid.UUID | None]

    @strawberry.field(description="The practitioner attending, when the attendee is one.")
    async def practitioner(self, info: Info) -> Practitioner | None:
        return await practitioner(info, self.practitioner_id)

    @strawberry.field(description="The network member attending, when the attendee is one (their contact details "
                                  "follow need-to-know, as everywhere).")
    async def network_member(self, info: Info,
                             ) -> Annotated[NetworkMember, strawberry.lazy("service.network.api")] | None:
        if self.network_member_id is None:
            return None
        return cast("NetworkMember | None", await node_of(info, "NetworkMember", self.network_member_id))


@strawberry.type(description="A meeting about the young adult: when, who came, what was decided.")
class Meeting(Node):
    raw_id: strawberry.Private[uuid.UUID]
    young_adult_id: strawberry.Private[uuid.UUID]
    agreed_plan_version_id: strawberry.Private[uuid.UUID | None]
    kind: MeetingKind
    held_on: dt.date
    outcome: str | None
    young_adult_attended: bool = strawberry.field(description="Whether the young adult was at the meeting.")
    version: int

    @classmethod
    def from_row(cls, row: asyncpg.Record) -> Meeting:
        return cls(id=strawberry.ID(to_global_id("Meeting", row["id"])), raw_id=row["id"],
                   young_adult_id=row["young_adult_id"],
                   agreed_plan_version_id=row["agreed_plan_version_id"], kind=MeetingKind(row["kind"]),
                   held_on=row["held_on"], outcome=row["outcome"], young_adult_attended=row["young_adult_attended"],
                   version=row["version"])

    @strawberry.field
    async def attendees(self, info: Info) -> list[MeetingAttendee]:
        return [MeetingAttendee(practitioner_id=r["practitioner_id"], network_member_id=r["network_member_id"])
                for r in await loaders.attendees_of(info.context).load(self.raw_id)]

    @strawberry.field(description="The plan version agreed at this meeting, if one was.")
    async def agreed_plan_version(self, info: Info) -> PlanVersion | None:
        if self.agreed_plan_version_id is None:
            return None
        row = await plan_loaders.versions(info.context).load(self.agreed_plan_version_id)
        return None if row is None else PlanVersion.from_row(row)


@strawberry.type
class YoungAdultMeetings:
    """The meetings part of a young adult's record (mixed into YoungAdult)."""

    raw_id: strawberry.Private[uuid.UUID]

    @strawberry.field(description="Meetings, in date order.")
    async def meetings(self, info: Info) -> list[Meeting]:
        return [Meeting.from_row(r) for r in await loaders.meetings_of(info.context).load(self.raw_id)]


NODES: dict[str, NodeResolver] = {"Meeting": loaded_node(loaders.meetings, Meeting.from_row)}


@strawberry.input(description="An attendee: give exactly one of the ids. A network member attends once they have "
                              "agreed to take part and while their consent to be contacted stands.")
class MeetingAttendeeInput:
    practitioner_id: strawberry.ID | None = None
    network_member_id: strawberry.ID | None = None


@strawberry.input
class RecordMeetingInput:
    young_adult_id: strawberry.ID
    kind: MeetingKind
    held_on: dt.date
    attendees: list[MeetingAttendeeInput]
    outcome: str | None = None
    agreed_plan_version_id: strawberry.ID | None = None
    young_adult_attended: bool = False


@strawberry.input(description="Change a meeting you read at `version`; only the fields you give change.")
class UpdateMeetingInput:
    id: strawberry.ID
    version: int
    held_on: dt.date | None = strawberry.UNSET
    outcome: str | None = strawberry.UNSET
    agreed_plan_version_id: strawberry.ID | None = strawberry.UNSET
    young_adult_attended: bool | None = strawberry.UNSET


@strawberry.type
class MeetingPayload:
    meeting: Meeting | None
    errors: list[UserError]


def _fields(input_: RecordMeetingInput | UpdateMeetingInput, names: tuple[str, ...]) -> dict[str, object]:
    fields = given_fields(input_, names)
    raw = fields.get("agreed_plan_version_id")
    if raw is not None:
        fields["agreed_plan_version_id"] = (expect_id(str(raw), "PlanVersion", "agreedPlanVersionId")
                                            or uuid.UUID(int=0))
    return fields


@strawberry.type
class MeetingsMutation:
    @strawberry.mutation(description="Record a meeting about a young adult, with who attended.")
    async def record_meeting(self, info: Info, input: RecordMeetingInput) -> MeetingPayload:
        a, ya = await actor(info.context), expect_id(input.young_adult_id, "YoungAdult", "youngAdultId")
        values = _fields(input, ("kind", "held_on", "outcome", "agreed_plan_version_id", "young_adult_attended"))
        if any((x.practitioner_id is None) == (x.network_member_id is None) for x in input.attendees):
            return MeetingPayload(meeting=None, errors=[UserError(
                code=ErrorCode.INVALID, field="attendees",
                message="Each attendee names a practitioner or a network member, not both.")])
        attending = [expect_id(x.practitioner_id, "Practitioner", "attendees") for x in input.attendees
                     if x.practitioner_id is not None]
        members = [expect_id(x.network_member_id, "NetworkMember", "attendees") for x in input.attendees
                   if x.network_member_id is not None]
        row, errors = await attempt(info.context, lambda: meetings.record_meeting(a, ya, values, attending, members,
                                                                                  info.context.today))
        return MeetingPayload(meeting=None if row is None else Meeting.from_row(row), errors=errors)

    @strawberry.mutation(description="Change a meeting's date, outcome or the plan version agreed there.")
    async def update_meeting(self, info: Info, input: UpdateMeetingInput) -> MeetingPayload:
        a, raw = await actor(info.context), expect_id(input.id, "Meeting", "id")
        changes = _fields(input, ("held_on", "outcome", "agreed_plan_version_id", "young_adult_attended"))
        row, errors = await attempt(info.context, lambda: meetings.update_meeting(a, raw, input.version, changes,
                                                                                  info.context.today))
        return MeetingPayload(meeting=None if row is None else Meeting.from_row(row), errors=errors)
