"""Declaration (service/api/model.py) of consent records: part of the young adult's record, audited as consulted.
Its fields have no SQL yet, so documents selecting them are answered by the ordinary resolvers."""

from __future__ import annotations

from service.api.model import Consulted, TypeModel

CONSENT = TypeModel("Consent", consulted=Consulted("{t}.young_adult_id"))

MODELS = (CONSENT,)
