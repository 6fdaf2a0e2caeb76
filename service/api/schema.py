"""The schema, composed from each feature's query and mutation types, and its SDL export."""

from __future__ import annotations

import strawberry
from graphql import GraphQLError
from strawberry.types import ExecutionContext

from service.api.common import Node
from service.api.context import Info
from service.api.extensions import MaskUnexpectedErrors, RequestTransaction
from service.api.relay import from_global_id
from service.consent.api import Consent, ConsentMutation, ConsentQuery
from service.consent.api import resolve_node as resolve_consent_node
from service.network.api import (
    LifelongLinksCase,
    LifelongLinksObjective,
    NetworkCommitment,
    NetworkMeeting,
    NetworkMember,
    NetworkQuery,
)
from service.network.api import resolve_node as resolve_network_node
from service.network.mutations import NetworkMutation
from service.people.api import Enrolment, PeopleMutation, PeopleQuery, Practitioner, Site, YoungAdult
from service.people.api import resolve_node as resolve_people_node
from service.platform.api import PlatformMutation, PlatformQuery
from service.platform.lifecycle_api import LifecycleMutation, LifecycleQuery
from service.rules.api import RulesMutation, RulesQuery
from service.tenant_admin.api import TenantAdminMutation, TenantAdminQuery

NODE_TYPES = [Site, Practitioner, Enrolment, YoungAdult, LifelongLinksCase, LifelongLinksObjective, NetworkMember,
              NetworkCommitment, NetworkMeeting, Consent]
NODE_RESOLVERS = [resolve_people_node, resolve_network_node, resolve_consent_node]


@strawberry.type
class Query(PeopleQuery, NetworkQuery, ConsentQuery, RulesQuery, PlatformQuery, LifecycleQuery,
            TenantAdminQuery):
    @strawberry.field(description="Any object by its global id; null when it does not exist or is not yours to see.")
    async def node(self, info: Info, id: strawberry.ID) -> Node | None:
        decoded = from_global_id(str(id))
        if decoded is None:
            return None
        for resolve in NODE_RESOLVERS:
            found = await resolve(info, *decoded)
            if found is not None:
                return found
        return None


@strawberry.type
class Mutation(PeopleMutation, NetworkMutation, ConsentMutation, RulesMutation, PlatformMutation,
               LifecycleMutation, TenantAdminMutation):
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
