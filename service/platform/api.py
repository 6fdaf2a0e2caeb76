"""The platform administrators' API: tenants. Platform administrators see tenants, never their case data."""

from __future__ import annotations

import enum

import strawberry

from service.api.common import UserError, user_error
from service.api.context import Info
from service.api.enums import TenantKind
from service.kernel.errors import AccessDenied, DomainError
from service.kernel.principal import Role
from service.kernel.tenancy import Tenant as TenantRecord
from tenants import registry
from tenants.provisioning import NewTenant, create_tenant


@strawberry.enum
class TenantStatus(enum.Enum):
    PROVISIONING = "PROVISIONING"
    ACTIVE = "ACTIVE"
    SUSPENDED = "SUSPENDED"
    ARCHIVED = "ARCHIVED"


@strawberry.type(description="A region or cohort: an isolated tenant of the platform.")
class Tenant:
    id: strawberry.ID
    slug: str
    name: str
    kind: TenantKind
    status: TenantStatus

    @classmethod
    def from_record(cls, t: TenantRecord) -> Tenant:
        return cls(id=strawberry.ID(str(t.id)), slug=t.slug, name=t.name, kind=TenantKind(t.kind),
                   status=TenantStatus(t.status))


@strawberry.type(description="Who you are, as the platform sees you.")
class Viewer:
    subject: str
    role: str
    tenant: str | None
    service: str | None
    site_codes: list[str]


def require_platform_admin(info: Info) -> None:
    if info.context.principal.role is not Role.PLATFORM_ADMIN:
        raise AccessDenied("Only platform administrators manage tenants.")


@strawberry.type
class PlatformQuery:
    @strawberry.field(description="Who you are: your role, tenant, service and sites.")
    def me(self, info: Info) -> Viewer:
        p = info.context.principal
        return Viewer(subject=p.subject, role=p.role.value, tenant=p.tenant.slug if p.tenant else None,
                      service=p.service.value if p.service else None, site_codes=sorted(p.site_codes))

    @strawberry.field(description="All tenants. Platform administrators only.")
    async def tenants(self, info: Info) -> list[Tenant]:
        require_platform_admin(info)
        return [Tenant.from_record(t) for t in await registry.all_tenants(info.context.control())]


@strawberry.input
class CreateTenantInput:
    slug: str = strawberry.field(description="Lower-case letters, digits and hyphens, 3-40 long; names the schema.")
    name: str
    kind: TenantKind


@strawberry.type
class CreateTenantPayload:
    tenant: Tenant | None
    errors: list[UserError]


@strawberry.type
class PlatformMutation:
    @strawberry.mutation(description="Provision a region or cohort: its roles, schema and tables, all or nothing.")
    async def create_tenant(self, info: Info, input: CreateTenantInput) -> CreateTenantPayload:
        require_platform_admin(info)
        db = info.context.platform()
        try:
            record = await create_tenant(db.engine, NewTenant(input.slug, input.name, input.kind.value),
                                         role_prefix=db.settings.role_prefix, app_role=db.settings.app_role)
        except DomainError as exc:
            return CreateTenantPayload(tenant=None, errors=[user_error(exc)])
        return CreateTenantPayload(tenant=Tenant.from_record(record), errors=[])
