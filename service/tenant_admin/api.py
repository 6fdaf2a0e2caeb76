"""The tenant administrators' API: their tenant's sites, users and role grants."""

from __future__ import annotations

import enum
from typing import Any

import asyncpg
import strawberry

from service.api.common import UserError, attempt, user_error
from service.api.context import Info
from service.api.enums import ServiceKind, SiteKind
from service.api.relay import expect_id
from service.kernel.errors import DomainError
from service.kernel.principal import Role, Service
from service.people.api import Site
from service.tenant_admin import service as admin
from service.tenant_admin.service import GrantSpec, SiteSpec
from tenants.lifecycle import Outcome


@strawberry.enum(description="What an idempotent step did: repeating it with the same input says ALREADY_DONE.")
class StepOutcome(enum.Enum):
    CREATED = "CREATED"
    UPDATED = "UPDATED"
    ALREADY_DONE = "ALREADY_DONE"


@strawberry.enum(description="The roles a tenant administrator may grant in their own tenant.")
class TenantRole(enum.Enum):
    PRACTITIONER = "PRACTITIONER"
    SITE_MANAGER = "SITE_MANAGER"
    TENANT_ADMIN = "TENANT_ADMIN"


@strawberry.type(description="A user of your tenant and their one grant.")
class TenantUser:
    subject: str
    display_name: str
    role: TenantRole
    service: ServiceKind | None
    site_codes: list[str]
    active: bool

    @classmethod
    def from_row(cls, row: asyncpg.Record) -> TenantUser:
        return cls(subject=row["subject"], display_name=row["display_name"], role=TenantRole(row["role"]),
                   service=ServiceKind(row["service"]) if row["service"] else None,
                   site_codes=sorted(row["site_codes"]), active=row["active"])


def outcome(value: Outcome | None) -> StepOutcome | None:
    return None if value is None else StepOutcome(value.value)


@strawberry.input
class AddSiteInput:
    code: str = strawberry.field(description="1-20 capital letters, digits or hyphens, unique in the tenant.")
    name: str
    kind: SiteKind


@strawberry.input
class RenameSiteInput:
    id: strawberry.ID
    version: int = strawberry.field(description="The version you read; a stale one is refused.")
    name: str


@strawberry.input
class CloseSiteInput:
    id: strawberry.ID
    version: int = strawberry.field(description="The version you read; a stale one is refused.")


@strawberry.type
class SitePayload:
    site: Site | None
    outcome: StepOutcome | None
    errors: list[UserError]


@strawberry.input
class GrantRoleInput:
    subject: str = strawberry.field(description="The user's subject at the identity provider (the token's `sub`).")
    role: TenantRole
    service: ServiceKind | None = strawberry.field(default=None, description="Practitioners only.")
    site_codes: list[str] = strawberry.field(default_factory=list,
                                             description="Sites a practitioner or site manager works at.")
    display_name: str = ""


@strawberry.input
class RevokeRoleInput:
    subject: str


@strawberry.type
class GrantPayload:
    user: TenantUser | None
    outcome: StepOutcome | None
    errors: list[UserError]


def _site_payload(result: tuple[Any, Outcome] | None, errors: list[UserError]) -> SitePayload:
    if result is None:
        return SitePayload(site=None, outcome=None, errors=errors)
    return SitePayload(site=Site.from_row(result[0]), outcome=outcome(result[1]), errors=errors)


@strawberry.type
class TenantAdminQuery:
    @strawberry.field(description="The users of your tenant and their grants. Tenant administrators only.")
    async def tenant_users(self, info: Info) -> list[TenantUser]:
        ctx = info.context
        return [TenantUser.from_row(r) for r in await admin.list_users(ctx.control(), ctx.principal)]


@strawberry.type
class TenantAdminMutation:
    @strawberry.mutation(description="Add a site to your tenant; the same site again answers ALREADY_DONE.")
    async def add_site(self, info: Info, input: AddSiteInput) -> SitePayload:
        ctx = info.context
        admin.require_tenant_admin(ctx.principal)
        result, errors = await attempt(ctx, lambda: admin.add_site(
            ctx.tenant(), ctx.principal, SiteSpec(input.code, input.name, input.kind.value)))
        return _site_payload(result, errors)

    @strawberry.mutation(description="Rename a site of your tenant.")
    async def rename_site(self, info: Info, input: RenameSiteInput) -> SitePayload:
        ctx = info.context
        admin.require_tenant_admin(ctx.principal)
        result, errors = await attempt(ctx, lambda: admin.rename_site(
            ctx.tenant(), ctx.principal, expect_id(input.id, "Site", "id"), input.version, input.name))
        return _site_payload(result, errors)

    @strawberry.mutation(description="Close a site: it keeps its history and takes no new work.")
    async def close_site(self, info: Info, input: CloseSiteInput) -> SitePayload:
        ctx = info.context
        admin.require_tenant_admin(ctx.principal)
        result, errors = await attempt(ctx, lambda: admin.close_site(
            ctx.tenant(), ctx.principal, expect_id(input.id, "Site", "id"), input.version))
        return _site_payload(result, errors)

    @strawberry.mutation(description="Give a user of your tenant their role (replacing any other they had here).")
    async def grant_role(self, info: Info, input: GrantRoleInput) -> GrantPayload:
        ctx = info.context
        admin.require_tenant_admin(ctx.principal)
        spec = GrantSpec(input.subject, Role(input.role.value),
                         Service(input.service.value) if input.service else None, tuple(input.site_codes),
                         input.display_name)
        result, errors = await attempt(ctx, lambda: admin.grant_role(ctx.control(), ctx.tenant(), ctx.principal,
                                                                      spec))
        if result is None:
            return GrantPayload(user=None, outcome=None, errors=errors)
        return GrantPayload(user=TenantUser.from_row(result[0]), outcome=outcome(result[1]), errors=[])

    @strawberry.mutation(description="Withdraw a user's access to your tenant.")
    async def revoke_role(self, info: Info, input: RevokeRoleInput) -> GrantPayload:
        ctx = info.context
        try:
            row, done = await admin.revoke_role(ctx.control(), ctx.principal, input.subject)
        except DomainError as exc:
            return GrantPayload(user=None, outcome=None, errors=[user_error(exc)])
        return GrantPayload(user=TenantUser.from_row(row), outcome=outcome(done), errors=[])
