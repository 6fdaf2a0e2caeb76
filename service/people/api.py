"""GraphQL types and thin resolvers for sites, practitioners, young adults and enrolments."""

from __future__ import annotations

import datetime as dt
import enum
import uuid
from typing import Any

import asyncpg
import strawberry

from service.api.common import Node, UserError, attempt
from service.api.context import Info
from service.api.relay import Connection, check_first, connection, cursor_id, expect_id, to_global_id
from service.errors import NotFound
from service.people import loaders, repository
from service.people import service as people
from service.rules import api as rules_api


@strawberry.enum
class SiteKind(enum.Enum):
    PRISON = "PRISON"
    PROBATION = "PROBATION"
    LEAVING_CARE = "LEAVING_CARE"
    LIFELONG_LINKS = "LIFELONG_LINKS"
    VCSE = "VCSE"


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
class PractitionerRole(enum.Enum):
    POM = "POM"
    KEY_WORKER = "KEY_WORKER"
    COM = "COM"
    PERSONAL_ADVISER = "PERSONAL_ADVISER"
    LIFELONG_LINKS_COORDINATOR = "LIFELONG_LINKS_COORDINATOR"
    MANAGER = "MANAGER"


@strawberry.enum
class ServiceKind(enum.Enum):
    PRISON = "PRISON"
    PROBATION = "PROBATION"
    LEAVING_CARE = "LEAVING_CARE"
    LIFELONG_LINKS = "LIFELONG_LINKS"


@strawberry.type(description="An organisation taking part: a prison, probation delivery unit, leaving-care service…")
class Site(Node):
    raw_id: strawberry.Private[uuid.UUID]
    code: str
    name: str
    kind: SiteKind
    closed: bool
    version: int

    @classmethod
    def from_row(cls, row: asyncpg.Record) -> Site:
        return cls(id=strawberry.ID(to_global_id("Site", row["id"])), raw_id=row["id"], code=row["code"],
                   name=row["name"], kind=SiteKind(row["kind"]), closed=row["closed_at"] is not None,
                   version=row["version"])

    @strawberry.field(description="Practitioners assigned to this site.")
    async def practitioners(self, info: Info) -> list[Practitioner]:
        return [Practitioner.from_row(r) for r in await loaders.practitioners_at(info.context).load(self.raw_id)]

    @strawberry.field(description="Young adults enrolled at this site that you may see, by name.")
    async def young_adults(self, info: Info, first: int = 20, after: str | None = None,
                           ) -> Connection[YoungAdult]:
        return await young_adults_at_site(info, self.raw_id, first, after)


@strawberry.type(description="A practitioner working with young adults in this tenant.")
class Practitioner(Node):
    raw_id: strawberry.Private[uuid.UUID]
    given_name: str
    family_name: str
    service: ServiceKind
    role: PractitionerRole

    @classmethod
    def from_row(cls, row: asyncpg.Record) -> Practitioner:
        return cls(id=strawberry.ID(to_global_id("Practitioner", row["id"])), raw_id=row["id"],
                   given_name=row["given_name"], family_name=row["family_name"],
                   service=ServiceKind(row["service"]), role=PractitionerRole(row["role"]))


@strawberry.type(description="A young adult's enrolment in the programme at one site.")
class Enrolment(Node):
    raw_id: strawberry.Private[uuid.UUID]
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
                   status=EnrolmentStatus(row["status"]), identified_on=row["identified_on"],
                   referred_on=row["referred_on"], consented_on=row["consented_on"], exited_on=row["exited_on"],
                   exit_reason=row["exit_reason"], version=row["version"])

    @strawberry.field
    async def site(self, info: Info) -> Site:
        row = await loaders.sites(info.context).load(self.site_id)
        assert row is not None, "enrolment.site_id is a foreign key"
        return Site.from_row(row)


@strawberry.type(description="A care-experienced young adult in the programme.")
class YoungAdult(Node):
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
    access_restricted: bool
    version: int

    @classmethod
    def from_row(cls, row: asyncpg.Record) -> YoungAdult:
        return cls(id=strawberry.ID(to_global_id("YoungAdult", row["id"])), raw_id=row["id"],
                   given_name=row["given_name"], family_name=row["family_name"], date_of_birth=row["date_of_birth"],
                   prison_number=row["prison_number"], probation_crn=row["probation_crn"],
                   la_reference=row["la_reference"], care_status=CareStatus(row["care_status"]),
                   responsible_local_authority=row["responsible_local_authority"],
                   entitlement_end_age=row["entitlement_end_age"], access_restricted=row["access_restricted"],
                   version=row["version"])

    @strawberry.field(description="The day leaving-care entitlement ends (the birthday at the entitlement end age).")
    def entitlement_end_date(self) -> dt.date:
        dob, age = self.date_of_birth, self.entitlement_end_age
        try:
            return dob.replace(year=dob.year + age)
        except ValueError:  # born on 29 February
            return dt.date(dob.year + age, 3, 1)

    @strawberry.field
    async def enrolments(self, info: Info) -> list[Enrolment]:
        return [Enrolment.from_row(r) for r in await loaders.enrolments_of(info.context).load(self.raw_id)]

    @strawberry.field(description="What is due, from the practice rules in force at the young adult's governing "
                                  "site (their earliest-identified current enrolment), earliest first.")
    async def due_items(self, info: Info) -> list[rules_api.DueItem]:
        return await rules_api.due_items_of(info, self.raw_id)


async def young_adults_at_site(info: Info, site_id: uuid.UUID, first: int, after: str | None,
                               due_within_days: int | None = None, overdue_only: bool = False,
                               ) -> Connection[YoungAdult]:
    ctx = info.context
    first = check_first(first)
    scope = await loaders.scope(ctx)
    if not scope.covers(site_id) or await loaders.sites(ctx).load(site_id) is None:
        raise NotFound("No such site.", field="siteId")
    if due_within_days is not None or overdue_only:
        rows = await rules_api.due_caseload(info, site_id, scope.site_ids, cursor_id(after), first, due_within_days,
                                            overdue_only)
    else:
        rows = await repository.young_adults_at_site(ctx.tenant(), site_id, scope.site_ids, cursor_id(after),
                                                     first + 1)
    for row in rows[:first]:
        ctx.consults.consulted("YoungAdult", row["id"], row["id"])
    return connection(rows, first, YoungAdult.from_row, lambda r: r["id"])


async def resolve_node(info: Info, type_name: str, raw: uuid.UUID) -> Node | None:
    ctx = info.context
    if type_name == "YoungAdult":
        row = await loaders.young_adults(ctx).load(raw)
        if row is None:
            return None
        ctx.consults.consulted("YoungAdult", raw, raw)
        return YoungAdult.from_row(row)
    if type_name == "Enrolment":
        row = await loaders.enrolments(ctx).load(raw)
        if row is None or await loaders.young_adults(ctx).load(row["young_adult_id"]) is None:
            return None
        return Enrolment.from_row(row)
    if type_name == "Site":
        await loaders.scope(ctx)  # refuses roles without case access
        row = await loaders.sites(ctx).load(raw)
        return None if row is None else Site.from_row(row)
    if type_name == "Practitioner":
        await loaders.scope(ctx)
        row = await loaders.practitioners(ctx).load(raw)
        return None if row is None else Practitioner.from_row(row)
    return None


@strawberry.type
class PeopleQuery:
    @strawberry.field(description="The sites of your tenant.")
    async def sites(self, info: Info) -> list[Site]:
        await loaders.scope(info.context)
        return [Site.from_row(r) for r in await repository.sites(info.context.tenant())]

    @strawberry.field(description="Young adults enrolled at a site, by family name then given name; with "
                                  "`dueWithinDays` (open items due within that many days, overdue included) or "
                                  "`overdueOnly`, only those, soonest due first.")
    async def young_adults(self, info: Info, site_id: strawberry.ID, first: int = 20, after: str | None = None,
                           due_within_days: int | None = None, overdue_only: bool = False,
                           ) -> Connection[YoungAdult]:
        raw = expect_id(site_id, "Site", "siteId")
        if raw is None:
            raise NotFound("No such site.", field="siteId")
        return await young_adults_at_site(info, raw, first, after, due_within_days, overdue_only)


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


@strawberry.type
class YoungAdultPayload:
    young_adult: YoungAdult | None
    errors: list[UserError]


def _given(input_: Any, names: tuple[str, ...]) -> dict[str, Any]:
    out = {}
    for name in names:
        value = getattr(input_, name)
        if value is not strawberry.UNSET:
            out[name] = value.value if isinstance(value, enum.Enum) else value
    return out


@strawberry.type
class PeopleMutation:
    @strawberry.mutation(description="Record a young adult identified at a site (creates their enrolment there).")
    async def create_young_adult(self, info: Info, input: CreateYoungAdultInput) -> YoungAdultPayload:
        ctx = info.context
        fields = _given(input, repository.UPDATABLE)
        row, errors = await attempt(ctx, lambda: people.create_young_adult(
            ctx.tenant(), ctx.principal, ctx.request_id, expect_id(input.site_id, "Site", "siteId"), fields,
            dt.date.today()))
        return YoungAdultPayload(young_adult=None if row is None else YoungAdult.from_row(row), errors=errors)

    @strawberry.mutation(description="Change a young adult's details, if nobody changed them since you read them.")
    async def update_young_adult(self, info: Info, input: UpdateYoungAdultInput) -> YoungAdultPayload:
        ctx = info.context
        fields = _given(input, repository.UPDATABLE)
        row, errors = await attempt(ctx, lambda: people.update_young_adult(
            ctx.tenant(), ctx.principal, ctx.request_id, expect_id(input.id, "YoungAdult", "id"), input.version,
            fields, dt.date.today()))
        if row is not None:
            loaders.young_adults(ctx).prime(row["id"], row, force=True)
        return YoungAdultPayload(young_adult=None if row is None else YoungAdult.from_row(row), errors=errors)


