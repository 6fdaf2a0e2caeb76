"""Declarations (service/api/model.py) of the support network and the Lifelong Links case.

Every row belongs to one young adult (a commitment through its member), which is what its visibility and its
audit follow.
"""

from __future__ import annotations

from service.api.model import Consulted, TypeModel, cols, global_id

_ROW = Consulted("{t}.young_adult_id")

MEMBER = TypeModel("NetworkMember", "network_member", {
    "id": global_id("NetworkMember"),
    **cols(givenName="given_name", familyName="family_name", relationship="relationship",
           relationshipDetail="relationship_detail", knownBefore="known_before", status="status",
           vettingOutcome="vetting_outcome", privacyNoticeOn="privacy_notice_on", version="version"),
}, consulted=_ROW, disclosed=("phone", "email", "address"))
COMMITMENT = TypeModel("NetworkCommitment", consulted=Consulted(
    "(SELECT nc_m.young_adult_id FROM network_member nc_m WHERE nc_m.id = {t}.member_id)"))
MEETING = TypeModel("NetworkMeeting", consulted=_ROW)
# Only Lifelong Links meetings are network meetings (the rest are the meetings feature's).
MEETING_KIND = "{t}.kind = 'LIFELONG_LINKS'"
CASE = TypeModel("LifelongLinksCase", consulted=_ROW)
# A young adult's case: the open one, else the latest referred.
CURRENT_CASE_ORDER = "{t}.stage = 'CLOSED', {t}.referred_on DESC, {t}.created_at DESC"

MODELS = (
    MEMBER, COMMITMENT, MEETING, CASE,
    TypeModel("NetworkMeasures", consulted=Consulted("{t}.young_adult_id", subject_attr="young_adult_id")),
)
