"""GraphQL types and thin resolvers for custody episodes, key dates, release, licence conditions and recalls."""

from __future__ import annotations

import datetime as dt
import enum
import uuid

import asyncpg
import strawberry

from service.api.common import Node, NodeResolver, UserError, attempt, given_fields, loaded_node
from service.api.context import Info
from service.api.relay import expect_id, to_global_id
from service.custody import loaders, repository
from service.custody import service as custody
from service.people.api import Site, site
from service.people.loaders import actor


@strawberry.enum
class SentenceType(enum.Enum):
    DETERMINATE = "DETERMINATE"
    INDETERMINATE = "INDETERMINATE"
    REMAND = "REMAND"


@strawberry.enum
class ReleaseType(enum.Enum):
    CONDITIONAL = "CONDITIONAL"
    AUTOMATIC = "AUTOMATIC"
    PAROLE = "PAROLE"
    HOME_DETENTION_CURFEW = "HOME_DETENTION_CURFEW"
    END_OF_SENTENCE = "END_OF_SENTENCE"
    COURT = "COURT"
    OTHER = "OTHER"


@strawberry.type(description="A condition of the young adult's licence.")
class LicenceCondition:
    description: str
    starts_on: dt.date | None
    ends_on: dt.date | None


@strawberry.type(description="A recall to custody after release.")
class RecallEvent:
    recalled_on: dt.date
    returned_to_custody_on: dt.date | None
    reason: str | None


@strawberry.type(description="A period in custody with its key dates. Earliest release: PED if any, else the "
                             "earlier of ARD and CRD.")
class CustodyEpisode(Node):
    raw_id: strawberry.Private[uuid.UUID]
    young_adult_id: strawberry.Private[uuid.UUID]
    prison_site_id: strawberry.Private[uuid.UUID | None]
    reception_date: dt.date
    sentence_type: SentenceType
    sentence_start: dt.date | None
    crd: dt.date | None = strawberry.field(description="Conditional release date.")
    ard: dt.date | None = strawberry.field(description="Automatic release date.")
    ped: dt.date | None = strawberry.field(description="Parole eligibility date.")
    hdced: dt.date | None = strawberry.field(description="Home detention curfew eligibility date.")
    sed: dt.date | None = strawberry.field(description="Sentence expiry date.")
    led: dt.date | None = strawberry.field(description="Licence expiry date.")
    tused: dt.date | None = strawberry.field(description="End of post-sentence supervision.")
    handover_date: dt.date | None
    earliest_release_date: dt.date | None
    actual_release_date: dt.date | None
    release_type: ReleaseType | None
    version: int

    @classmethod
    def from_row(cls, row: asyncpg.Record) -> CustodyEpisode:
        return cls(
            id=strawberry.ID(to_global_id("CustodyEpisode", row["id"])), raw_id=row["id"],
            young_adult_id=row["young_adult_id"], prison_site_id=row["prison_site_id"],
            reception_date=row["reception_date"], sentence_type=SentenceType(row["sentence_type"]),
            sentence_start=row["sentence_start"], crd=row["crd"], ard=row["ard"], ped=row["ped"],
            hdced=row["hdced"], sed=row["sed"], led=row["led"], tused=row["tused"],
            handover_date=row["handover_date"], earliest_release_date=row["earliest_release_date"],
            actual_release_date=row["actual_release_date"],
            release_type=None if row["release_type"] is None else ReleaseType(row["release_type"]),
            version=row["version"])

    @strawberry.field
    async def prison(self, info: Info) -> Site | None:
        return await site(info, self.prison_site_id)

    @strawberry.field
    async def licence_conditions(self, info: Info) -> list[LicenceCondition]:
        rows = await loaders.conditions_of(info.context).load(self.raw_id)
        return [LicenceCondition(description=r["description"], starts_on=r["starts_on"], ends_on=r["ends_on"])
                for r in rows]

    @strawberry.field
    async def recalls(self, info: Info) -> list[RecallEvent]:
        rows = await loaders.recalls_of(info.context).load(self.raw_id)
        return [RecallEvent(recalled_on=r["recalled_on"], returned_to_custody_on=r["returned_to_custody_on"],
                            reason=r["reason"]) for r in rows]


@strawberry.type
class YoungAdultCustody:
    """The custody part of a young adult's record (mixed into YoungAdult)."""

    raw_id: strawberry.Private[uuid.UUID]

    @strawberry.field(description="Custody episodes, most recent reception first.")
    async def custody_episodes(self, info: Info) -> list[CustodyEpisode]:
        return [CustodyEpisode.from_row(r) for r in await loaders.episodes_of(info.context).load(self.raw_id)]

    @strawberry.field(description="The most recent custody episode, if any.")
    async def current_custody(self, info: Info) -> CustodyEpisode | None:
        rows = await loaders.episodes_of(info.context).load(self.raw_id)
        return CustodyEpisode.from_row(rows[0]) if rows else None


NODES: dict[str, NodeResolver] = {
    "CustodyEpisode": loaded_node(loaders.episodes, CustodyEpisode.from_row)}


@strawberry.input(description="A period in custody. Contradictory dates are refused, naming both.")
class RecordCustodyEpisodeInput:
    young_adult_id: strawberry.ID
    reception_date: dt.date
    sentence_type: SentenceType
    prison_site_id: strawberry.ID | None = None
    sentence_start: dt.date | None = None
    crd: dt.date | None = None
    ard: dt.date | None = None
    ped: dt.date | None = None
    hdced: dt.date | None = None
    sed: dt.date | None = None
    led: dt.date | None = None
    tused: dt.date | None = None
    handover_date: dt.date | None = None


@strawberry.input(description="Change key dates; only the fields you give change.")
class UpdateCustodyEpisodeInput:
    id: strawberry.ID
    version: int
    prison_site_id: strawberry.ID | None = strawberry.UNSET
    reception_date: dt.date | None = strawberry.UNSET
    sentence_type: SentenceType | None = strawberry.UNSET
    sentence_start: dt.date | None = strawberry.UNSET
    crd: dt.date | None = strawberry.UNSET
    ard: dt.date | None = strawberry.UNSET
    ped: dt.date | None = strawberry.UNSET
    hdced: dt.date | None = strawberry.UNSET
    sed: dt.date | None = strawberry.UNSET
    led: dt.date | None = strawberry.UNSET
    tused: dt.date | None = strawberry.UNSET
    handover_date: dt.date | None = strawberry.UNSET


@strawberry.input
class RecordReleaseInput:
    custody_episode_id: strawberry.ID
    version: int
    actual_release_date: dt.date
    release_type: ReleaseType


@strawberry.input
class RecordRecallInput:
    custody_episode_id: strawberry.ID
    recalled_on: dt.date
    returned_to_custody_on: dt.date | None = None
    reason: str | None = None


@strawberry.input
class AddLicenceConditionInput:
    custody_episode_id: strawberry.ID
    description: str
    starts_on: dt.date | None = None
    ends_on: dt.date | None = None


@strawberry.type
class CustodyEpisodePayload:
    custody_episode: CustodyEpisode | None
    errors: list[UserError]


def _fields(input_: RecordCustodyEpisodeInput | UpdateCustodyEpisodeInput) -> dict[str, object]:
    fields = given_fields(input_, repository.UPDATABLE)
    if "prison_site_id" in fields:
        raw = fields["prison_site_id"]
        # a malformed id becomes the nil uuid, which names no site: refused as not found, like a missing one
        fields["prison_site_id"] = None if raw is None else (expect_id(raw, "Site", "prisonSiteId") or uuid.UUID(int=0))
    return fields


def _payload(row: asyncpg.Record | None, errors: list[UserError]) -> CustodyEpisodePayload:
    return CustodyEpisodePayload(custody_episode=None if row is None else CustodyEpisode.from_row(row),
                                 errors=errors)


@strawberry.type
class CustodyMutation:
    @strawberry.mutation(description="Record a period in custody with its key dates.")
    async def record_custody_episode(self, info: Info, input: RecordCustodyEpisodeInput) -> CustodyEpisodePayload:
        a, ya = await actor(info.context), expect_id(input.young_adult_id, "YoungAdult", "youngAdultId")
        row, errors = await attempt(info.context, lambda: custody.record_episode(a, ya, _fields(input),
                                                                                 info.context.today))
        return _payload(row, errors)

    @strawberry.mutation(description="Change key dates, if nobody changed them since you read them.")
    async def update_custody_episode(self, info: Info, input: UpdateCustodyEpisodeInput) -> CustodyEpisodePayload:
        a, raw = await actor(info.context), expect_id(input.id, "CustodyEpisode", "id")
        row, errors = await attempt(info.context, lambda: custody.update_episode(a, raw, input.version,
                                                                                 _fields(input)))
        return _payload(row, errors)

    @strawberry.mutation(description="Record the young adult's release from this episode.")
    async def record_release(self, info: Info, input: RecordReleaseInput) -> CustodyEpisodePayload:
        a, raw = await actor(info.context), expect_id(input.custody_episode_id, "CustodyEpisode", "custodyEpisodeId")
        row, errors = await attempt(info.context, lambda: custody.record_release(
            a, raw, input.version, input.actual_release_date, input.release_type.value, info.context.today))
        return _payload(row, errors)

    @strawberry.mutation(description="Record a recall to custody after release.")
    async def record_recall(self, info: Info, input: RecordRecallInput) -> CustodyEpisodePayload:
        a, raw = await actor(info.context), expect_id(input.custody_episode_id, "CustodyEpisode", "custodyEpisodeId")
        row, errors = await attempt(info.context, lambda: custody.record_recall(
            a, raw, input.recalled_on, input.returned_to_custody_on, input.reason, info.context.today))
        return _payload(row, errors)

    @strawberry.mutation(description="Add a condition to the licence of this episode.")
    async def add_licence_condition(self, info: Info, input: AddLicenceConditionInput) -> CustodyEpisodePayload:
        a, raw = await actor(info.context), expect_id(input.custody_episode_id, "CustodyEpisode", "custodyEpisodeId")
        row, errors = await attempt(info.context, lambda: custody.add_licence_condition(
            a, raw, input.description, input.starts_on, input.ends_on))
        return _payload(row, errors)
