"""GraphQL types and queries for a young adult's record in full, and the caseload.

``YoungAdult`` is composed here from each feature's part of the record (custody, assessments, plan, meetings): a
feature adds its part as a mixin type with fields resolved from ``raw_id``, so no feature module needs this one.
Mutations are in :mod:`service.records.mutations`.
"""

from __future__ import annotations

import datetime as dt
import enum
import uuid

import asyncpg
import strawberry

from service.api.common import Node, NodeResolver, loaded_node
from service.api.context import Info
from service.api.relay import Connection, check_first, connection, cursor_id, expect_id, to_global_id
from service.assessments.api import YoungAdultAssessments
from service.custody.api import YoungAdultCustody
from service.kernel.errors import InvalidInput, NotFound
from service.meetings.api import YoungAdultMeetings
from service.network.record import YoungAdultNetwork
from service.outcomes.api import YoungAdultOutcomes
from service.people import loaders as people_loaders
from service.people.api import Practitioner, Site, practitioner, site
from service.people.loaders import scope
from service.plans.api import YoungAdultPlan
from service.records import loaders, repository
from service.rules import api as rules_api


@strawberry.enum
class CareStatus(enum.Enum):
    ELIGIBLE = "ELIGIBLE"
    RELEVANT = "RELEVANT"
    FORMER_RELEVANT = "FORMER_RELEVANT"
    QUALIFYING = "QUALIFYING"
    OTHER_CARE_EXPERIENCED = "OTHER_CARE_EXPERIENCED"


@strawberry.enum
class EnrolmentStatus(enum.Enum):
    IDENTIFIED = "IDENTIFIED"
    REFERRED = "REFERRED"
    CONSENTED = "CONSENTED"
    ACTIVE = "ACTIVE"
    EXITED = "EXITED"


@strawberry.enum
class TeamRole(enum.Enum):
    OFFENDER_MANAGER = "OFFENDER_MANAGER"
    KEY_WORKER = "KEY_WORKER"
    COMMUNITY_OFFENDER_MANAGER = "COMMUNITY_OFFENDER_MANAGER"
    PERSONAL_ADVISER = "PERSONAL_ADVISER"
    LIFELONG_LINKS_COORDINATOR = "LIFELONG_LINKS_COORDINATOR"


@strawberry.enum(description="What happened, on a young adult's timeline.")
class TimelineKind(enum.Enum):
    ENROLMENT_IDENTIFIED = "ENROLMENT_IDENTIFIED"
    ENROLMENT_STATUS_CHANGED = "ENROLMENT_STATUS_CHANGED"
    TEAM_MEMBER_JOINED = "TEAM_MEMBER_JOINED"
    TEAM_MEMBER_LEFT = "TEAM_MEMBER_LEFT"
    CUSTODY_RECEPTION = "CUSTODY_RECEPTION"
    RELEASED = "RELEASED"
    RECALLED = "RECALLED"
    ASSESSMENT_RECORDED = "ASSESSMENT_RECORDED"
    PLAN_VERSION_STARTED = "PLAN_VERSION_STARTED"
    PLAN_SIGNED_OFF = "PLAN_SIGNED_OFF"
    PLAN_AGREED = "PLAN_AGREED"
    MEETING_HELD = "MEETING_HELD"


@strawberry.type(description="One step of an enrolment's status history.")
class EnrolmentStatusChange:
    status: EnrolmentStatus
    changed_on: dt.date
    reason: str | None


@strawberry.type(description="A young adult's enrolment in the programme at one site.")
class Enrolment(Node):
    raw_id: strawberry.Private[uuid.UUID]
    young_adult_id: strawberry.Private[uuid.UUID]
    site_id: strawberry.Private[uuid.UUID]
    status: EnrolmentStatus
    identified_on: dt.date
    referred_on: dt.date | None
    consented_on: dt.date | None
    exited_on: dt.date | None
    exit_reason: str | None
    version: int

    @classmethod
    def from_row(cls, row: asyncpg.Record) -> Enrolment:
        return cls(id=strawberry.ID(to_global_id("Enrolment", row["id"])), raw_id=row["id"], site_id=row["site_id"],
                   young_adult_id=row["young_adult_id"],
                   status=EnrolmentStatus(row["status"]), identified_on=row["identified_on"],
                   referred_on=row["referred_on"], consented_on=row["consented_on"], exited_on=row["exited_on"],
                   exit_reason=row["exit_reason"], version=row["version"])

    @strawberry.field
    async def site(self, info: Info) -> Site:
        found = await site(info, self.site_id)
        assert found is not None, "enrolment.site_id is a foreign key"
        return found

    @strawberry.field(description="Every status change after identification, oldest first.")
    async def status_history(self, info: Info) -> list[EnrolmentStatusChange]:
        return [EnrolmentStatusChange(status=EnrolmentStatus(r["status"]), changed_on=r["changed_on"],
                                      reason=r["reason"])
                for r in await loaders.status_history(info.context).load(self.raw_id)]


@strawberry.type(description="A practitioner named in a young adult's team.")
class TeamMember(Node):
    raw_id: strawberry.Private[uuid.UUID]
    young_adult_id: strawberry.Private[uuid.UUID]
    practitioner_id: strawberry.Private[uuid.UUID]
    role: TeamRole
    started_on: dt.date
    ended_on: dt.date | None
    version: int

    @classmethod
    def from_row(cls, row: asyncpg.Record) -> TeamMember:
        return cls(id=strawberry.ID(to_global_id("TeamMember", row["id"])), raw_id=row["id"],
                   young_adult_id=row["young_adult_id"],
                   practitioner_id=row["practitioner_id"], role=TeamRole(row["team_role"]),
                   started_on=row["started_on"], ended_on=row["ended_on"], version=row["version"])

    @strawberry.field
    async def practitioner(self, info: Info) -> Practitioner:
        found = await practitioner(info, self.practitioner_id)
        assert found is not None, "team_member.practitioner_id is a foreign key"
        return found


@strawberry.type(description="Something that happened to the record, in the order it happened.")
class TimelineEntry:
    occurred_on: dt.date
    kind: TimelineKind
    subject_id: strawberry.ID = strawberry.field(description="The global id of what the entry is about.")
    detail: str | None = strawberry.field(description="The new status, the kind of meeting or sentence, the plan "
                                                      "version number, the service that signed, the site code…")


@strawberry.type(description="A care-experienced young adult in the programme: their record in full.")
class YoungAdult(Node, YoungAdultCustody, YoungAdultAssessments, YoungAdultPlan, YoungAdultMeetings,
                 YoungAdultNetwork, YoungAdultOutcomes):
    raw_id: strawberry.Private[uuid.UUID]
    given_name: str
    family_name: str
    date_of_birth: dt.date
    prison_number: str | None
    probation_crn: str | None
    la_reference: str | None
    care_status: CareStatus
    responsible_local_authority: str | None
    entitlement_end_age: int
    entitlement_end_date: dt.date = strawberry.field(
        description="The day leaving-care entitlement ends (the birthday at the entitlement end age).")
    access_restricted: bool = strawberry.field(description="Seen only by the named team (and tenant admins).")
    version: int

    @classmethod
    def from_row(cls, row: asyncpg.Record) -> YoungAdult:
        return cls(id=strawberry.ID(to_global_id("YoungAdult", row["id"])), raw_id=row["id"],
                   given_name=row["given_name"], family_name=row["family_name"], date_of_birth=row["date_of_birth"],
                   prison_number=row["prison_number"], probation_crn=row["probation_crn"],
                   la_reference=row["la_reference"], care_status=CareStatus(row["care_status"]),
                   responsible_local_authority=row["responsible_local_authority"],
                   entitlement_end_age=row["entitlement_end_age"],
                   entitlement_end_date=row["entitlement_end_date"], access_restricted=row["access_restricted"],
                   version=row["version"])

    @strawberry.field
    async def enrolments(self, info: Info) -> list[Enrolment]:
        return [Enrolment.from_row(r) for r in await loaders.enrolments_of(info.context).load(self.raw_id)]

    @strawberry.field(description="What is due, from the practice rules in force at the young adult's governing "
                                  "site (see the README: the site a transfer moved them to, else their "
                                  "earliest-identified current enrolment), earliest first.")
    async def due_items(self, info: Info) -> list[rules_api.DueItem]:
        return await rules_api.due_items_of(info, self.raw_id)

    @strawberry.field(description="The practitioners around the young adult; past members too with `current: false`.")
    async def team(self, info: Info, current: bool = True) -> list[TeamMember]:
        return [TeamMember.from_row(r) for r in await loaders.teams(info.context, current).load(self.raw_id)]

    @strawberry.field(description="Everything that happened to the record, oldest first.")
    async def timeline(self, info: Info) -> list[TimelineEntry]:
        return [TimelineEntry(occurred_on=r["occurred_on"], kind=TimelineKind(r["kind"]),
                              subject_id=strawberry.ID(to_global_id(r["subject_type"], r["subject_id"])),
                              detail=r["detail"])
                for r in await loaders.timelines(info.context).load(self.raw_id)]


NODES: dict[str, NodeResolver] = {
    "YoungAdult": loaded_node(people_loaders.young_adults, YoungAdult.from_row),
    "Enrolment": loaded_node(loaders.enrolments, Enrolment.from_row),
    "TeamMember": loaded_node(loaders.team_members, TeamMember.from_row),
}


@strawberry.enum
class CaseloadOrder(enum.Enum):
    NAME = "NAME"
    EARLIEST_RELEASE_DATE = "EARLIEST_RELEASE_DATE"


@strawberry.input(description="Narrow a caseload; every field is optional and they combine with AND.")
class CaseloadFilter:
    site_id: strawberry.ID | None = strawberry.field(default=None, description="Enrolled at this site.")
    status: EnrolmentStatus | None = strawberry.field(default=None, description="An enrolment in this status.")
    release_from: dt.date | None = strawberry.field(default=None, description="Earliest release on or after.")
    release_to: dt.date | None = strawberry.field(default=None, description="Earliest release on or before.")
    search: str | None = strawberry.field(default=None, description="Words each found in the given or family name.")
    on_my_team: bool = strawberry.field(default=False, description="Only young adults whose team you are on.")


def filter_of(given: CaseloadFilter | None) -> repository.CaseloadFilter:
    if given is None:
        return repository.CaseloadFilter()
    site_id = None
    if given.site_id is not None:
        site_id = expect_id(given.site_id, "Site", "siteId") or uuid.UUID(int=0)
    words = tuple((given.search or "").split())
    if len(words) > 5 or any(len(w) > 100 for w in words):
        raise InvalidInput("search takes at most 5 words of at most 100 characters.", field="search")
    if given.release_from and given.release_to and given.release_to < given.release_from:
        raise InvalidInput("releaseTo must not be before releaseFrom.", field="releaseTo")
    return repository.CaseloadFilter(site_id=site_id, status=given.status.value if given.status else None,
                                     release_from=given.release_from, release_to=given.release_to,
                                     name_words=words, on_my_team=given.on_my_team)


@strawberry.type
class RecordsQuery:
    @strawberry.field(description="A young adult's record; null when it does not exist or is not yours to see.")
    async def young_adult(self, info: Info, id: strawberry.ID) -> YoungAdult | None:
        await scope(info.context)  # roles without case data are refused, whatever the id
        raw = expect_id(id, "YoungAdult", "id")
        row = None if raw is None else await people_loaders.young_adults(info.context).load(raw)
        return None if row is None else YoungAdult.from_row(row)

    @strawberry.field(description="Your caseload: the young adults you may see, filtered, sorted and paged.")
    async def caseload(self, info: Info, filter: CaseloadFilter | None = None,
                       order_by: CaseloadOrder = CaseloadOrder.NAME, first: int = 20, after: str | None = None,
                       ) -> Connection[YoungAdult]:
        ctx = info.context
        first, where = check_first(first), filter_of(filter)
        rows = await repository.caseload(ctx.tenant(), await scope(ctx), where,
                                         repository.CaseloadOrder[order_by.value], cursor_id(after), first + 1)
        for row in rows[:first]:
            people_loaders.young_adults(ctx).prime(row["id"], row)
        return connection(rows, first, YoungAdult.from_row, lambda r: r["id"])

    @strawberry.field(description="Young adults enrolled at a site, by family name then given name; with "
                                  "`dueWithinDays` or `overdueOnly`, only those with something due, soonest first.")
    async def young_adults(self, info: Info, site_id: strawberry.ID, first: int = 20, after: str | None = None,
                           due_within_days: int | None = None, overdue_only: bool = False,
                           ) -> Connection[YoungAdult]:
        ctx = info.context
        raw, first = expect_id(site_id, "Site", "siteId"), check_first(first)
        scoped = await scope(ctx)
        if raw is None or not scoped.covers(raw) or await site(info, raw) is None:
            raise NotFound("No such site.", field="siteId")
        if due_within_days is not None or overdue_only:
            rows = await rules_api.due_caseload(info, raw, scoped, cursor_id(after), first, due_within_days,
                                                overdue_only)
        else:
            rows = await repository.caseload(ctx.tenant(), scoped, repository.CaseloadFilter(site_id=raw),
                                             repository.CaseloadOrder.NAME, cursor_id(after), first + 1)
        return connection(rows, first, YoungAdult.from_row, lambda r: r["id"])
