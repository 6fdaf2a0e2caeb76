"""A tenant set up for casework through the API: a prison, a second prison, a probation delivery unit and a
leaving-care service, a tenant administrator, and three practitioners (prison offender manager, community offender
manager, personal adviser) with practitioner records linked to their logins."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import Any

from service.auth import Role, Service
from tenants.isolation import Tenant
from tests.conftest import Caller, CallerFactory, TenantFactory
from tests.operations import Operations

SITES = (("BSI", "HMP Brinsford", "PRISON"), ("SHI", "HMP Swinfen Hall", "PRISON"),
         ("BHM-PDU", "Birmingham probation delivery unit", "PROBATION"),
         ("BRM-LC", "Birmingham leaving care", "LEAVING_CARE"))
PRACTITIONERS = {  # key: (service, practitioner role, team role, site)
    "pom": (Service.PRISON, "POM", "OFFENDER_MANAGER", "BSI"),
    "com": (Service.PROBATION, "COM", "COMMUNITY_OFFENDER_MANAGER", "BHM-PDU"),
    "pa": (Service.LEAVING_CARE, "PERSONAL_ADVISER", "PERSONAL_ADVISER", "BRM-LC"),
}


@dataclass
class Casework:
    tenant: Tenant
    admin: Caller
    callers: dict[str, Caller]
    practitioner_ids: dict[str, str]
    subjects: dict[str, str]
    sites: dict[str, str]
    ops: Operations


async def casework(make_tenant: TenantFactory, login: CallerFactory, ops: Operations) -> Casework:
    tenant = await make_tenant(sites=SITES)
    admin = await login(Role.TENANT_ADMIN, tenant)
    sites = {s["code"]: s["id"] for s in (await ops.data(admin, "Sites"))["sites"]}
    callers, ids, subjects = {}, {}, {}
    for key, (service, role, _team_role, site) in PRACTITIONERS.items():
        subjects[key] = f"{key}-{secrets.token_hex(4)}"
        callers[key] = await login(Role.PRACTITIONER, tenant, service=service, sites=(site,), subject=subjects[key])
        created = await ops.ok(admin, "CreatePractitioner", {
            "givenName": "Pat", "familyName": f"Example-{key.upper()}", "service": service.value, "role": role,
            "siteIds": [sites[site]], "subject": subjects[key]})
        ids[key] = created["practitioner"]["id"]
    return Casework(tenant, admin, callers, ids, subjects, sites, ops)


def young_adult(site_id: str, family: str, **extra: Any) -> dict[str, Any]:
    return {"siteId": site_id, "givenName": "Sam", "familyName": family, "dateOfBirth": "2003-04-05",
            "careStatus": "RELEVANT", **extra}
