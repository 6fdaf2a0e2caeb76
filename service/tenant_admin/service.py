"""Business rules of tenant administration: valid sites, idempotent site and grant changes, and who may do them.

A tenant administrator acts in their own tenant only — the tenant id always comes from their verified principal —
and may grant only the tenant's own roles: never PLATFORM_ADMIN or NATIONAL_ANALYST. The same site and grant
rules serve platform onboarding (service.platform.onboarding), which calls them for a tenant it names.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from typing import Any

import asyncpg

from service.kernel.domain import SiteKind, values
from service.kernel.errors import AccessDenied, Conflict, InvalidInput, NotFound, StaleVersion
from service.kernel.ids import TenantId
from service.kernel.principal import Principal, Role, Service
from service.kernel.session import Statements, TenantSession
from service.kernel.visibility import Actor
from service.people import repository as people_repository
from service.people import service as people
from service.tenant_admin import repository
from service.tenant_admin.repository import Queries
from tenants.lifecycle import Outcome

SITE_KINDS = values(SiteKind)
SITE_CODE = re.compile(r"^[A-Z0-9][A-Z0-9-]{0,19}$")
TENANT_ROLES = (Role.PRACTITIONER, Role.SITE_MANAGER, Role.TENANT_ADMIN)


@dataclass(frozen=True, slots=True)
class SiteSpec:
    code: str
    name: str
    kind: str

    def validated(self) -> SiteSpec:
        code = self.code.strip().upper()
        if not SITE_CODE.fullmatch(code):
            raise InvalidInput("A site code is 1 to 20 capital letters, digits or hyphens (e.g. BSI or BRM-LC).",
                               field="code")
        return SiteSpec(code, site_name(self.name), site_kind(self.kind))


def site_name(name: str) -> str:
    name = name.strip()
    if not 1 <= len(name) <= 200:
        raise InvalidInput("A site name must be 1 to 200 characters long.", field="name")
    return name


def site_kind(kind: str) -> str:
    if kind not in SITE_KINDS:
        raise InvalidInput(f"A site kind must be one of {', '.join(SITE_KINDS)}.", field="kind")
    return kind


def validate_subject(subject: str) -> str:
    subject = subject.strip()
    if not 1 <= len(subject) <= 255:
        raise InvalidInput("A subject (the user's id at the identity provider) must be 1 to 255 characters.",
                           field="subject")
    # A documentation placeholder pasted as is ("<the administrator's subject …>") would grant rights to nobody
    # real: an identity provider's `sub` never holds angle brackets or spaces.
    if any(c in subject for c in "<>") or any(c.isspace() for c in subject):
        raise InvalidInput("A subject is the id your identity provider puts in the user's token (its `sub` claim); "
                           "it has no spaces or angle brackets — replace the placeholder with the real one.",
                           field="subject")
    return subject


def require_tenant_admin(principal: Principal) -> TenantId:
    """The caller's own tenant, if they administer it. Everything here acts on that tenant and no other."""
    if principal.role is not Role.TENANT_ADMIN or principal.tenant is None:
        raise AccessDenied("Only the tenant's administrators manage its sites and users.")
    return principal.tenant.id


# --- sites -------------------------------------------------------------------------------------------------------

async def ensure_site(q: Queries, spec: SiteSpec) -> tuple[asyncpg.Record, Outcome]:
    """Add a site, or confirm the same site is there. The same code with another name or kind is refused."""
    spec = spec.validated()
    found = await repository.site_by_code(q, spec.code)
    if found is not None:
        if found["closed_at"] is not None:
            raise Conflict(f"Site code {spec.code} belongs to a closed site; choose another code.", field="code")
        if (found["name"], found["kind"]) != (spec.name, spec.kind):
            raise Conflict(f"Site code {spec.code} is already used by a site with another name or kind.",
                           field="code")
        return found, Outcome.ALREADY_DONE
    try:
        return await repository.insert_site(q, spec.code, spec.name, spec.kind), Outcome.CREATED
    except asyncpg.UniqueViolationError:
        raise Conflict(f"Site code {spec.code} was added at the same moment by someone else.", field="code") from None


async def add_site(q: Queries, principal: Principal, spec: SiteSpec) -> tuple[asyncpg.Record, Outcome]:
    require_tenant_admin(principal)
    return await ensure_site(q, spec)


async def _site_for_change(q: Queries, site_id: uuid.UUID | None) -> asyncpg.Record:
    found = None if site_id is None else await repository.site_by_id(q, site_id)
    if found is None:
        raise NotFound("No such site.", field="id")
    return found


async def rename_site(q: Queries, principal: Principal, site_id: uuid.UUID | None, version: int, name: str,
                      ) -> tuple[asyncpg.Record, Outcome]:
    require_tenant_admin(principal)
    found = await _site_for_change(q, site_id)
    name = site_name(name)
    if found["name"] == name:
        return found, Outcome.ALREADY_DONE
    row = await repository.rename_site(q, found["id"], version, name)
    if row is None:
        raise StaleVersion("This site was changed by someone else since you read it; reload it and try again.",
                           field="version")
    return row, Outcome.UPDATED


async def close_site(q: Queries, principal: Principal, site_id: uuid.UUID | None, version: int,
                     ) -> tuple[asyncpg.Record, Outcome]:
    """Close a site. Its enrolments, practitioners and history stay; closing twice says ALREADY_DONE."""
    require_tenant_admin(principal)
    found = await _site_for_change(q, site_id)
    if found["closed_at"] is not None:
        return found, Outcome.ALREADY_DONE
    row = await repository.close_site(q, found["id"], version)
    if row is None:
        raise StaleVersion("This site was changed by someone else since you read it; reload it and try again.",
                           field="version")
    return row, Outcome.UPDATED


# --- users and grants --------------------------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class GrantSpec:
    subject: str
    role: Role
    service: Service | None = None
    site_codes: tuple[str, ...] = ()
    display_name: str = ""

    def validated(self) -> GrantSpec:
        if self.role not in TENANT_ROLES:
            raise AccessDenied("A tenant's roles are practitioner, site manager and tenant administrator only.")
        if self.role is Role.PRACTITIONER and self.service is None:
            raise InvalidInput("A practitioner needs a service (prison, probation, leaving care or Lifelong Links).",
                               field="service")
        if self.role is not Role.PRACTITIONER and self.service is not None:
            raise InvalidInput("Only practitioners have a service.", field="service")
        codes = tuple(sorted({c.strip().upper() for c in self.site_codes if c.strip()}))
        if self.role in (Role.PRACTITIONER, Role.SITE_MANAGER) and not codes:
            raise InvalidInput("Practitioners and site managers work at one site at least: give its code.",
                               field="site_codes")
        display = self.display_name.strip()
        if len(display) > 200:
            raise InvalidInput("A display name must be at most 200 characters.", field="display_name")
        return GrantSpec(validate_subject(self.subject), self.role, self.service, codes, display)


def _same(row: asyncpg.Record, spec: GrantSpec) -> bool:
    return bool(row["active"] and row["role"] == spec.role.value
                and row["service"] == (spec.service.value if spec.service else None)
                and sorted(row["site_codes"]) == list(spec.site_codes) and row["display_name"] == spec.display_name)


async def ensure_grant(control: Statements, q: Queries, tenant_id: TenantId, spec: GrantSpec, *,
                       replace: bool = True) -> tuple[asyncpg.Record, Outcome]:
    """Give ``spec.subject`` their one grant in this tenant. Unchanged: ALREADY_DONE. With ``replace`` false (first
    administrators at onboarding) a subject who already holds another role here is refused rather than changed.
    Written through ``control`` in the caller's transaction."""
    spec = spec.validated()
    # A grant without sites (a tenant administrator's) has none to check: no statement.
    missing = set(spec.site_codes) - await repository.open_site_codes(q, spec.site_codes) if spec.site_codes else set()
    if missing:
        raise NotFound(f"No open site with code {', '.join(sorted(missing))} in this tenant.", field="site_codes")
    found = await repository.user(control, tenant_id, spec.subject, for_update=True)
    if found is not None and _same(found, spec):
        return found, Outcome.ALREADY_DONE
    if found is not None and not replace and found["active"] and found["role"] != spec.role.value:
        raise Conflict("This user already holds another role in this tenant.", field="subject")
    row = await repository.upsert_user(control, tenant_id, spec.subject, spec.role.value,
                                       spec.service.value if spec.service else None, spec.site_codes,
                                       spec.display_name)
    return row, Outcome.CREATED if found is None else Outcome.UPDATED


async def grant_role(control: Statements, q: Queries, principal: Principal, spec: GrantSpec,
                     ) -> tuple[asyncpg.Record, Outcome]:
    tenant_id = require_tenant_admin(principal)
    if spec.subject.strip() == principal.subject and spec.role is not Role.TENANT_ADMIN:
        raise InvalidInput("You cannot change your own administrator grant; ask another administrator.",
                           field="subject")
    return await ensure_grant(control, q, tenant_id, spec)


async def revoke_role(control: Statements, principal: Principal, subject: str) -> tuple[asyncpg.Record, Outcome]:
    """Withdraw a user's access to this tenant (the grant is kept, inactive, for the record)."""
    tenant_id = require_tenant_admin(principal)
    subject = validate_subject(subject)
    if subject == principal.subject:
        raise InvalidInput("You cannot revoke your own administrator grant; ask another administrator.",
                           field="subject")
    row = await repository.deactivate_user(control, tenant_id, subject)
    if row is not None:
        return row, Outcome.UPDATED
    found = await repository.user(control, tenant_id, subject)
    if found is None:
        raise NotFound("No such user in this tenant.", field="subject")
    return found, Outcome.ALREADY_DONE


async def list_users(control: Statements, principal: Principal) -> list[asyncpg.Record]:
    tenant_id = require_tenant_admin(principal)
    return await repository.users(control, tenant_id)


# --- bringing a practitioner in: the grant and the practitioner record together --------------------------------

STAFF_ROLES = (Role.PRACTITIONER, Role.SITE_MANAGER)


@dataclass(frozen=True, slots=True)
class BroughtIn:
    grant: asyncpg.Record
    grant_outcome: Outcome
    practitioner_id: uuid.UUID
    practitioner_outcome: Outcome


async def bring_in_practitioner(actor: Actor, control: Statements, spec: GrantSpec, fields: dict[str, Any],
                                link: uuid.UUID | None = None) -> BroughtIn:
    """A member of staff's grant (control plane) and practitioner record (tenant) in one step, idempotent on both
    sides: repeated, each side answers ALREADY_DONE. Never half done: both are written in the request's one
    transaction, inside the caller's savepoint, so a refusal of either side undoes the other."""
    require_tenant_admin(actor.principal)
    if spec.role not in STAFF_ROLES:
        raise InvalidInput("Bring in practitioners and site managers here; grant administrators with grantRole.",
                           field="access")
    spec = spec.validated()
    sites = await repository.open_sites_by_code(actor.session, spec.site_codes)
    missing = set(spec.site_codes) - {s["code"] for s in sites}
    if missing:
        raise NotFound(f"No open site with code {', '.join(sorted(missing))} in this tenant.", field="site_codes")
    practitioner_id, recorded = await people.ensure_practitioner(actor, spec.subject, fields,
                                                                 [s["id"] for s in sites], link)
    grant, granted = await grant_role(control, actor.session, actor.principal, spec)
    return BroughtIn(grant, granted, practitioner_id, recorded)


async def practitioners_of(session: TenantSession, subjects: list[str]) -> dict[str, asyncpg.Record]:
    """The practitioner record linked to each of these logins, by subject (one statement; unlinked ones absent)."""
    rows = await people_repository.practitioners_by_subject(session, subjects)
    return {r["subject"]: r for r in rows}
