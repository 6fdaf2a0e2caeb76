"""Mutations on a young adult's record: details, access restriction, enrolments and their status, the team.
(Split from :mod:`service.records.api`, which holds the types and queries, to keep each module short.)"""

from __future__ import annotations

import datetime as dt

import asyncpg
import strawberry

from service.api.common import UserError, attempt, given_fields
from service.api.context import Info
from service.api.relay import expect_id
from service.people import loaders as people_loaders
from service.people.loaders import actor
from service.records import repository
from service.records import service as records
from service.records.api import CareStatus, Enrolment, EnrolmentStatus, TeamMember, TeamRole, YoungAdult


@strawberry.input
class CreateYoungAdultInput:
    site_id: strawberry.ID = strawberry.field(description="The site where the young adult is identified.")
    given_name: str
    family_name: str
    date_of_birth: dt.date
    care_status: CareStatus
    prison_number: str | None = None
    probation_crn: str | None = None
    la_reference: str | None = None
    responsible_local_authority: str | None = None
    entitlement_end_age: int = 25


@strawberry.input(description="Change a young adult's details. Only the fields you give change.")
class UpdateYoungAdultInput:
    id: strawberry.ID
    version: int = strawberry.field(description="The version you read; a stale one is refused.")
    given_name: str | None = strawberry.UNSET
    family_name: str | None = strawberry.UNSET
    date_of_birth: dt.date | None = strawberry.UNSET
    care_status: CareStatus | None = strawberry.UNSET
    prison_number: str | None = strawberry.UNSET
    probation_crn: str | None = strawberry.UNSET
    la_reference: str | None = strawberry.UNSET
    responsible_local_authority: str | None = strawberry.UNSET
    entitlement_end_age: int | None = strawberry.UNSET


@strawberry.input(description="Restrict a record to its named team, or lift the restriction (tenant admins and "
                              "the team).")
class RestrictYoungAdultAccessInput:
    id: strawberry.ID
    version: int
    restricted: bool


@strawberry.input(description="Enrol a young adult you can see at another of your sites.")
class EnrolYoungAdultInput:
    young_adult_id: strawberry.ID
    site_id: strawberry.ID
    identified_on: dt.date | None = None


@strawberry.input(description="Move an enrolment forward, or exit it (a reason is required to exit).")
class ChangeEnrolmentStatusInput:
    enrolment_id: strawberry.ID
    version: int
    status: EnrolmentStatus
    changed_on: dt.date | None = strawberry.field(default=None, description="Defaults to today.")
    reason: str | None = None


@strawberry.input(description="Name a practitioner in the young adult's team (they then see the record).")
class AddTeamMemberInput:
    young_adult_id: strawberry.ID
    practitioner_id: strawberry.ID
    role: TeamRole
    started_on: dt.date | None = strawberry.field(default=None, description="Defaults to today.")


@strawberry.input
class EndTeamMembershipInput:
    id: strawberry.ID
    version: int
    ended_on: dt.date | None = strawberry.field(default=None, description="Defaults to today.")


@strawberry.type
class YoungAdultPayload:
    young_adult: YoungAdult | None
    errors: list[UserError]


@strawberry.type
class EnrolmentPayload:
    enrolment: Enrolment | None
    errors: list[UserError]


@strawberry.type
class TeamMemberPayload:
    team_member: TeamMember | None
    errors: list[UserError]


def _young_adult(info: Info, row: asyncpg.Record | None, errors: list[UserError]) -> YoungAdultPayload:
    if row is not None:
        people_loaders.young_adults(info.context).prime(row["id"], row, force=True)
    return YoungAdultPayload(young_adult=None if row is None else YoungAdult.from_row(row), errors=errors)


@strawberry.type
class RecordsMutation:
    @strawberry.mutation(description="Record a young adult identified at a site (creates their enrolment there).")
    async def create_young_adult(self, info: Info, input: CreateYoungAdultInput) -> YoungAdultPayload:
        a, site_id = await actor(info.context), expect_id(input.site_id, "Site", "siteId")
        fields = given_fields(input, repository.UPDATABLE)
        row, errors = await attempt(info.context, lambda: records.create_young_adult(a, site_id, fields,
                                                                                     info.context.today))
        return _young_adult(info, row, errors)

    @strawberry.mutation(description="Change a young adult's details, if nobody changed them since you read them.")
    async def update_young_adult(self, info: Info, input: UpdateYoungAdultInput) -> YoungAdultPayload:
        a, raw = await actor(info.context), expect_id(input.id, "YoungAdult", "id")
        fields = given_fields(input, repository.UPDATABLE)
        row, errors = await attempt(info.context, lambda: records.update_young_adult(a, raw, input.version, fields,
                                                                                     info.context.today))
        return _young_adult(info, row, errors)

    @strawberry.mutation(description="Restrict a record to its named team, or lift the restriction.")
    async def restrict_young_adult_access(self, info: Info, input: RestrictYoungAdultAccessInput,
                                          ) -> YoungAdultPayload:
        a, raw = await actor(info.context), expect_id(input.id, "YoungAdult", "id")
        row, errors = await attempt(info.context, lambda: records.restrict_access(a, raw, input.version,
                                                                                  input.restricted))
        return _young_adult(info, row, errors)

    @strawberry.mutation(description="Enrol a young adult at another site.")
    async def enrol_young_adult(self, info: Info, input: EnrolYoungAdultInput) -> EnrolmentPayload:
        a = await actor(info.context)
        ya, site_id = (expect_id(input.young_adult_id, "YoungAdult", "youngAdultId"),
                       expect_id(input.site_id, "Site", "siteId"))
        today = info.context.today
        row, errors = await attempt(info.context, lambda: records.enrol(a, ya, site_id, input.identified_on or today,
                                                                        today))
        return EnrolmentPayload(enrolment=None if row is None else Enrolment.from_row(row), errors=errors)

    @strawberry.mutation(description="Move an enrolment to its next status (referred, consented, active) or exit it.")
    async def change_enrolment_status(self, info: Info, input: ChangeEnrolmentStatusInput) -> EnrolmentPayload:
        a, raw = await actor(info.context), expect_id(input.enrolment_id, "Enrolment", "enrolmentId")
        today = info.context.today
        row, errors = await attempt(info.context, lambda: records.change_enrolment_status(
            a, raw, input.version, input.status.value, input.changed_on or today, input.reason, today))
        return EnrolmentPayload(enrolment=None if row is None else Enrolment.from_row(row), errors=errors)

    @strawberry.mutation(description="Name a practitioner in a young adult's team.")
    async def add_team_member(self, info: Info, input: AddTeamMemberInput) -> TeamMemberPayload:
        a = await actor(info.context)
        ya, who = (expect_id(input.young_adult_id, "YoungAdult", "youngAdultId"),
                   expect_id(input.practitioner_id, "Practitioner", "practitionerId"))
        today = info.context.today
        row, errors = await attempt(info.context, lambda: records.add_team_member(
            a, ya, who, input.role.value, input.started_on or today, today))
        return TeamMemberPayload(team_member=None if row is None else TeamMember.from_row(row), errors=errors)

    @strawberry.mutation(description="End a practitioner's membership of a young adult's team.")
    async def end_team_membership(self, info: Info, input: EndTeamMembershipInput) -> TeamMemberPayload:
        a, raw = await actor(info.context), expect_id(input.id, "TeamMember", "id")
        row, errors = await attempt(info.context, lambda: records.end_team_membership(
            a, raw, input.version, input.ended_on or info.context.today))
        return TeamMemberPayload(team_member=None if row is None else TeamMember.from_row(row), errors=errors)
