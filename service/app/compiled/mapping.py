"""How GraphQL types map to SQL, for the compiler. Each expression uses ``{t}`` for the row's alias; relations use
``{c}`` (child) and ``{p}`` (parent). A field absent here makes a document that selects it fall back to strawberry.

Output must match the ordinary executor exactly: enums as their names (our enum values are their names), dates
as ISO strings (PostgreSQL's JSON for a date), global ids as urlsafe base64 of "Type:uuid".
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class Scalar:
    expr: str


@dataclass(frozen=True, slots=True)
class Many:
    type_name: str
    table: str
    where: str
    order: str


@dataclass(frozen=True, slots=True)
class One:
    type_name: str
    table: str
    where: str


Field = Scalar | Many | One


@dataclass(frozen=True, slots=True)
class SqlType:
    table: str
    fields: dict[str, Field] = field(default_factory=dict)
    # When the ordinary resolvers record a view of this type (ConsultLog), the SQL naming the young adult it belongs
    # to; the compiled statement then records the same events.
    audit: str | None = None


def global_id(type_name: str, column: str = "{t}.id") -> Scalar:
    # encode() wraps base64 at 76 characters; translate() drops the newline and makes it urlsafe like Python's.
    return Scalar(f"translate(encode(convert_to('{type_name}:' || {column}, 'UTF8'), 'base64'), E'+/\\n', '-_')")


def col(name: str) -> Scalar:
    return Scalar(f"{{t}}.{name}")


def cols(**names: str) -> dict[str, Field]:
    return {gql: col(sql) for gql, sql in names.items()}


_LATEST = "SELECT v.id FROM plan_version v WHERE v.plan_id = {p}.id"

TYPES: dict[str, SqlType] = {
    "Site": SqlType("site", {
        "id": global_id("Site"), **cols(code="code", name="name", kind="kind", version="version"),
        "closed": Scalar("({t}.closed_at IS NOT NULL)"),
    }),
    "Enrolment": SqlType("enrolment", {
        "id": global_id("Enrolment"),
        **cols(status="status", identifiedOn="identified_on", referredOn="referred_on", consentedOn="consented_on",
               exitedOn="exited_on", exitReason="exit_reason", version="version"),
        "site": One("Site", "site", "{c}.id = {p}.site_id"),
    }),
    "YoungAdult": SqlType("young_adult", {
        "id": global_id("YoungAdult"),
        **cols(givenName="given_name", familyName="family_name", dateOfBirth="date_of_birth",
               prisonNumber="prison_number", probationCrn="probation_crn", laReference="la_reference",
               careStatus="care_status", responsibleLocalAuthority="responsible_local_authority",
               entitlementEndAge="entitlement_end_age", entitlementEndDate="entitlement_end_date",
               accessRestricted="access_restricted", version="version"),
        "enrolments": Many("Enrolment", "enrolment", "{c}.young_adult_id = {p}.id",
                           "{c}.identified_on, {c}.created_at, {c}.id"),
        "plan": One("IntegratedPlan", "integrated_plan", "{c}.young_adult_id = {p}.id"),
        "networkMembers": Many("NetworkMember", "network_member", "{c}.young_adult_id = {p}.id",
                               "{c}.created_at, {c}.id"),
    }, audit="{t}.id"),
    "IntegratedPlan": SqlType("integrated_plan", {
        "id": global_id("IntegratedPlan"), "version": col("version"),
        # the open draft, else the latest (versions are numbered upwards)
        "currentVersion": One("PlanVersion", "plan_version",
                              f"{{c}}.id = ({_LATEST} ORDER BY v.status = 'DRAFT' DESC, v.number DESC LIMIT 1)"),
        "agreedVersion": One("PlanVersion", "plan_version",
                             f"{{c}}.id = ({_LATEST} AND v.status = 'AGREED' ORDER BY v.number DESC LIMIT 1)"),
        "versions": Many("PlanVersion", "plan_version", "{c}.plan_id = {p}.id", "{c}.number DESC"),
    }, audit="{t}.young_adult_id"),
    "PlanVersion": SqlType("plan_version", {
        "id": global_id("PlanVersion"), **cols(number="number", status="status", version="version"),
        "goals": Many("PlanGoal", "plan_goal", "{c}.plan_version_id = {p}.id", "{c}.position, {c}.created_at"),
    }, audit="(SELECT ip.young_adult_id FROM integrated_plan ip WHERE ip.id = {t}.plan_id)"),
    "PlanGoal": SqlType("plan_goal", {
        "id": global_id("PlanGoal"), "lineageId": Scalar("{t}.lineage_id::text"),
        **cols(pathway="pathway", description="description", position="position", version="version"),
        "actions": Many("PlanAction", "plan_action", "{c}.plan_goal_id = {p}.id", "{c}.position, {c}.created_at"),
    }),
    "PlanAction": SqlType("plan_action", {
        "id": global_id("PlanAction"), "lineageId": Scalar("{t}.lineage_id::text"),
        **cols(description="description", ownerService="owner_service", dueOn="due_on", status="status",
               position="position", version="version"),
    }),
    # Contact details are need-to-know and computed per caller: not mapped, so a document asking for them is
    # answered by the ordinary resolvers.
    "NetworkMember": SqlType("network_member", {
        "id": global_id("NetworkMember"),
        **cols(givenName="given_name", familyName="family_name", relationship="relationship",
               relationshipDetail="relationship_detail", knownBefore="known_before", status="status",
               vettingOutcome="vetting_outcome", privacyNoticeOn="privacy_notice_on", version="version"),
    }, audit="{t}.young_adult_id"),
}
