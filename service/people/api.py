"""GraphQL types and thin resolvers for sites and practitioners."""

from __future__ import annotations

import enum
import uuid

import asyncpg
import strawberry

from service.api.common import Node, NodeResolver, UserError, attempt
from service.api.context import Info
from service.api.enums import ServiceKind, SiteKind
from service.api.relay import expect_id, to_global_id
from service.kernel.errors import NotFound
from service.people import loaders, repository
from service.people import service as people


@strawberry.enum
class PractitionerRole(enum.Enum):
    POM = "POM"
    KEY_WORKER = "KEY_WORKER"
    COM = "COM"
    PERSONAL_ADVISER = "PERSONAL_ADVISER"
    LIFELONG_LINKS_COORDINATOR = "LIFELONG_LINKS_COORDINATOR"
    MANAGER = "MANAGER"



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


async def site(info: Info, site_id: uuid.UUID | None) -> Site | None:
    """A site by id (sites are not case data, but only tenant users with case access read them)."""
    if site_id is None:
        return None
    row = await loaders.sites(info.context).load(site_id)
    return None if row is None else Site.from_row(row)


async def practitioner(info: Info, practitioner_id: uuid.UUID | None) -> Practitioner | None:
    if practitioner_id is None:
        return None
    row = await loaders.practitioners(info.context).load(practitioner_id)
    return None if row is None else Practitioner.from_row(row)


async def _site_node(info: Info, raw: uuid.UUID) -> Node | None:
    await loaders.scope(info.context)  # refuses roles without case access
    return await site(info, raw)


async def _practitioner_node(info: Info, raw: uuid.UUID) -> Node | None:
    await loaders.scope(info.context)
    return await practitioner(info, raw)


NODES: dict[str, NodeResolver] = {"Site": _site_node, "Practitioner": _practitioner_node}


@strawberry.type
class PeopleQuery:
    @strawberry.field(description="The sites of your tenant.")
    async def sites(self, info: Info) -> list[Site]:
        await loaders.scope(info.context)
        return [Site.from_row(r) for r in await repository.sites(info.context.tenant())]


@strawberry.input(description="A practitioner record; `subject` links it to the person's login.")
class CreatePractitionerInput:
    given_name: str
    family_name: str
    service: ServiceKind
    role: PractitionerRole
    site_ids: list[strawberry.ID]
    subject: str | None = strawberry.field(default=None, description="The login (token subject) of this person.")


@strawberry.type
class PractitionerPayload:
    practitioner: Practitioner | None
    errors: list[UserError]


@strawberry.type
class PeopleMutation:
    @strawberry.mutation(description="Add a practitioner (tenant administrators; site managers at their sites).")
    async def create_practitioner(self, info: Info, input: CreatePractitionerInput) -> PractitionerPayload:
        ctx = info.context
        actor = await loaders.actor(ctx)
        fields = {"given_name": input.given_name, "family_name": input.family_name, "service": input.service.value,
                  "role": input.role.value, "subject": input.subject}
        sites = [expect_id(s, "Site", "siteIds") for s in input.site_ids]
        created, errors = await attempt(ctx, lambda: people.create_practitioner(actor, fields, sites))
        return PractitionerPayload(practitioner=await practitioner(info, created), errors=errors)


async def visible_young_adult(info: Info, young_adult_id: strawberry.ID) -> uuid.UUID:
    """The young adult's uuid if the caller may see them; NotFound otherwise (missing, foreign or out of scope)."""
    raw = expect_id(young_adult_id, "YoungAdult", "youngAdultId")
    if raw is None or await loaders.young_adults(info.context).load(raw) is None:
        raise NotFound("No such young adult.", field="youngAdultId")
    return raw
