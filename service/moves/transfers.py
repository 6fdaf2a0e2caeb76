"""Transfers between tenants, as the two sides' users see them: request, withdraw, accept, decline, and the list.

The request lives in the control plane (``control.tenant_transfer``); no tenant's data changes until the receiving
side accepts, and then only through the hand-off job (service/moves/handoff.py). Each side sees its own transfers:
the sending tenant those it requested, the receiving tenant those addressed to it. Another tenant's transfer id
answers exactly like a missing one.
"""

from __future__ import annotations

import uuid
from datetime import date

import asyncpg

from service.consent import repository as consent_repository
from service.kernel.audit import AuditAction, AuditEvent
from service.kernel.errors import AccessDenied, Conflict, InvalidInput, NotFound, StaleVersion
from service.kernel.principal import Principal, Role
from service.kernel.session import Statements
from service.kernel.tenancy import Tenant
from service.kernel.visibility import Actor
from service.moves import repository
from service.people import repository as people_repository
from service.people.service import require_young_adult, text
from service.tenant_admin.repository import site_by_code
from tenants.registry import tenant_by_slug

DECIDERS = (Role.TENANT_ADMIN, Role.SITE_MANAGER)


def _tenant(principal: Principal) -> Tenant:
    if principal.tenant is None:
        raise AccessDenied("Transfers are made by users of a tenant.")
    return principal.tenant


async def request(actor: Actor, control: Statements, young_adult_id: uuid.UUID | None, to_slug: str,
                  consented_on: date, note: str | None, today: date) -> asyncpg.Record:
    """The sending side asks another tenant to take the young adult on, with the young adult's consent to the move
    (recorded in the sending tenant as a SHARING consent naming the receiving tenant)."""
    sending = _tenant(actor.principal)
    young_adult_id = await require_young_adult(actor, young_adult_id)
    receiving = await tenant_by_slug(control, to_slug)
    if receiving is None or receiving.status != "ACTIVE" or receiving.id == sending.id:
        raise NotFound("No such tenant to transfer to.", field="toTenant")
    if consented_on > today:
        raise InvalidInput("consentedOn must not be in the future.", field="consentedOn")
    note = text(note, "note", 1000)
    if not await consent_repository.active_exists(actor.session, young_adult_id, None, "SHARING", receiving.name):
        consent = await consent_repository.insert(actor.session, young_adult_id, None, "SHARING", receiving.name,
                                                  consented_on, actor.principal.subject)
        await actor.audit([AuditEvent(AuditAction.CREATE, "Consent", consent["id"], young_adult_id,
                                      ("granted_on", "organisation", "purpose"))])
    try:
        row = await repository.insert_transfer(control, sending.id, receiving.id, young_adult_id, consented_on, note,
                                               actor.principal.subject)
    except asyncpg.UniqueViolationError:
        raise Conflict("This young adult already has an open transfer request; withdraw it first.",
                       field="youngAdultId") from None
    await actor.audit([AuditEvent(AuditAction.CREATE, "TenantTransfer", row["id"], young_adult_id,
                                  ("consented_on", "note", "to_tenant"))])
    return row


async def by_id(control: Statements, principal: Principal, transfer_id: uuid.UUID | None) -> asyncpg.Record:
    """A transfer either side of which is the caller's tenant; otherwise NotFound, as for a missing id."""
    tenant = _tenant(principal)
    row = None if transfer_id is None else await repository.transfer_by_id(control, transfer_id, tenant.id)
    if row is None:
        raise NotFound("No such transfer.", field="id")
    return row


async def of_tenant(actor: Actor, control: Statements, incoming: bool) -> list[asyncpg.Record]:
    """The tenant's transfers one way. Incoming ones are for those who decide them (tenant administrators and site
    managers); outgoing ones only for young adults the caller may see."""
    tenant = _tenant(actor.principal)
    if incoming and actor.principal.role not in DECIDERS:
        return []
    rows = await repository.transfers_of(control, tenant.id, incoming)
    if incoming or not rows:
        return rows
    seen = await people_repository.visible_young_adult_ids(actor.session, [r["young_adult_id"] for r in rows],
                                                           actor.scope)
    return [r for r in rows if r["young_adult_id"] in seen]


async def _decide(control: Statements, row: asyncpg.Record, version: int, state: str, subject: str,
                  site_code: str | None, reason: str | None) -> asyncpg.Record:
    updated = await repository.decide_transfer(control, row["id"], version, state, subject, site_code, reason)
    if updated is None:
        raise StaleVersion("The transfer was changed since you read it; reload it and try again.",
                           field="version")
    return updated


def _waiting(row: asyncpg.Record) -> None:
    if row["state"] != "REQUESTED":
        raise InvalidInput(f"The transfer is {row['state']}; only a REQUESTED transfer can be decided or withdrawn.",
                           field="id")


async def withdraw(actor: Actor, control: Statements, transfer_id: uuid.UUID | None, version: int,
                   ) -> asyncpg.Record:
    """The sending side takes a request back before the receiving side accepts it."""
    row = await by_id(control, actor.principal, transfer_id)
    if row["from_tenant_id"] != _tenant(actor.principal).id:
        raise NotFound("No such transfer.", field="id")
    await require_young_adult(actor, row["young_adult_id"], "id")
    _waiting(row)
    updated = await _decide(control, row, version, "WITHDRAWN", actor.principal.subject, None, None)
    await actor.audit([AuditEvent(AuditAction.ALTER, "TenantTransfer", row["id"], row["young_adult_id"],
                                  ("state",))])
    return updated


async def decide(actor: Actor, control: Statements, transfer_id: uuid.UUID | None, version: int, accept: bool,
                 site_code: str | None, reason: str | None) -> asyncpg.Record:
    """The receiving side accepts (choosing the site that takes the young adult on) or declines (with a reason).
    Tenant administrators decide for any site, site managers for their own sites."""
    principal = actor.principal
    if principal.role not in DECIDERS:
        raise AccessDenied("Only a tenant administrator or a site manager of the receiving tenant decides.")
    row = await by_id(control, principal, transfer_id)
    if row["to_tenant_id"] != _tenant(principal).id:
        raise NotFound("No such transfer.", field="id")
    _waiting(row)
    if not accept:
        reason = text(reason, "reason", 1000, required=True)
        updated = await _decide(control, row, version, "DECLINED", principal.subject, None, reason)
    else:
        site = await site_by_code(actor.session, (site_code or "").upper())
        if site is None or (principal.role is Role.SITE_MANAGER and site["code"] not in principal.site_codes):
            raise NotFound("No such site.", field="siteCode")
        if site["closed_at"] is not None:
            raise InvalidInput("That site is closed and takes no new work.", field="siteCode")
        updated = await _decide(control, row, version, "ACCEPTED", principal.subject, site["code"], None)
    await actor.audit([AuditEvent(AuditAction.ALTER, "TenantTransfer", row["id"], None,
                                  ("state",) + (("to_site_code",) if accept else ("decline_reason",)))])
    return updated
