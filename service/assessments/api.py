"""GraphQL types and thin resolvers for assessment snapshots and need per resettlement pathway."""

from __future__ import annotations

import datetime as dt
import enum
import uuid

import asyncpg
import strawberry

from service.api.common import Node, NodeResolver, UserError, attempt, loaded_node
from service.api.context import Info
from service.api.enums import ResettlementPathway
from service.api.relay import expect_id, to_global_id
from service.assessments import loaders
from service.assessments import service as assessments
from service.people.api import Practitioner, practitioner
from service.people.loaders import actor


@strawberry.enum
class AssessmentSource(enum.Enum):
    OASYS = "OASYS"
    LA_NEEDS_ASSESSMENT = "LA_NEEDS_ASSESSMENT"
    PATHWAY_PLAN_REVIEW = "PATHWAY_PLAN_REVIEW"
    IMMEDIATE_NEEDS_SCREEN = "IMMEDIATE_NEEDS_SCREEN"


@strawberry.enum
class NeedLevel(enum.Enum):
    NONE = "NONE"
    LOW = "LOW"
    MEDIUM = "MEDIUM"
    HIGH = "HIGH"


@strawberry.type(description="The need an assessment found on one pathway.")
class AssessmentNeed:
    pathway: ResettlementPathway
    level: NeedLevel
    note: str | None


@strawberry.type(description="A snapshot of an assessment made by one of the services.")
class Assessment(Node):
    raw_id: strawberry.Private[uuid.UUID]
    young_adult_id: strawberry.Private[uuid.UUID]
    assessor_id: strawberry.Private[uuid.UUID | None]
    source: AssessmentSource
    assessed_on: dt.date
    summary: str | None
    version: int

    @classmethod
    def from_row(cls, row: asyncpg.Record) -> Assessment:
        return cls(id=strawberry.ID(to_global_id("Assessment", row["id"])), raw_id=row["id"],
                   young_adult_id=row["young_adult_id"],
                   assessor_id=row["assessor_id"], source=AssessmentSource(row["source"]),
                   assessed_on=row["assessed_on"], summary=row["summary"], version=row["version"])

    @strawberry.field
    async def assessor(self, info: Info) -> Practitioner | None:
        return await practitioner(info, self.assessor_id)

    @strawberry.field(description="Need per pathway, in pathway order.")
    async def needs(self, info: Info) -> list[AssessmentNeed]:
        rows = await loaders.needs_of(info.context).load(self.raw_id)
        return [AssessmentNeed(pathway=ResettlementPathway(r["pathway"]), level=NeedLevel(r["level"]),
                               note=r["note"]) for r in rows]


@strawberry.type
class YoungAdultAssessments:
    """The assessments part of a young adult's record (mixed into YoungAdult)."""

    raw_id: strawberry.Private[uuid.UUID]

    @strawberry.field(description="Assessment snapshots, most recent first.")
    async def assessments(self, info: Info) -> list[Assessment]:
        return [Assessment.from_row(r) for r in await loaders.assessments_of(info.context).load(self.raw_id)]


NODES: dict[str, NodeResolver] = {"Assessment": loaded_node(loaders.assessments, Assessment.from_row)}


@strawberry.input
class AssessmentNeedInput:
    pathway: ResettlementPathway
    level: NeedLevel
    note: str | None = None


@strawberry.input(description="An assessment snapshot; the assessor is you.")
class RecordAssessmentInput:
    young_adult_id: strawberry.ID
    source: AssessmentSource
    assessed_on: dt.date
    needs: list[AssessmentNeedInput]
    summary: str | None = None


@strawberry.type
class AssessmentPayload:
    assessment: Assessment | None
    errors: list[UserError]


@strawberry.type
class AssessmentsMutation:
    @strawberry.mutation(description="Record an assessment snapshot with the need found on each pathway.")
    async def record_assessment(self, info: Info, input: RecordAssessmentInput) -> AssessmentPayload:
        a, ya = await actor(info.context), expect_id(input.young_adult_id, "YoungAdult", "youngAdultId")
        needs = [(n.pathway.value, n.level.value, n.note) for n in input.needs]
        row, errors = await attempt(info.context, lambda: assessments.record_assessment(
            a, ya, input.source.value, input.assessed_on, input.summary, needs, info.context.today))
        return AssessmentPayload(assessment=None if row is None else Assessment.from_row(row), errors=errors)
