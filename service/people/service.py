"""Business rules for people: the caller's scope, the visibility check every record mutation makes, practitioners."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Any

import asyncpg

from service.kernel.audit import AuditAction, AuditEvent
from service.kernel.domain import values
from service.kernel.errors import AccessDenied, Checks, Conflict, InvalidInput, NotFound, prerequisite
from service.kernel.principal import Principal, Role, Service
from service.kernel.session import TenantSession
from service.kernel.visibility import Actor, Scope
from service.people import repository
from tenants.lifecycle import Outcome

CASE_ROLES = (Role.PRACTITIONER, Role.SITE_MANAGER, Role.TENANT_ADMIN)
SERVICES = values(Service)
PRACTITIONER_ROLES = ("POM", "KEY_WORKER", "COM", "PERSONAL_ADVISER", "LIFELONG_LINKS_COORDINATOR", "MANAGER")


def scope_arguments(principal: Principal) -> tuple[list[str] | None, str]:
    """What the caller's scope is worked out from (repository.scope_select): the codes of their sites (None: the
    whole tenant, for tenant administrators) and their subject. Roles without case data are refused here."""
    if principal.role not in CASE_ROLES:
        raise AccessDenied("Your role sees no case data.")
    return (None if principal.role is Role.TENANT_ADMIN else sorted(principal.site_codes)), principal.subject


async def scope_for(session: TenantSession, principal: Principal) -> Scope:
    """The caller's scope (see :mod:`service.kernel.visibility`); roles without case data are refused here."""
    row = await repository.scope_row(session, *scope_arguments(principal))
    sites = row["site_ids"]
    return Scope(None if sites is None else tuple(sites), row["practitioner_id"])


async def require_young_adult(actor: Actor, young_adult_id: uuid.UUID | None, field: str = "youngAdultId",
                              ) -> uuid.UUID:
    """The young adult's id if the actor may see them; otherwise NotFound, exactly as for a missing id."""
    if young_adult_id is None or not await repository.visible_young_adult_ids(actor.session, [young_adult_id],
                                                                               actor.scope):
        raise NotFound("No such young adult.", field=field)
    return young_adult_id


def api_name(field: str) -> str:
    """Messages name fields as the API does (camelCase), since that is what the caller sent."""
    head, *rest = field.split("_")
    return head + "".join(part.title() for part in rest)


def text(value: str | None, field: str, max_length: int = 100, required: bool = False) -> str | None:
    """Trimmed text within a length; the message names the field and the rule, never the value."""
    if value is None:
        if required:
            raise InvalidInput(f"{api_name(field)} is required.", field=field)
        return None
    value = value.strip()
    if required and not value:
        raise InvalidInput(f"{api_name(field)} must not be empty.", field=field)
    if len(value) > max_length:
        raise InvalidInput(f"{api_name(field)} must be at most {max_length} characters.", field=field)
    return value or None


async def create_practitioner(actor: Actor, fields: dict[str, Any], site_ids: list[uuid.UUID | None],
                              ) -> uuid.UUID:
    """A practitioner record (tenant administrators anywhere, site managers at their own sites). ``subject`` links
    it to a login so that the person's team memberships count towards what they see."""
    if actor.principal.role not in (Role.TENANT_ADMIN, Role.SITE_MANAGER):
        raise AccessDenied("Only tenant administrators and site managers add practitioners.")
    known = {r["id"] for r in await repository.sites_by_id(actor.session, [s for s in site_ids if s is not None])}
    if any(s is None or s not in known or not actor.scope.covers(s) for s in site_ids):
        raise NotFound("No such site.", field="siteIds")
    if fields["service"] not in SERVICES:
        raise InvalidInput(f"service must be one of {', '.join(SERVICES)}.", field="service")
    if fields["role"] not in PRACTITIONER_ROLES:
        raise InvalidInput(f"role must be one of {', '.join(PRACTITIONER_ROLES)}.", field="role")
    given = text(fields["given_name"], "givenName", required=True)
    family = text(fields["family_name"], "familyName", required=True)
    subject = text(fields.get("subject"), "subject", 200)
    assert given is not None
    assert family is not None
    try:
        practitioner_id = await repository.insert_practitioner(
            actor.session, subject, given, family, fields["service"], fields["role"],
            [s for s in site_ids if s is not None])
    except asyncpg.UniqueViolationError:
        raise Conflict("Another practitioner is already linked to this login.", field="subject") from None
    await actor.audit([AuditEvent(AuditAction.CREATE, "Practitioner", practitioner_id, None,
                                  ("family_name", "given_name", "role", "service", "site_ids"))])
    return practitioner_id


def check_date(value: date, field: str, today: date, not_before: date | None = None, what: str = "") -> date:
    if value > today:
        raise InvalidInput(f"{field} cannot be in the future.", field=field)
    if not_before is not None and value < not_before:
        raise InvalidInput(f"{field} cannot be before {what}.", field=field)
    return value


def clean_text(value: str | None, field: str, max_length: int, required: bool = False) -> str | None:
    value = None if value is None else value.strip()
    if not value:
        if required:
            raise InvalidInput(f"{field} must not be empty.", field=field)
        return None
    if len(value) > max_length:
        raise InvalidInput(f"{field} must be at most {max_length} characters.", field=field)
    return value


async def visible_young_adult(session: TenantSession, scope: Scope, young_adult_id: uuid.UUID | None,
                              field: str = "youngAdultId") -> uuid.UUID:
    if young_adult_id is None or not await repository.visible_young_adult_ids(
            session, [young_adult_id], scope):
        raise NotFound("No such young adult.", field=field)
    return young_adult_id


async def ensure_practitioner(actor: Actor, subject: str, fields: dict[str, Any], site_ids: list[uuid.UUID],
                              link: uuid.UUID | None = None) -> tuple[uuid.UUID, Outcome]:
    """The practitioner record of the login ``subject``, idempotently: created (through
    :func:`create_practitioner`), or an existing record without a login (``link``) linked to it, or the one already
    linked to it — then assigned to any of ``site_ids`` it lacked (UPDATED) or left as it is (ALREADY_DONE). A record
    already linked with another service or role is refused rather than changed: that is another job."""
    linked = await repository.practitioners_by_subject(actor.session, [subject])
    if linked:
        found = linked[0]
        if link is not None and link != found["id"]:
            raise Conflict("This login is already linked to another practitioner record.", field="practitionerId")
        if (found["service"], found["role"]) != (fields["service"], fields["role"]):
            raise Conflict("This login's practitioner record has another service or role; change it there.",
                           field="subject")
        added = await repository.add_practitioner_sites(actor.session, found["id"], site_ids)
        if added:
            await actor.audit([AuditEvent(AuditAction.ALTER, "Practitioner", found["id"], None, ("site_ids",))])
        return found["id"], Outcome.UPDATED if added else Outcome.ALREADY_DONE
    if link is None:
        return await create_practitioner(actor, {**fields, "subject": subject}, list(site_ids)), Outcome.CREATED
    rows = await repository.practitioners_by_id(actor.session, [link])
    if not rows:
        raise NotFound("No such practitioner.", field="practitionerId")
    if (rows[0]["service"], rows[0]["role"]) != (fields["service"], fields["role"]):
        raise Conflict("That practitioner record has another service or role.", field="practitionerId")
    if not await repository.link_practitioner(actor.session, link, subject):
        raise Conflict("That practitioner record is already linked to another login.", field="practitionerId")
    await repository.add_practitioner_sites(actor.session, link, site_ids)
    await actor.audit([AuditEvent(AuditAction.ALTER, "Practitioner", link, None, ("site_ids", "subject"))])
    return link, Outcome.UPDATED


# Network members who have agreed to take part: they may attend meetings (the Lifelong Links meeting and every other
# kind) and make commitments (service.network).
ENGAGED = frozenset({"AGREED", "COMMITTED", "ACTIVE"})


async def attending_members(session: TenantSession, scope: Scope, young_adult_id: uuid.UUID,
                            member_ids: list[uuid.UUID | None], field: str) -> list[uuid.UUID]:
    """The network members of this young adult who may attend a meeting, of any kind (the Lifelong Links meeting and
    the integrated ones): they have agreed to take part and their consent to be contacted is in force. Every refusal
    at once, each member named by their place in the list (no names here), with its code (AGREEMENT_REQUIRED,
    CONSENT_WITHDRAWN, CONSENT_REQUIRED); another young adult's member is not found."""
    members = {r["id"]: r for r in await repository.network_members_attending(
        session, [m for m in member_ids if m is not None], scope) if r["young_adult_id"] == young_adult_id}
    checks = Checks()
    if None in member_ids or len(members) < len(set(member_ids)):
        checks.add(NotFound("No such network member of this young adult.", field=field))
    for place, member_id in enumerate(member_ids, start=1):
        member = members.get(member_id) if member_id is not None else None
        if member is None:
            continue
        if member["status"] not in ENGAGED:
            checks.add(prerequisite("AGREEMENT_REQUIRED", f"Member {place} of {field} attends once they have "
                                    "AGREED to take part.", field))
        with checks.check():
            check_contact_consent(member, f"Member {place} of {field} attending", field)
    checks.done()
    return sorted(members)


def check_contact_consent(member: asyncpg.Record, what: str, field: str = "status") -> None:
    """A network member's own consent to be contacted (``contact_consent``: ACTIVE, WITHDRAWN or NONE) allows
    ``what``; used for every contact-related move, commitment and meeting attendance."""
    if member["contact_consent"] == "WITHDRAWN":
        raise prerequisite("CONSENT_WITHDRAWN", f"{what} is refused: the member has withdrawn consent to be "
                           "contacted.", field)
    if member["contact_consent"] != "ACTIVE":
        raise prerequisite("CONSENT_REQUIRED", f"{what} needs the member's consent to be contacted first.", field)
