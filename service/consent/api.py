"""GraphQL types, queries and mutations for consent records."""

from __future__ import annotations

import datetime as dt
import enum
import uuid
from typing import TYPE_CHECKING, Annotated, cast

import asyncpg
import strawberry

from service.api.common import Node, NodeResolver, UserError, attempt, node_of
from service.api.context import Info
from service.api.relay import expect_id, to_global_id
from service.consent import loaders
from service.consent import service as consent
from service.people.api import visible_young_adult

if TYPE_CHECKING:
    from service.network.api import NetworkMember


@strawberry.enum
class ConsentPurpose(enum.Enum):
    PARTICIPATION = "PARTICIPATION"
    CONTACT = "CONTACT"
    SHARING = "SHARING"
    AGGREGATE_REPORTING = "AGGREGATE_REPORTING"


@strawberry.type(description="Consent given by the young adult or, when networkMember is set, by one of their "
                             "network members. A withdrawn consent stays on the record with its withdrawal date.")
class Consent(Node):
    raw_id: strawberry.Private[uuid.UUID]
    young_adult_id: strawberry.Private[uuid.UUID]
    member_id: strawberry.Private[uuid.UUID | None]
    purpose: ConsentPurpose
    organisation: str | None = strawberry.field(description="Who the data is shared with (purpose SHARING).")
    granted_on: dt.date
    withdrawn_on: dt.date | None
    version: int

    @classmethod
    def from_row(cls, row: asyncpg.Record) -> Consent:
        return cls(id=strawberry.ID(to_global_id("Consent", row["id"])), raw_id=row["id"],
                   young_adult_id=row["young_adult_id"],
                   member_id=row["network_member_id"], purpose=ConsentPurpose(row["purpose"]),
                   organisation=row["organisation"], granted_on=row["granted_on"], withdrawn_on=row["withdrawn_on"],
                   version=row["version"])

    @strawberry.field(description="Given and not withdrawn.")
    def active(self) -> bool:
        return self.withdrawn_on is None

    @strawberry.field(description="The network member who gave it; null when it is the young adult's own.")
    async def network_member(self, info: Info,
                             ) -> Annotated[NetworkMember, strawberry.lazy("service.network.api")] | None:
        if self.member_id is None:
            return None
        return cast("NetworkMember | None", await node_of(info, "NetworkMember", self.member_id))


async def resolve_node(info: Info, type_name: str, raw: uuid.UUID) -> Node | None:
    if type_name != "Consent":
        return None
    row = await loaders.consents(info.context).load(raw)
    return None if row is None else Consent.from_row(row)


@strawberry.type
class ConsentQuery:
    @strawberry.field(description="Every consent record of the young adult and their network members, withdrawn "
                                  "ones included, oldest first.")
    async def consents(self, info: Info, young_adult_id: strawberry.ID) -> list[Consent]:
        raw = await visible_young_adult(info, young_adult_id)
        return [Consent.from_row(r) for r in await loaders.consents_of(info.context).load(raw)]


@strawberry.input
class RecordConsentInput:
    young_adult_id: strawberry.ID
    network_member_id: strawberry.ID | None = strawberry.field(
        default=None, description="Set when the consent is a network member's own.")
    purpose: ConsentPurpose
    organisation: str | None = strawberry.field(default=None, description="Required for SHARING.")
    granted_on: dt.date | None = strawberry.field(default=None, description="Default: today.")


@strawberry.input
class WithdrawConsentInput:
    id: strawberry.ID
    version: int
    withdrawn_on: dt.date | None = strawberry.field(default=None, description="Default: today.")


@strawberry.type
class ConsentPayload:
    consent: Consent | None
    errors: list[UserError]


@strawberry.type
class ConsentMutation:
    @strawberry.mutation(description="Record a consent given by the young adult or one of their network members.")
    async def record_consent(self, info: Info, input: RecordConsentInput) -> ConsentPayload:
        ctx, today = info.context, info.context.today
        row, errors = await attempt(ctx, lambda: consent.record(
            ctx.tenant(), ctx.principal, ctx.request_id, expect_id(input.young_adult_id, "YoungAdult", "youngAdultId"),
            None if input.network_member_id is None else expect_id(input.network_member_id, "NetworkMember",
                                                                   "networkMemberId"),
            input.network_member_id is not None, input.purpose.value, input.organisation, input.granted_on or today,
            today))
        return ConsentPayload(consent=None if row is None else Consent.from_row(row), errors=errors)

    @strawberry.mutation(description="Withdraw a consent. The record stays, with the date it was withdrawn; "
                                     "withdrawing a member's CONTACT consent stops contact with them.")
    async def withdraw_consent(self, info: Info, input: WithdrawConsentInput) -> ConsentPayload:
        ctx, today = info.context, info.context.today
        row, errors = await attempt(ctx, lambda: consent.withdraw(
            ctx.tenant(), ctx.principal, ctx.request_id, expect_id(input.id, "Consent", "id"), input.version,
            input.withdrawn_on or today, today))
        return ConsentPayload(consent=None if row is None else Consent.from_row(row), errors=errors)


def _node(type_name: str) -> NodeResolver:
    async def resolve(info: Info, raw: uuid.UUID) -> Node | None:
        return await resolve_node(info, type_name, raw)
    return resolve


NODES: dict[str, NodeResolver] = {"Consent": _node("Consent")}
