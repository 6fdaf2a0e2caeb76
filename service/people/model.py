"""Declarations (service/api/model.py) of the people types both executors read."""

from __future__ import annotations

from service.api.model import Many, Scalar, TypeModel, cols, global_id

MODELS = (
    TypeModel("Site", "site", {
        "id": global_id("Site"), **cols(code="code", name="name", kind="kind", version="version"),
        "closed": Scalar("({t}.closed_at IS NOT NULL)"),
        "practitioners": Many("Practitioner", "{c}.id IN (SELECT ps.practitioner_id FROM practitioner_site ps "
                              "WHERE ps.site_id = {p}.id)", "{c}.family_name, {c}.given_name, {c}.id"),
    }),
    TypeModel("Practitioner", "practitioner", {
        "id": global_id("Practitioner"),
        **cols(givenName="given_name", familyName="family_name", service="service", role="role"),
    }),
)
