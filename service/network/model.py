"""Declarations (service/api/model.py) of the support network and the Lifelong Links case.

Every row belongs to one young adult (a commitment through its member), which is what its visibility and its
audit follow. A meeting's attendees and a member's consents are not tied to the parent's young adult by the
database, so those relations are ``leaves_record``: each row shown is checked on its own.
"""

from __future__ import annotations

from service.api.model import Consulted, Many, NeedToKnow, One, Scalar, TypeModel, cols, global_id
from service.consent.model import CONSENT_ORDER
from service.people.repository import contact_consent

# How each list is ordered, wherever it is (over the row's alias {t}): the repositories, the declarations and the
# compiled roots read these, so the two executors cannot list ties differently.
MEMBER_ORDER = "{t}.created_at, {t}.id"
COMMITMENT_ORDER = "{t}.created_at, {t}.id"
NETWORK_MEETING_ORDER = "{t}.held_on, {t}.id"

_ROW = Consulted("{t}.young_adult_id")

# A member's contact details are need-to-know: shown to the coordinator of the member's open case and to the young
# adult's current personal adviser, and to nobody once the member has withdrawn consent to be contacted.
CONTACT = NeedToKnow(
    who="({me} IS NOT NULL AND (EXISTS (SELECT 1 FROM lifelong_links_case ntk_c WHERE ntk_c.id = {t}.case_id "
        "AND ntk_c.coordinator_id = {me} AND ntk_c.stage <> 'CLOSED') OR EXISTS (SELECT 1 FROM team_member ntk_t "
        "WHERE ntk_t.young_adult_id = {t}.young_adult_id AND ntk_t.practitioner_id = {me} "
        "AND ntk_t.team_role = 'PERSONAL_ADVISER' AND ntk_t.ended_on IS NULL)))",
    when=f"{contact_consent('{t}')} <> 'WITHDRAWN'",
    fields={"phone": "phone", "email": "email", "address": "address"})
_ATTENDED = "SELECT a.{column} FROM meeting_attendee a WHERE a.meeting_id = {{p}}.id"
_ATTENDEE_ORDER = "(SELECT a.id FROM meeting_attendee a WHERE a.meeting_id = {{p}}.id AND a.{column} = {{c}}.id)"

MEMBER = TypeModel("NetworkMember", "network_member", {
    "id": global_id("NetworkMember"),
    **cols(givenName="given_name", familyName="family_name", relationship="relationship",
           relationshipDetail="relationship_detail", knownBefore="known_before", status="status",
           vettingOutcome="vetting_outcome", privacyNoticeOn="privacy_notice_on", version="version"),
    "identifiedOn": Scalar("(SELECT min(s.changed_on) FROM network_member_status_change s WHERE s.member_id = {t}.id "
                           "AND s.status = 'IDENTIFIED')"),
    "contactConsent": Scalar(contact_consent("{t}")),
    "contactDetailsVisible": Scalar(CONTACT.shown),
    "statusHistory": Many("MemberStatusChange", "{c}.member_id = {p}.id", "{c}.changed_on, {c}.created_at"),
    "vettingSignoffs": Many("VettingSignoff", "{c}.member_id = {p}.id", "{c}.signed_on, {c}.service"),
    "contactConsents": Many("Consent", "{c}.network_member_id = {p}.id AND {c}.purpose = 'CONTACT'",
                            CONSENT_ORDER.format(t="{c}"), leaves_record=True),
    "commitments": Many("NetworkCommitment", "{c}.member_id = {p}.id", COMMITMENT_ORDER.format(t="{c}")),
}, consulted=_ROW, need_to_know=CONTACT)

COMMITMENT = TypeModel("NetworkCommitment", "network_commitment", {
    "id": global_id("NetworkCommitment"),
    "goalLineageId": Scalar("{t}.goal_lineage_id::text"), "actionLineageId": Scalar("{t}.action_lineage_id::text"),
    **cols(description="description", startsOn="starts_on", endsOn="ends_on", status="status", version="version"),
    "member": One("NetworkMember", "{c}.id = {p}.member_id"),
}, consulted=Consulted("(SELECT nc_m.young_adult_id FROM network_member nc_m WHERE nc_m.id = {t}.member_id)"))

MEETING = TypeModel("NetworkMeeting", "meeting", {
    "id": global_id("NetworkMeeting"), **cols(heldOn="held_on", outcome="outcome", version="version"),
    "practitioners": Many("Practitioner", f"{{c}}.id IN ({_ATTENDED.format(column='practitioner_id')})",
                          _ATTENDEE_ORDER.format(column="practitioner_id")),
    "members": Many("NetworkMember", f"{{c}}.id IN ({_ATTENDED.format(column='network_member_id')})",
                    _ATTENDEE_ORDER.format(column="network_member_id"), leaves_record=True),
}, consulted=_ROW)
# Only Lifelong Links meetings are network meetings (the rest are the meetings feature's).
MEETING_KIND = "{t}.kind = 'LIFELONG_LINKS'"

CASE = TypeModel("LifelongLinksCase", "lifelong_links_case", {
    "id": global_id("LifelongLinksCase"), **cols(stage="stage", referredOn="referred_on", version="version"),
    "connectionScoreStart": Scalar("{t}.connection_score_start::float8"),
    "connectionScoreFollowUp": Scalar("{t}.connection_score_follow_up::float8"),
    "youngAdult": One("YoungAdult", "{c}.id = {p}.young_adult_id"),
    "coordinator": One("Practitioner", "{c}.id = {p}.coordinator_id"),
    "stages": Many("StageDate", "{c}.case_id = {p}.id", "{c}.entered_on, {c}.created_at"),
    "objectives": Many("LifelongLinksObjective", "{c}.case_id = {p}.id", "{c}.created_at, {c}.id"),
    "members": Many("NetworkMember", "{c}.case_id = {p}.id", MEMBER_ORDER.format(t="{c}")),
}, consulted=_ROW)
# A young adult's case: the open one, else the latest referred.
CURRENT_CASE_ORDER = "{t}.stage = 'CLOSED', {t}.referred_on DESC, {t}.created_at DESC"

MODELS = (
    MEMBER, COMMITMENT, MEETING, CASE,
    TypeModel("MemberStatusChange", "network_member_status_change", cols(status="status", changedOn="changed_on")),
    TypeModel("VettingSignoff", "vetting_signoff", {
        **cols(service="service", outcome="outcome", signedOn="signed_on"),
        "signedBy": One("Practitioner", "{c}.id = {p}.practitioner_id"),
    }),
    TypeModel("StageDate", "lifelong_links_stage_change", cols(stage="stage", enteredOn="entered_on")),
    TypeModel("LifelongLinksObjective", "lifelong_links_objective", {
        "id": global_id("LifelongLinksObjective"),
        **cols(description="description", met="met", assessedOn="assessed_on", version="version"),
    }),
    TypeModel("NetworkMeasures", consulted=Consulted("{t}.young_adult_id", subject_attr="young_adult_id")),
)
