"""Declaration (service/api/model.py) of consent records: part of the young adult's record, audited as consulted.
A consent's network member is not tied to the consent's young adult by the database, so that relation is
``leaves_record`` (the member is shown only where the caller sees the member's own young adult)."""

from __future__ import annotations

from service.api.model import Consulted, One, Scalar, TypeModel, cols, global_id

# How consents are listed, wherever they are (over the row's alias {t}): both executors read it.
CONSENT_ORDER = "{t}.granted_on, {t}.created_at, {t}.id"

CONSENT = TypeModel("Consent", "consent", {
    "id": global_id("Consent"),
    **cols(purpose="purpose", organisation="organisation", grantedOn="granted_on", withdrawnOn="withdrawn_on",
           version="version"),
    "active": Scalar("({t}.withdrawn_on IS NULL)"),
    "networkMember": One("NetworkMember", "{c}.id = {p}.network_member_id", leaves_record=True),
}, consulted=Consulted("{t}.young_adult_id"))

MODELS = (CONSENT,)
