"""The schema, composed from each feature's query and mutation types, and its SDL export."""

from __future__ import annotations

import strawberry
from graphql import GraphQLError
from strawberry.types import ExecutionContext

from service.api.common import Node
from service.api.context import Info
from service.api.extensions import MaskUnexpectedErrors, RequestTransaction
from service.api.relay import from_global_id
from service.people.api import Enrolment, PeopleMutation, PeopleQuery, Practitioner, Site, YoungAdult
from service.people.api import resolve_node as resolve_people_node
from service.platform.api import PlatformMutation, PlatformQuery
from service.reporting.api import ReportingMutation, ReportingQuery

NODE_TYPES = [Site, Practitioner, Enrolment, YoungAdult]


@strawberry.type
class Query(PeopleQuery, PlatformQuery, ReportingQuery):
    @strawberry.field(description="Any object by its global id; null when it does not exist or is not yours to see.")
    async def node(self, info: Info, id: strawberry.ID) -> Node | None:
        decoded = from_global_id(str(id))
        if decoded is None:
            return None
        return await resolve_people_node(info, *decoded)


@strawberry.type
class Mutation(PeopleMutation, PlatformMutation, ReportingMutation):
    pass


class Schema(strawberry.Schema):
    def process_errors(self, errors: list[GraphQLError], execution_context: ExecutionContext | None = None) -> None:
        """Strawberry logs each error with its message by default; a message can quote stored values, so logging
        is left to MaskUnexpectedErrors, which logs the type and stack under a reference id."""


def build_schema() -> strawberry.Schema:
    return Schema(
        query=Query,
        mutation=Mutation,
        types=NODE_TYPES,
        extensions=[RequestTransaction, MaskUnexpectedErrors],
    )


schema = build_schema()


def export_sdl() -> str:
    return schema.as_str().rstrip() + "\n"
