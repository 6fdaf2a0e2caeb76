"""GraphQL types and thin resolvers for outcome check-ins."""

from __future__ import annotations

import datetime as dt
import uuid

import asyncpg
import strawberry

from service.api.common import Node, NodeResolver, UserError, attempt, given_fields, loaded_node
from service.api.context import Info
from service.api.enums import Accommodation, OutcomeTimePoint
from service.api.relay import expect_id, to_global_id
from service.outcomes import loaders
from service.outcomes import service as outcomes
from service.people.loaders import actor


@strawberry.type(description="What became of the young adult at one time point after a release.")
class OutcomeCheckIn(Node):
    raw_id: strawberry.Private[uuid.UUID]
    young_adult_id: strawberry.Private[uuid.UUID]
    time_point: OutcomeTimePoint
    observed_on: dt.date
    accommodation: Accommodation | None
    in_education_training_employment: bool | None
    recalled: bool | None
    network_contacts_last_30_days: int | None = strawberry.field(
        description="Contacts with the support network in the 30 days before the check-in.")
    version: int

    @classmethod
    def from_row(cls, row: asyncpg.Record) -> OutcomeCheckIn:
        return cls(id=strawberry.ID(to_global_id("OutcomeCheckIn", row["id"])), raw_id=row["id"],
                   young_adult_id=row["young_adult_id"],
                   time_point=OutcomeTimePoint(row["time_point"]), observed_on=row["observed_on"],
                   accommodation=None if row["accommodation"] is None else Accommodation(row["accommodation"]),
                   in_education_training_employment=row["in_education_training_employment"],
                   recalled=row["recalled"], network_contacts_last_30_days=row["network_contacts_last_30_days"],
                   version=row["version"])


@strawberry.type
class YoungAdultOutcomes:
    """The outcomes part of a young adult's record (mixed into YoungAdult)."""

    raw_id: strawberry.Private[uuid.UUID]

    @strawberry.field(description="Outcome check-ins after release, oldest first.")
    async def outcome_check_ins(self, info: Info) -> list[OutcomeCheckIn]:
        return [OutcomeCheckIn.from_row(r) for r in await loaders.check_ins_of(info.context).load(self.raw_id)]


NODES: dict[str, NodeResolver] = {
    "OutcomeCheckIn": loaded_node(loaders.check_ins, OutcomeCheckIn.from_row)}


@strawberry.input(description="A check-in at one time point of the young adult's latest release; give at least one "
                              "of the observed values.")
class RecordOutcomeCheckInInput:
    young_adult_id: strawberry.ID
    time_point: OutcomeTimePoint
    observed_on: dt.date
    accommodation: Accommodation | None = None
    in_education_training_employment: bool | None = None
    recalled: bool | None = None
    network_contacts_last_30_days: int | None = None


@strawberry.type
class OutcomeCheckInPayload:
    outcome_check_in: OutcomeCheckIn | None
    errors: list[UserError]


@strawberry.type
class OutcomesMutation:
    @strawberry.mutation(description="Record an outcome check-in; it completes that OUTCOME_CHECK_IN due item and "
                                     "counts in the national outcome figures at the next reporting refresh.")
    async def record_outcome_check_in(self, info: Info, input: RecordOutcomeCheckInInput) -> OutcomeCheckInPayload:
        a, ya = await actor(info.context), expect_id(input.young_adult_id, "YoungAdult", "youngAdultId")
        values = given_fields(input, ("accommodation", "in_education_training_employment", "recalled",
                                      "network_contacts_last_30_days"))
        row, errors = await attempt(info.context, lambda: outcomes.record_check_in(
            a, ya, input.time_point.value, input.observed_on, values, info.context.today))
        return OutcomeCheckInPayload(outcome_check_in=None if row is None else OutcomeCheckIn.from_row(row),
                                     errors=errors)
