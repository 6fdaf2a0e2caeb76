"""Business rules for young adults: who may see them, what a valid record is, optimistic concurrency."""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from datetime import date
from typing import Any

import asyncpg

from service.api.session import TenantSession
from service.audit.trail import AuditAction, AuditEvent
from service.audit.trail import write as audit
from service.auth import Principal, Role
from service.errors import AccessDenied, Conflict, InvalidInput, NotFound, StaleVersion
from service.people import repository

CARE_STATUSES = ("ELIGIBLE", "RELEVANT", "FORMER_RELEVANT", "QUALIFYING", "OTHER_CARE_EXPERIENCED")
PRISON_NUMBER = re.compile(r"^[A-Z]\d{4}[A-Z]{2}$")  # e.g. A1234BC
PROBATION_CRN = re.compile(r"^[A-Z]\d{6}$")  # e.g. X123456
CASE_ROLES = (Role.PRACTITIONER, Role.SITE_MANAGER, Role.TENANT_ADMIN)


@dataclass(frozen=True, slots=True)
class Scope:
    """What part of the tenant a principal sees: ``site_ids`` None means the whole tenant."""

    site_ids: tuple[uuid.UUID, ...] | None

    def covers(self, site_id: uuid.UUID) -> bool:
        return self.site_ids is None or site_id in self.site_ids


async def scope_for(session: TenantSession, principal: Principal) -> Scope:
    if principal.role not in CASE_ROLES:
        raise AccessDenied("Your role sees no case data.")
    if principal.role is Role.TENANT_ADMIN:
        return Scope(None)
    return Scope(tuple(await repository.site_ids_for_codes(session, sorted(principal.site_codes))))


def _api_name(field: str) -> str:
    """Messages name fields as the API does (camelCase), since that is what the caller sent."""
    head, *rest = field.split("_")
    return head + "".join(part.title() for part in rest)


def _text(value: str | None, field: str, max_length: int = 100, required: bool = False) -> str | None:
    if value is None:
        if required:
            raise InvalidInput(f"{_api_name(field)} is required.", field=field)
        return None
    value = value.strip()
    if required and not value:
        raise InvalidInput(f"{_api_name(field)} must not be empty.", field=field)
    if len(value) > max_length:
        raise InvalidInput(f"{_api_name(field)} must be at most {max_length} characters.", field=field)
    return value or None


def validate_fields(fields: dict[str, Any], *, creating: bool, today: date) -> dict[str, Any]:
    """Normalise and check young-adult fields; messages name the field and the rule, never the value."""
    out: dict[str, Any] = {}
    for name in ("given_name", "family_name"):
        if name in fields or creating:
            out[name] = _text(fields.get(name), name, required=True)
    if "date_of_birth" in fields or creating:
        dob = fields.get("date_of_birth")
        if dob is None:
            raise InvalidInput("dateOfBirth is required.", field="date_of_birth")
        if dob >= today or dob.year < today.year - 120:
            raise InvalidInput("dateOfBirth must be a past date within a lifetime.", field="date_of_birth")
        out["date_of_birth"] = dob
    if "care_status" in fields or creating:
        if fields.get("care_status") not in CARE_STATUSES:
            raise InvalidInput(f"careStatus must be one of {', '.join(CARE_STATUSES)}.", field="care_status")
        out["care_status"] = fields["care_status"]
    for name, pattern, example in (("prison_number", PRISON_NUMBER, "A1234BC"),
                                   ("probation_crn", PROBATION_CRN, "X123456")):
        if name in fields:
            value = _text(fields[name], name, 20)
            if value is not None:
                value = value.upper()
                if not pattern.fullmatch(value):
                    raise InvalidInput(f"{_api_name(name)} must look like {example}.", field=name)
            out[name] = value
    for name in ("la_reference", "responsible_local_authority"):
        if name in fields:
            out[name] = _text(fields[name], name, 100)
    if "entitlement_end_age" in fields:
        if fields["entitlement_end_age"] not in (21, 25):
            raise InvalidInput("entitlementEndAge must be 21 or 25.", field="entitlement_end_age")
        out["entitlement_end_age"] = fields["entitlement_end_age"]
    return out


async def create_young_adult(session: TenantSession, principal: Principal, request_id: str,
                             site_id: uuid.UUID | None, fields: dict[str, Any], today: date) -> asyncpg.Record:
    scope = await scope_for(session, principal)
    if site_id is None or not scope.covers(site_id) or not await repository.sites_by_id(session, [site_id]):
        raise NotFound("No such site.", field="siteId")
    values = validate_fields(fields, creating=True, today=today)
    try:
        row = await repository.insert_young_adult(session, values)
    except asyncpg.UniqueViolationError:
        raise Conflict("Another young adult already has this prison number.", field="prisonNumber") from None
    await repository.insert_enrolment(session, row["id"], site_id, today)
    await audit(session, principal, request_id,
                [AuditEvent(AuditAction.CREATE, "YoungAdult", row["id"], row["id"],
                            tuple(sorted(k for k, v in values.items() if v is not None)))])
    return row


async def update_young_adult(session: TenantSession, principal: Principal, request_id: str,
                             young_adult_id: uuid.UUID | None, version: int, fields: dict[str, Any], today: date,
                             ) -> asyncpg.Record:
    scope = await scope_for(session, principal)
    if young_adult_id is None or not await repository.young_adults_by_id(session, [young_adult_id], scope.site_ids):
        raise NotFound("No such young adult.", field="id")
    changes = validate_fields(fields, creating=False, today=today)
    if not changes:
        raise InvalidInput("Nothing to change: give at least one field.")
    try:
        row = await repository.update_young_adult(session, young_adult_id, version, changes)
    except asyncpg.UniqueViolationError:
        raise Conflict("Another young adult already has this prison number.", field="prisonNumber") from None
    if row is None:
        raise StaleVersion("This record was changed by someone else since you read it; reload it and try again.",
                           field="version")
    await audit(session, principal, request_id,
                [AuditEvent(AuditAction.ALTER, "YoungAdult", young_adult_id, young_adult_id, tuple(sorted(changes)))])
    return row
