"""The schema, composed from each feature's query and mutation types, and its SDL export."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import strawberry
from graphql import GraphQLError
from strawberry.extensions import SchemaExtension
from strawberry.schema.config import StrawberryConfig
from strawberry.types import ExecutionContext

from service.api import audited
from service.api.common import NODE_RESOLVERS, Node
from service.api.context import Info
from service.api.extensions import MaskUnexpectedErrors, OperationKind, PreparedDocuments
from service.api.kept import KeptExecution
from service.api.limits import DocumentErrorCodes
from service.api.model import collect
from service.api.observability import OperationTelemetry
from service.api.relay import from_global_id
from service.api.text import check_text_inputs
from service.assessments import api as assessments
from service.assessments import model as assessments_model
from service.audit import model as audit_model
from service.audit.api import AuditQuery, PlatformAuditQuery
from service.audit.platform import PlatformReadTrail
from service.consent import api as consent
from service.consent import model as consent_model
from service.custody import api as custody
from service.custody import model as custody_model
from service.meetings import api as meetings
from service.meetings import model as meetings_model
from service.moves import model as moves_model
from service.moves.api import MovesMutation, MovesQuery
from service.my_work.api import MyWorkQuery
from service.network import api as network
from service.network import model as network_model
from service.network.mutations import NetworkMutation
from service.outcomes import api as outcomes
from service.outcomes import model as outcomes_model
from service.people import api as people
from service.people import model as people_model
from service.plans import api as plans
from service.plans import model as plans_model
from service.platform.api import PlatformMutation, PlatformQuery
from service.platform.lifecycle_api import LifecycleMutation, LifecycleQuery
from service.records import api as records
from service.records import model as records_model
from service.records.mutations import RecordsMutation
from service.reporting.api import ReportingMutation, ReportingQuery
from service.rules.api import RulesMutation, RulesQuery
from service.tenant_admin.api import TenantAdminMutation, TenantAdminQuery

NODE_TYPES = [people.Site, people.Practitioner, records.YoungAdult, records.Enrolment, records.TeamMember,
              custody.CustodyEpisode, assessments.Assessment, plans.IntegratedPlan, plans.PlanVersion,
              plans.PlanGoal, plans.PlanAction, meetings.Meeting, network.LifelongLinksCase,
              network.LifelongLinksObjective, network.NetworkMember, network.NetworkCommitment,
              network.NetworkMeeting, consent.Consent, outcomes.OutcomeCheckIn]

# type name -> resolver for `node(id:)` (and resolve_node); each feature contributes its own entries.
NODE_RESOLVERS.update({**people.NODES, **records.NODES, **custody.NODES, **assessments.NODES, **plans.NODES,
                       **meetings.NODES, **network.NODES, **consent.NODES, **outcomes.NODES})


# type name -> its one declaration (SQL, relations, audit policy), read by both executors.
MODELS = collect(people_model.MODELS, records_model.MODELS, custody_model.MODELS, assessments_model.MODELS,
                 plans_model.MODELS, meetings_model.MODELS, network_model.MODELS, consent_model.MODELS,
                 outcomes_model.MODELS, moves_model.MODELS, audit_model.MODELS)


@strawberry.type
class Query(people.PeopleQuery, records.RecordsQuery, MyWorkQuery, network.NetworkQuery, consent.ConsentQuery,
            RulesQuery, AuditQuery, ReportingQuery, PlatformQuery, LifecycleQuery, TenantAdminQuery,
            PlatformAuditQuery, MovesQuery):
    @strawberry.field(description="Any object by its global id; null when it does not exist or is not yours to see.")
    async def node(self, info: Info, id: strawberry.ID) -> Node | None:
        decoded = from_global_id(str(id))
        resolve = None if decoded is None else NODE_RESOLVERS.get(decoded[0])
        if decoded is None or resolve is None:
            return None
        return await resolve(info, decoded[1])


@strawberry.type
class Mutation(people.PeopleMutation, RecordsMutation, custody.CustodyMutation, assessments.AssessmentsMutation,
               plans.PlansMutation, meetings.MeetingsMutation, NetworkMutation, consent.ConsentMutation,
               outcomes.OutcomesMutation,
               RulesMutation, ReportingMutation, PlatformMutation, LifecycleMutation, TenantAdminMutation,
               MovesMutation):
    pass


class Schema(strawberry.Schema):
    def process_errors(self, errors: list[GraphQLError], execution_context: ExecutionContext | None = None) -> None:
        """Strawberry logs each error with its message by default; a message can quote stored values, so logging
        is left to MaskUnexpectedErrors, which logs the type and stack under a reference id."""


def build_schema(limits: Sequence[Callable[[], SchemaExtension]] = (), *, suggestions: bool = True,
                 ) -> strawberry.Schema:
    """The schema; the service adds its limit extensions (service.api.limits) and may turn field suggestions off.
    The exported contract is the same either way. Every field that takes text has it checked first
    (service.api.text), and the declared audit policies are hooked into its resolvers."""
    built = Schema(
        query=Query,
        mutation=Mutation,
        types=NODE_TYPES,
        extensions=[OperationTelemetry, OperationKind, PlatformReadTrail, MaskUnexpectedErrors, DocumentErrorCodes,
                    *limits, PreparedDocuments],
        config=StrawberryConfig(disable_field_suggestions=not suggestions),
        execution_context_class=KeptExecution,
    )
    check_text_inputs(built._schema)
    audited.apply(built._schema, MODELS)
    return built


schema = build_schema()


def export_sdl() -> str:
    return schema.as_str().rstrip() + "\n"
