"""The domain vocabularies (service.kernel.domain, .principal, .audit) as GraphQL enums, registered once.

``strawberry.enum`` attaches the GraphQL definition to the class itself, so resolvers annotate with the kernel's own
classes, imported from here so that the registration has happened."""

from __future__ import annotations

import strawberry

from service.kernel.audit import AuditAction
from service.kernel.domain import Accommodation, OutcomeTimePoint, SiteKind, TenantKind
from service.kernel.domain import Pathway as ResettlementPathway
from service.kernel.principal import Service as ServiceKind

strawberry.enum(ServiceKind, name="ServiceKind")
strawberry.enum(SiteKind, name="SiteKind")
strawberry.enum(ResettlementPathway, name="ResettlementPathway",
                description="The seven resettlement pathways plans and assessments are organised under.")
strawberry.enum(TenantKind, name="TenantKind")
strawberry.enum(Accommodation, name="Accommodation",
                description="Where the young adult lives (UNKNOWN counts as not settled in the national figures).")
strawberry.enum(AuditAction, name="AuditActionKind")
strawberry.enum(OutcomeTimePoint, name="OutcomeTimePoint",
                description="When a check-in is due: the release day, or 3, 6 or 12 months after release.")

__all__ = ["Accommodation", "AuditAction", "OutcomeTimePoint", "ResettlementPathway", "ServiceKind", "SiteKind",
           "TenantKind"]
