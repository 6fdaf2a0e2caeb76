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
from service.kernel.work import UnitOfWork
from service.people import loaders as people_loaders
from service.people.api import Practitioner, PractitionerRole, Site
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


@strawberry.enum(description="Where a person's set-up stands: their grant (control plane) and their practitioner "
                             "record (tenant), which team membership, ownership, sign-off and need-to-know need.")
class StaffSetup(enum.Enum):
    READY = strawberry.enum_value("READY", description="An active grant, and a practitioner record linked to the "
                                                       "login where the role needs one.")
    NO_PRACTITIONER_RECORD = strawberry.enum_value(
        "NO_PRACTITIONER_RECORD", description="A practitioner or site manager with no practitioner record linked to "
                                              "their login: bring them in (bringInPractitioner) to finish.")
    REVOKED = strawberry.enum_value("REVOKED", description="The grant was withdrawn.")


@strawberry.type(description="A user of your tenant: their one grant, and their practitioner record if any.")
class TenantUser:
    subject: str
    display_name: str
    role: TenantRole
    service: ServiceKind | None
    site_codes: list[str]
    active: bool
    practitioner: Practitioner | None = strawberry.field(
        description="The practitioner record linked to this login (null: none is).")
    setup: StaffSetup

    @classmethod
    def from_row(cls, row: asyncpg.Record, practitioner: asyncpg.Record | None) -> TenantUser:
        role = TenantRole(row["role"])
        if not row["active"]:
            setup = StaffSetup.REVOKED
        elif practitioner is None and role is not TenantRole.TENANT_ADMIN:
            setup = StaffSetup.NO_PRACTITIONER_RECORD
        else:
            setup = StaffSetup.READY
        return cls(subject=row["subject"], display_name=row["display_name"], role=role,
                   service=ServiceKind(row["service"]) if row["service"] else None,
                   site_codes=sorted(row["site_codes"]), active=row["active"], setup=setup,
                   practitioner=None if practitioner is None else Practitioner.from_row(practitioner))


async def tenant_user(ctx: UnitOfWork, row: asyncpg.Record) -> TenantUser:
    linked = await admin.practitioners_of(ctx.tenant(), [row["subject"]])
    return TenantUser.from_row(row, linked.get(row["subject"]))


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


@strawberry.enum(description="The access a practitioner brought in is granted.")
class StaffAccess(enum.Enum):
    PRACTITIONER = "PRACTITIONER"
    SITE_MANAGER = "SITE_MANAGER"


@strawberry.input(description="A member of staff: their login and access (the grant) and their practitioner record.")
class BringInPractitionerInput:
    subject: str = strawberry.field(description="The person's subject at the identity provider (the token's `sub`).")
    given_name: str
    family_name: str
    service: ServiceKind
    role: PractitionerRole
    site_codes: list[str] = strawberry.field(description="The sites they work at (grant and record alike).")
    access: StaffAccess = StaffAccess.PRACTITIONER
    display_name: str = ""
    practitioner_id: strawberry.ID | None = strawberry.field(
        default=None, description="An existing practitioner record without a login, to link instead of a new one.")


@strawberry.type
class BringInPractitionerPayload:
    user: TenantUser | None
    grant_outcome: StepOutcome | None
    practitioner_outcome: StepOutcome | None
    errors: list[UserError]


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
        users = await admin.list_users(ctx.control(), ctx.principal)
        linked = await admin.practitioners_of(ctx.tenant(), [u["subject"] for u in users])  # one statement for all
        return [TenantUser.from_row(r, linked.get(r["subject"])) for r in users]


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
        return GrantPayload(user=await tenant_user(ctx, result[0]), outcome=outcome(result[1]), errors=[])

    @strawberry.mutation(description="Withdraw a user's access to your tenant.")
    async def revoke_role(self, info: Info, input: RevokeRoleInput) -> GrantPayload:
        ctx = info.context
        try:
            row, done = await admin.revoke_role(ctx.control(), ctx.principal, input.subject)
        except DomainError as exc:
            return GrantPayload(user=None, outcome=None, errors=[user_error(exc)])
        return GrantPayload(user=await tenant_user(ctx, row), outcome=outcome(done), errors=[])

    @strawberry.mutation(description="Bring a practitioner (or site manager) in: their grant and their practitioner "
                                     "record together, all or nothing. Safe to repeat: each side answers "
                                     "ALREADY_DONE. With `practitionerId`, an existing record without a login is "
                                     "linked instead of a new one made.")
    async def bring_in_practitioner(self, info: Info, input: BringInPractitionerInput) -> BringInPractitionerPayload:
        ctx = info.context
        admin.require_tenant_admin(ctx.principal)
        service = Service(input.service.value)
        spec = GrantSpec(input.subject, Role(input.access.value),
                         service if input.access is StaffAccess.PRACTITIONER else None, tuple(input.site_codes),
                         input.display_name)
        fields = {"given_name": input.given_name, "family_name": input.family_name, "service": service.value,
                  "role": input.role.value}
        link = expect_id(input.practitioner_id, "Practitioner", "practitionerId") \
            if input.practitioner_id is not None else None
        actor = await people_loaders.actor(ctx)
        done, errors = await attempt(ctx, lambda: admin.bring_in_practitioner(actor, ctx.control(), spec, fields,
                                                                              link))
        if done is None:
            return BringInPractitionerPayload(user=None, grant_outcome=None, practitioner_outcome=None, errors=errors)
        return BringInPractitionerPayload(user=await tenant_user(ctx, done.grant),
                                          grant_outcome=outcome(done.grant_outcome),
                                          practitioner_outcome=outcome(done.practitioner_outcome), errors=[])
