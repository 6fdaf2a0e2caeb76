"""Declarations (service/api/model.py) of the support network and the Lifelong Links case."""

from __future__ import annotations

from service.api.model import Consulted, TypeModel, cols, global_id

_ROW = Consulted("{t}.young_adult_id")

MODELS = (
    # Contact details are need-to-know: shown values are recorded as disclosed, and they have no SQL, so a
    # document asking for them is answered by the ordinary resolvers (which decide need-to-know per caller).
    TypeModel("NetworkMember", "network_member", {
        "id": global_id("NetworkMember"),
        **cols(givenName="given_name", familyName="family_name", relationship="relationship",
               relationshipDetail="relationship_detail", knownBefore="known_before", status="status",
               vettingOutcome="vetting_outcome", privacyNoticeOn="privacy_notice_on", version="version"),
    }, consulted=_ROW, disclosed=("phone", "email", "address")),
    TypeModel("NetworkCommitment", consulted=_ROW),
    TypeModel("LifelongLinksCase", consulted=_ROW),
    TypeModel("NetworkMeeting", consulted=_ROW),
    TypeModel("NetworkMeasures", consulted=Consulted("{t}.young_adult_id", subject_attr="young_adult_id")),
)
