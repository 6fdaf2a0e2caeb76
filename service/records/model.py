"""Declarations (service/api/model.py) of a young adult's record: the young adult, enrolments, the team."""

from __future__ import annotations

from service.api.model import Consulted, Many, One, TypeModel, cols, global_id

MODELS = (
    TypeModel("YoungAdult", "young_adult", {
        "id": global_id("YoungAdult"),
        **cols(givenName="given_name", familyName="family_name", dateOfBirth="date_of_birth",
               prisonNumber="prison_number", probationCrn="probation_crn", laReference="la_reference",
               careStatus="care_status", responsibleLocalAuthority="responsible_local_authority",
               entitlementEndAge="entitlement_end_age", entitlementEndDate="entitlement_end_date",
               accessRestricted="access_restricted", version="version"),
        "enrolments": Many("Enrolment", "{c}.young_adult_id = {p}.id", "{c}.identified_on, {c}.created_at, {c}.id"),
        "plan": One("IntegratedPlan", "{c}.young_adult_id = {p}.id"),
        "networkMembers": Many("NetworkMember", "{c}.young_adult_id = {p}.id", "{c}.created_at, {c}.id"),
    }, consulted=Consulted("{t}.id", young_adult_attr="raw_id"), consulted_fields={"timeline": "Timeline"}),
    TypeModel("Enrolment", "enrolment", {
        "id": global_id("Enrolment"),
        **cols(status="status", identifiedOn="identified_on", referredOn="referred_on", consentedOn="consented_on",
               exitedOn="exited_on", exitReason="exit_reason", version="version"),
        "site": One("Site", "{c}.id = {p}.site_id"),
    }, consulted=Consulted("{t}.young_adult_id")),
    TypeModel("TeamMember", consulted=Consulted("{t}.young_adult_id")),
)
