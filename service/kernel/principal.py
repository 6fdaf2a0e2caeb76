"""Who is asking: a verified subject with the role, service and sites their grant in the control plane gives."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field

from service.kernel.tenancy import Tenant


class Role(enum.StrEnum):
    PRACTITIONER = "PRACTITIONER"
    SITE_MANAGER = "SITE_MANAGER"
    TENANT_ADMIN = "TENANT_ADMIN"
    NATIONAL_ANALYST = "NATIONAL_ANALYST"
    PLATFORM_ADMIN = "PLATFORM_ADMIN"

    @property
    def needs_tenant(self) -> bool:
        return self not in (Role.NATIONAL_ANALYST, Role.PLATFORM_ADMIN)


class Service(enum.StrEnum):
    PRISON = "PRISON"
    PROBATION = "PROBATION"
    LEAVING_CARE = "LEAVING_CARE"
    LIFELONG_LINKS = "LIFELONG_LINKS"


@dataclass(frozen=True, slots=True)
class Principal:
    subject: str
    role: Role
    tenant: Tenant | None = None
    service: Service | None = None
    site_codes: frozenset[str] = field(default_factory=frozenset)

    @property
    def reads_case_data(self) -> bool:
        return self.tenant is not None and self.role.needs_tenant
