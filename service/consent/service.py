"""Business rules for consent: who it is from (the young adult, or one of their network members), for what purpose
(sharing names the organisation), granted and withdrawn with dates. Withdrawing ends a consent; nothing is deleted,
so the record shows when it was given and when it was taken back. A purpose has at most one live grant per person
(and organisation); after a withdrawal a new grant is a new record.
"""

from __future__ import annotations

import uuid
from datetime import date

import asyncpg

from service.consent import repository
from service.kernel.audit import AuditAction, AuditEvent
from service.kernel.audit import write as audit
from service.kernel.errors import Conflict, InvalidInput, NotFound, StaleVersion
from service.kernel.principal import Principal
from service.kernel.session import TenantSession
from service.people.service import check_date, clean_text, scope_for, visible_young_adult

PURPOSES = ("PARTICIPATION", "CONTACT", "SHARING", "AGGREGATE_REPORTING")


async def record(session: TenantSession, principal: Principal, request_id: str, young_adult_id: uuid.UUID | None,
                 member_id: uuid.UUID | None, member_given: bool, purpose: str, organisation: str | None,
                 granted_on: date, today: date) -> asyncpg.Record:
    scope = await scope_for(session, principal)
    young_adult_id = await visible_young_adult(session, scope, young_adult_id)
    if member_given and (member_id is None or await repository.member_of(session, member_id) != young_adult_id):
        raise NotFound("No such network member of this young adult.", field="networkMemberId")
    if purpose not in PURPOSES:
        raise InvalidInput(f"purpose must be one of {', '.join(PURPOSES)}.", field="purpose")
    organisation = clean_text(organisation, "organisation", 200)
    if purpose == "SHARING" and organisation is None:
        raise InvalidInput("Consent to sharing names the organisation it is shared with.", field="organisation")
    if purpose != "SHARING" and organisation is not None:
        raise InvalidInput("Only consent to sharing names an organisation.", field="organisation")
    check_date(granted_on, "grantedOn", today)
    if await repository.active_exists(session, young_adult_id, member_id, purpose, organisation):
        raise Conflict("This consent is already given and not withdrawn.", field="purpose")
    row = await repository.insert(session, young_adult_id, member_id, purpose, organisation, granted_on,
                                  principal.subject)
    await audit(session, principal, request_id, [AuditEvent(
        AuditAction.CREATE, "Consent", row["id"], young_adult_id,
        ("granted_on", "purpose") + (("organisation",) if organisation else ()))])
    return row


async def withdraw(session: TenantSession, principal: Principal, request_id: str, consent_id: uuid.UUID | None,
                   version: int, withdrawn_on: date, today: date) -> asyncpg.Record:
    scope = await scope_for(session, principal)
    rows = [] if consent_id is None else await repository.consents_by_id(session, [consent_id], scope)
    if not rows:
        raise NotFound("No such consent.", field="id")
    if rows[0]["withdrawn_on"] is not None:
        raise Conflict("This consent is already withdrawn.", field="id")
    check_date(withdrawn_on, "withdrawnOn", today, rows[0]["granted_on"], "it was granted")
    row = await repository.withdraw(session, rows[0]["id"], version, withdrawn_on)
    if row is None:
        raise StaleVersion("This record was changed by someone else since you read it; reload it and try again.",
                           field="version")
    await audit(session, principal, request_id, [AuditEvent(
        AuditAction.ALTER, "Consent", row["id"], row["young_adult_id"], ("withdrawn_on",))])
    return row

