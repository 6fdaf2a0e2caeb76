"""GraphQL types and queries of the support network (mutations are in service.network.mutations).

Every record shown is audited as CONSULT; a member's phone, email or address shown is audited as DISCLOSE with the
field names. Contact details are null for callers without need-to-know (see repository.member_contacts).
"""

from __future__ import annotations

import datetime as dt
import enum
import uuid
from decimal import Decimal
from typing import TYPE_CHECKING, Annotated, cast

import asyncpg
import strawberry

from service.api.common import Node, NodeResolver, node_of
from service.api.context import Info
from service.api.enums import ServiceKind
from service.api.relay import to_global_id
from service.consent.api import Consent
from service.consent.loaders import contact_consents
from service.network import loaders
from service.network.service import committed_members_wanted
from service.people import loaders as people_loaders
from service.people.api import Practitioner, visible_young_adult

if TYPE_CHECKING:
    from service.records.api import YoungAdult


@strawberry.enum(description="Where a Lifelong Links case is, in order; CLOSED may follow any stage.")
class LifelongLinksStage(enum.Enum):
    REFERRED = "REFERRED"
    EXPLORING = "EXPLORING"
    SEARCHING = "SEARCHING"
    CONTACTING = "CONTACTING"
    MEETING_HELD = "MEETING_HELD"
    PLAN_AGREED = "PLAN_AGREED"
    REVIEWED = "REVIEWED"
    CLOSED = "CLOSED"


@strawberry.enum(description="IDENTIFIED → FOUND → CONTACTED → AGREED / DECLINED → COMMITTED → ACTIVE / LAPSED.")
class NetworkMemberStatus(enum.Enum):
    IDENTIFIED = "IDENTIFIED"
    FOUND = "FOUND"
    CONTACTED = "CONTACTED"
    AGREED = "AGREED"
    DECLINED = "DECLINED"
    COMMITTED = "COMMITTED"
    ACTIVE = "ACTIVE"
    LAPSED = "LAPSED"


@strawberry.enum
class Relationship(enum.Enum):
    RELATIVE = "RELATIVE"
    FORMER_FOSTER_CARER = "FORMER_FOSTER_CARER"
    FORMER_RESIDENTIAL_CARER = "FORMER_RESIDENTIAL_CARER"
    TEACHER = "TEACHER"
    PROFESSIONAL = "PROFESSIONAL"
    FRIEND = "FRIEND"
    MENTOR = "MENTOR"
    OTHER = "OTHER"


@strawberry.enum(description="The member's vetting so far: CLEARED once every required service has cleared them.")
class VettingOutcome(enum.Enum):
    NOT_STARTED = "NOT_STARTED"
    PENDING = "PENDING"
    CLEARED = "CLEARED"
    NOT_CLEARED = "NOT_CLEARED"


@strawberry.enum(description="One service's vetting decision.")
class VettingDecision(enum.Enum):
    CLEARED = "CLEARED"
    NOT_CLEARED = "NOT_CLEARED"


@strawberry.enum(description="The member's own consent to be contacted: given, withdrawn, or never recorded.")
class ContactConsent(enum.Enum):
    ACTIVE = "ACTIVE"
    WITHDRAWN = "WITHDRAWN"
    NONE = "NONE"


@strawberry.enum
class CommitmentStatus(enum.Enum):
    ACTIVE = "ACTIVE"
    ENDED = "ENDED"


def _score(value: Decimal | None) -> float | None:
    return None if value is None else float(value)


@strawberry.type(description="The date a case entered a stage.")
class StageDate:
    stage: LifelongLinksStage
    entered_on: dt.date


@strawberry.type(description="One of the young adult's objectives for their Lifelong Links work; met is null until "
                             "assessed.")
class LifelongLinksObjective(Node):
    raw_id: strawberry.Private[uuid.UUID]
    description: str
    met: bool | None
    assessed_on: dt.date | None
    version: int

    @classmethod
    def from_row(cls, row: asyncpg.Record) -> LifelongLinksObjective:
        return cls(id=strawberry.ID(to_global_id("LifelongLinksObjective", row["id"])), raw_id=row["id"],
                   description=row["description"], met=row["met"], assessed_on=row["assessed_on"],
                   version=row["version"])


@strawberry.type(description="A young adult's Lifelong Links case: referral, coordinator, stages, objectives and "
                             "social-connection scores.")
class LifelongLinksCase(Node):
    raw_id: strawberry.Private[uuid.UUID]
    young_adult_id: strawberry.Private[uuid.UUID]
    coordinator_id: strawberry.Private[uuid.UUID | None]
    stage: LifelongLinksStage
    referred_on: dt.date
    connection_score_start: float | None = strawberry.field(description="Social-connection score at the start.")
    connection_score_follow_up: float | None = strawberry.field(description="Social-connection score at follow-up.")
    version: int

    @classmethod
    def from_row(cls, row: asyncpg.Record) -> LifelongLinksCase:
        return cls(id=strawberry.ID(to_global_id("LifelongLinksCase", row["id"])), raw_id=row["id"],
                   young_adult_id=row["young_adult_id"], coordinator_id=row["coordinator_id"],
                   stage=LifelongLinksStage(row["stage"]), referred_on=row["referred_on"],
                   connection_score_start=_score(row["connection_score_start"]),
                   connection_score_follow_up=_score(row["connection_score_follow_up"]), version=row["version"])

    @strawberry.field
    async def young_adult(self, info: Info) -> Annotated[YoungAdult, strawberry.lazy("service.records.api")]:
        found = await node_of(info, "YoungAdult", self.young_adult_id)
        assert found is not None, "the case was found through the young adult's visibility"
        return cast("YoungAdult", found)

    @strawberry.field
    async def coordinator(self, info: Info) -> Practitioner | None:
        if self.coordinator_id is None:
            return None
        row = await people_loaders.practitioners(info.context).load(self.coordinator_id)
        return None if row is None else Practitioner.from_row(row)

    @strawberry.field(description="Each stage reached, with its date, in order.")
    async def stages(self, info: Info) -> list[StageDate]:
        rows = await loaders.stage_changes(info.context).load(self.raw_id)
        return [StageDate(stage=LifelongLinksStage(r["stage"]), entered_on=r["entered_on"]) for r in rows]

    @strawberry.field
    async def objectives(self, info: Info) -> list[LifelongLinksObjective]:
        return [LifelongLinksObjective.from_row(r) for r in await loaders.objectives(info.context).load(self.raw_id)]

    @strawberry.field(description="The network members found in this case.")
    async def members(self, info: Info) -> list[NetworkMember]:
        rows = await loaders.members_of(info.context).load(self.young_adult_id)
        return [NetworkMember.from_row(r) for r in rows if r["case_id"] == self.raw_id]


@strawberry.type(description="The date a member reached a status.")
class MemberStatusChange:
    status: NetworkMemberStatus
    changed_on: dt.date


@strawberry.type(description="A service's vetting decision on a network member, and who signed it off.")
class VettingSignoff:
    practitioner_id: strawberry.Private[uuid.UUID | None]
    service: ServiceKind
    outcome: VettingDecision
    signed_on: dt.date

    @strawberry.field
    async def signed_by(self, info: Info) -> Practitioner | None:
        if self.practitioner_id is None:
            return None
        row = await people_loaders.practitioners(info.context).load(self.practitioner_id)
        return None if row is None else Practitioner.from_row(row)


@strawberry.type(description="A person in the young adult's support network: a third party in their own right. "
                             "phone, email and address are need-to-know: null unless you coordinate the case or "
                             "are the young adult's personal adviser, and null for everyone once the member has "
                             "withdrawn consent to be contacted.")
class NetworkMember(Node):
    raw_id: strawberry.Private[uuid.UUID]
    young_adult_id: strawberry.Private[uuid.UUID]
    given_name: str
    family_name: str | None
    relationship: Relationship
    relationship_detail: str | None
    known_before: bool = strawberry.field(description="Known to the young adult before, rather than found by search.")
    identified_on: dt.date | None
    status: NetworkMemberStatus
    vetting_outcome: VettingOutcome
    privacy_notice_on: dt.date | None = strawberry.field(description="When they were given privacy information.")
    contact_consent: ContactConsent
    version: int

    @classmethod
    def from_row(cls, row: asyncpg.Record) -> NetworkMember:
        return cls(id=strawberry.ID(to_global_id("NetworkMember", row["id"])), raw_id=row["id"],
                   young_adult_id=row["young_adult_id"], given_name=row["given_name"],
                   family_name=row["family_name"], relationship=Relationship(row["relationship"]),
                   relationship_detail=row["relationship_detail"], known_before=row["known_before"],
                   identified_on=row["identified_on"], status=NetworkMemberStatus(row["status"]),
                   vetting_outcome=VettingOutcome(row["vetting_outcome"]),
                   privacy_notice_on=row["privacy_notice_on"],
                   contact_consent=ContactConsent(row["contact_consent"]), version=row["version"])

    @strawberry.field
    async def status_history(self, info: Info) -> list[MemberStatusChange]:
        rows = await loaders.status_changes(info.context).load(self.raw_id)
        return [MemberStatusChange(status=NetworkMemberStatus(r["status"]), changed_on=r["changed_on"]) for r in rows]

    @strawberry.field
    async def vetting_signoffs(self, info: Info) -> list[VettingSignoff]:
        rows = await loaders.vetting_signoffs(info.context).load(self.raw_id)
        return [VettingSignoff(practitioner_id=r["practitioner_id"], service=ServiceKind(r["service"]),
                               outcome=VettingDecision(r["outcome"]), signed_on=r["signed_on"]) for r in rows]

    @strawberry.field(description="The member's consent-to-contact records, withdrawn ones included.")
    async def contact_consents(self, info: Info) -> list[Consent]:
        return [Consent.from_row(r) for r in await contact_consents(info.context).load(self.raw_id)]

    @strawberry.field(description="Whether you may see this member's contact details (need-to-know, and their "
                                  "consent to be contacted not withdrawn).")
    async def contact_details_visible(self, info: Info) -> bool:
        row = await loaders.contacts(info.context).load(self.raw_id)
        return row is not None and bool(row["shown"])

    async def _contact(self, info: Info, name: str) -> str | None:
        row = await loaders.contacts(info.context).load(self.raw_id)
        value = None if row is None else row[name]
        return value

    @strawberry.field(description="Need-to-know.")
    async def phone(self, info: Info) -> str | None:
        return await self._contact(info, "phone")

    @strawberry.field(description="Need-to-know.")
    async def email(self, info: Info) -> str | None:
        return await self._contact(info, "email")

    @strawberry.field(description="Need-to-know.")
    async def address(self, info: Info) -> str | None:
        return await self._contact(info, "address")

    @strawberry.field
    async def commitments(self, info: Info) -> list[NetworkCommitment]:
        return [NetworkCommitment.from_row(r) for r in await loaders.commitments_of_member(info.context).load(
            self.raw_id)]


@strawberry.type(description="What a network member has committed to, against a goal or an action of the "
                             "integrated plan, followed across plan versions by lineage id.")
class NetworkCommitment(Node):
    raw_id: strawberry.Private[uuid.UUID]
    member_id: strawberry.Private[uuid.UUID]
    young_adult_id: strawberry.Private[uuid.UUID]
    goal_lineage_id: uuid.UUID | None
    action_lineage_id: uuid.UUID | None
    description: str
    starts_on: dt.date | None
    ends_on: dt.date | None
    status: CommitmentStatus
    version: int

    @classmethod
    def from_row(cls, row: asyncpg.Record) -> NetworkCommitment:
        return cls(id=strawberry.ID(to_global_id("NetworkCommitment", row["id"])), raw_id=row["id"],
                   member_id=row["member_id"], young_adult_id=row["young_adult_id"],
                   goal_lineage_id=row["goal_lineage_id"],
                   action_lineage_id=row["action_lineage_id"], description=row["description"],
                   starts_on=row["starts_on"], ends_on=row["ends_on"], status=CommitmentStatus(row["status"]),
                   version=row["version"])

    @strawberry.field(description="Who in the network carries it.")
    async def member(self, info: Info) -> NetworkMember:
        row = await loaders.members(info.context).load(self.member_id)
        assert row is not None, "the commitment was found through the member's young adult"
        return NetworkMember.from_row(row)


@strawberry.type(description="A Lifelong Links family-group meeting, with the practitioners and network members "
                             "who attended.")
class NetworkMeeting(Node):
    raw_id: strawberry.Private[uuid.UUID]
    young_adult_id: strawberry.Private[uuid.UUID]
    held_on: dt.date
    outcome: str | None
    version: int

    @classmethod
    def from_row(cls, row: asyncpg.Record) -> NetworkMeeting:
        return cls(id=strawberry.ID(to_global_id("NetworkMeeting", row["id"])), raw_id=row["id"],
                   young_adult_id=row["young_adult_id"],
                   held_on=row["held_on"], outcome=row["outcome"], version=row["version"])

    @strawberry.field
    async def practitioners(self, info: Info) -> list[Practitioner]:
        ids = [r["practitioner_id"] for r in await loaders.attendees(info.context).load(self.raw_id)
               if r["practitioner_id"] is not None]
        rows = await people_loaders.practitioners(info.context).load_many(ids)
        return [Practitioner.from_row(r) for r in rows if r is not None]

    @strawberry.field
    async def members(self, info: Info) -> list[NetworkMember]:
        ids = [r["network_member_id"] for r in await loaders.attendees(info.context).load(self.raw_id)
               if r["network_member_id"] is not None]
        rows = await loaders.members(info.context).load_many(ids)
        return [NetworkMember.from_row(r) for r in rows if r is not None]


@strawberry.type
class MemberStatusCount:
    status: NetworkMemberStatus
    count: int


@strawberry.type(description="The young adult's network in figures (what national reporting aggregates).")
class NetworkMeasures:
    young_adult_id: strawberry.Private[uuid.UUID]
    size_at_referral: int | None = strawberry.field(description="Members known before, or identified by the "
                                                                "referral date of the current case; null without a "
                                                                "case.")
    size_now: int = strawberry.field(description="Members identified so far, less those who declined or lapsed.")
    identified: int = strawberry.field(description="Every member ever identified.")
    committed: int = strawberry.field(description="Members COMMITTED or ACTIVE.")
    active: int
    committed_wanted: int = strawberry.field(description="Committed members wanted before release (practice rule).")
    by_status: list[MemberStatusCount]

    @strawberry.field
    def committed_target_met(self) -> bool:
        return self.committed >= self.committed_wanted




async def commitments_for_goal(info: Info, goal_lineage_id: uuid.UUID) -> list[NetworkCommitment]:
    """For the plan's ``PlanGoal.commitments``: who in the network carries what under this goal (any version)."""
    rows = await loaders.commitments_by_goal_lineage(info.context).load(goal_lineage_id)
    return [NetworkCommitment.from_row(r) for r in rows]


async def commitments_for_action(info: Info, action_lineage_id: uuid.UUID) -> list[NetworkCommitment]:
    """For the plan's ``PlanAction.commitments``."""
    rows = await loaders.commitments_by_action_lineage(info.context).load(action_lineage_id)
    return [NetworkCommitment.from_row(r) for r in rows]


async def resolve_node(info: Info, type_name: str, raw: uuid.UUID) -> Node | None:
    ctx = info.context
    if type_name == "LifelongLinksCase":
        row = await loaders.cases(ctx).load(raw)
        return None if row is None else LifelongLinksCase.from_row(row)
    if type_name == "NetworkMember":
        row = await loaders.members(ctx).load(raw)
        return None if row is None else NetworkMember.from_row(row)
    if type_name == "NetworkCommitment":
        row = await loaders.commitments(ctx).load(raw)
        return None if row is None else NetworkCommitment.from_row(row)
    if type_name == "NetworkMeeting":
        row = await loaders.meetings(ctx).load(raw)
        return None if row is None else NetworkMeeting.from_row(row)
    if type_name == "LifelongLinksObjective":
        found = await loaders.objective(ctx).load(raw)
        if found is None or await loaders.cases(ctx).load(found["case_id"]) is None:
            return None
        return LifelongLinksObjective.from_row(found)
    return None


@strawberry.type
class NetworkQuery:
    @strawberry.field(description="The young adult's Lifelong Links case: the open one, else the latest.")
    async def lifelong_links_case(self, info: Info, young_adult_id: strawberry.ID) -> LifelongLinksCase | None:
        raw = await visible_young_adult(info, young_adult_id)
        rows = await loaders.current_case(info.context).load(raw)
        return LifelongLinksCase.from_row(rows[0]) if rows else None

    @strawberry.field(description="Everyone in the young adult's support network, in the order they were added.")
    async def network_members(self, info: Info, young_adult_id: strawberry.ID) -> list[NetworkMember]:
        raw = await visible_young_adult(info, young_adult_id)
        return [NetworkMember.from_row(r) for r in await loaders.members_of(info.context).load(raw)]

    @strawberry.field(description="The network's commitments for the young adult; give a goal or action lineage id "
                                  "to see only those against it.")
    async def commitments_for_young_adult(self, info: Info, young_adult_id: strawberry.ID,
                                          goal_lineage_id: uuid.UUID | None = None,
                                          action_lineage_id: uuid.UUID | None = None) -> list[NetworkCommitment]:
        raw = await visible_young_adult(info, young_adult_id)
        if action_lineage_id is not None:  # the same loaders PlanGoal.commitments and PlanAction.commitments use
            found = await commitments_for_action(info, action_lineage_id)
        elif goal_lineage_id is not None:
            found = await commitments_for_goal(info, goal_lineage_id)
        else:
            rows = await loaders.commitments_of_young_adult(info.context).load(raw)
            found = [NetworkCommitment.from_row(r) for r in rows]
        return [c for c in found if c.young_adult_id == raw
                and (goal_lineage_id is None or c.goal_lineage_id == goal_lineage_id)]

    @strawberry.field(description="The young adult's Lifelong Links meetings, oldest first.")
    async def network_meetings(self, info: Info, young_adult_id: strawberry.ID) -> list[NetworkMeeting]:
        raw = await visible_young_adult(info, young_adult_id)
        return [NetworkMeeting.from_row(r) for r in await loaders.meetings_of(info.context).load(raw)]

    @strawberry.field(description="The young adult's network in figures.")
    async def network_measures(self, info: Info, young_adult_id: strawberry.ID) -> NetworkMeasures:
        ctx = info.context
        raw = await visible_young_adult(info, young_adult_id)
        rows = await loaders.measures(ctx).load(raw)
        statuses: list[str] = list(rows[0]["statuses"]) if rows else []
        counts = {s: statuses.count(s) for s in NetworkMemberStatus.__members__}
        return NetworkMeasures(young_adult_id=raw,
            size_at_referral=rows[0]["size_at_referral"] if rows and rows[0]["referred_on"] else None,
            size_now=len(statuses) - counts["DECLINED"] - counts["LAPSED"], identified=len(statuses),
            committed=counts["COMMITTED"] + counts["ACTIVE"], active=counts["ACTIVE"],
            committed_wanted=await committed_members_wanted(ctx.tenant(), raw),
            by_status=[MemberStatusCount(status=NetworkMemberStatus(s), count=n) for s, n in counts.items()])


def _node(type_name: str) -> NodeResolver:
    async def resolve(info: Info, raw: uuid.UUID) -> Node | None:
        return await resolve_node(info, type_name, raw)
    return resolve


NODES: dict[str, NodeResolver] = {name: _node(name) for name in (
    "LifelongLinksCase", "LifelongLinksObjective", "NetworkMember", "NetworkCommitment", "NetworkMeeting")}
