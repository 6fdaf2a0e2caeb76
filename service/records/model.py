"""Declarations (service/api/model.py) of a young adult's record: the young adult, enrolments and their history, the
team, the timeline."""

from __future__ import annotations

from service.api.model import Consulted, Many, One, Scalar, TypeModel, cols, global_id
from service.api.relay import global_id_sql_of
from service.assessments.repository import ASSESSMENT_ORDER
from service.custody.repository import EPISODE_ORDER
from service.meetings.repository import MEETING_ORDER
from service.network.model import MEMBER_ORDER
from service.records.repository import STATUS_CHANGE_ORDER, TEAM_ORDER, TIMELINE, TIMELINE_ORDER

MODELS = (
    TypeModel("YoungAdult", "young_adult", {
        "id": global_id("YoungAdult"),
        **cols(givenName="given_name", familyName="family_name", dateOfBirth="date_of_birth",
               prisonNumber="prison_number", probationCrn="probation_crn", laReference="la_reference",
               careStatus="care_status", responsibleLocalAuthority="responsible_local_authority",
               entitlementEndAge="entitlement_end_age", entitlementEndDate="entitlement_end_date",
               accessRestricted="access_restricted", version="version"),
        "enrolments": Many("Enrolment", "{c}.young_adult_id = {p}.id", "{c}.identified_on, {c}.created_at, {c}.id"),
        # `team` without arguments: its default, current members only
        "team": Many("TeamMember", "{c}.young_adult_id = {p}.id AND {c}.ended_on IS NULL",
                     TEAM_ORDER.format(t="{c}")),
        "custodyEpisodes": Many("CustodyEpisode", "{c}.young_adult_id = {p}.id",
                                EPISODE_ORDER.format(t="{c}")),
        # the most recent episode: the first in the order custodyEpisodes lists them (as the resolver takes it)
        "currentCustody": One("CustodyEpisode", "{c}.young_adult_id = {p}.id", order=EPISODE_ORDER.format(t="{c}")),
        "assessments": Many("Assessment", "{c}.young_adult_id = {p}.id", ASSESSMENT_ORDER.format(t="{c}")),
        "plan": One("IntegratedPlan", "{c}.young_adult_id = {p}.id"),
        "meetings": Many("Meeting", "{c}.young_adult_id = {p}.id", MEETING_ORDER.format(t="{c}")),
        "networkMembers": Many("NetworkMember", "{c}.young_adult_id = {p}.id", MEMBER_ORDER.format(t="{c}")),
        "timeline": Many("TimelineEntry", "{c}.young_adult_id = {p}.id", TIMELINE_ORDER.format(t="{c}")),
    }, consulted=Consulted("{t}.id", young_adult_attr="raw_id"), consulted_fields={"timeline": "Timeline"}),
    TypeModel("Enrolment", "enrolment", {
        "id": global_id("Enrolment"),
        **cols(status="status", identifiedOn="identified_on", referredOn="referred_on", consentedOn="consented_on",
               exitedOn="exited_on", exitReason="exit_reason", version="version"),
        "site": One("Site", "{c}.id = {p}.site_id"),
        "statusHistory": Many("EnrolmentStatusChange", "{c}.enrolment_id = {p}.id",
                              STATUS_CHANGE_ORDER.format(t="{c}")),
    }, consulted=Consulted("{t}.young_adult_id")),
    TypeModel("EnrolmentStatusChange", "enrolment_status_change",
              cols(status="status", changedOn="changed_on", reason="reason")),
    TypeModel("TeamMember", "team_member", {
        "id": global_id("TeamMember"),
        **cols(role="team_role", startedOn="started_on", endedOn="ended_on", version="version"),
        "practitioner": One("Practitioner", "{c}.id = {p}.practitioner_id"),
    }, consulted=Consulted("{t}.young_adult_id")),
    TypeModel("TimelineEntry", TIMELINE, {
        **cols(occurredOn="occurred_on", kind="kind", detail="detail"),
        "subjectId": Scalar(global_id_sql_of("{t}.subject_type", "{t}.subject_id")),
    }),
)
