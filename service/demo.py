"""Demo data: the West Midlands pilot region and the women's initiative, with clearly synthetic young adults.

Every name here is invented and marked as such (family names start with "Example"); prison numbers use the
Z-prefix, which no real prison number has.
"""

from __future__ import annotations

import datetime as dt
import random

from sqlalchemy import text

from service.kernel import clock
from service.kernel.database import Database
from service.kernel.session import Home, RequestConnection, TenantSession
from service.records import repository
from service.rules.service import apply_template
from tenants import registry
from tenants.provisioning import NewTenant, create_tenant

DEMO_TENANTS = {
    "west-midlands": ("West Midlands", "REGION", [
        ("BRM-LC", "Birmingham leaving care", "LEAVING_CARE"),
        ("COV-LC", "Coventry leaving care", "LEAVING_CARE"),
        ("WLV-LC", "Wolverhampton leaving care", "LEAVING_CARE"),
        ("BSI", "HMP Brinsford", "PRISON"),
        ("SHI", "HMP Swinfen Hall", "PRISON"),
        ("BHM-PDU", "Birmingham probation delivery unit", "PROBATION"),
        ("WM-LL", "West Midlands Lifelong Links service", "LIFELONG_LINKS"),
    ]),
    "womens-initiative": ("Women's initiative", "COHORT", [
        ("DWI", "HMP Drake Hall", "PRISON"),
        ("STF-LC", "Staffordshire leaving care", "LEAVING_CARE"),
        ("STF-PDU", "Staffordshire probation delivery unit", "PROBATION"),
    ]),
}
# Each demo tenant starts from a practice-rule template, as onboarding does.
RULE_TEMPLATES = {"west-midlands": "west-midlands-pilot", "womens-initiative": "defaults"}
GIVEN = ["Alex", "Jordan", "Sam", "Casey", "Riley", "Jamie", "Taylor", "Morgan", "Charlie", "Robin", "Quinn", "Drew"]
CARE = ["ELIGIBLE", "RELEVANT", "FORMER_RELEVANT", "QUALIFYING", "OTHER_CARE_EXPERIENCED"]
PRACTITIONER_ROLES = {"PRISON": ("PRISON", "POM"), "PROBATION": ("PROBATION", "COM"),
                      "LEAVING_CARE": ("LEAVING_CARE", "PERSONAL_ADVISER"),
                      "LIFELONG_LINKS": ("LIFELONG_LINKS", "LIFELONG_LINKS_COORDINATOR")}


async def seed_tenant(session: TenantSession, sites: list[tuple[str, str, str]], people_per_site: int,
                      rng: random.Random) -> None:
    today = session.today
    for code, name, kind in sites:
        site_id = await session.fetchval(
            "INSERT INTO site (code, name, kind) VALUES ($1, $2, $3) RETURNING id", code, name, kind)
        service, role = PRACTITIONER_ROLES.get(kind, ("LEAVING_CARE", "PERSONAL_ADVISER"))
        practitioner_id = await session.fetchval(
            "INSERT INTO practitioner (given_name, family_name, service, role) VALUES ($1, $2, $3, $4) RETURNING id",
            rng.choice(GIVEN), f"Example-Practitioner-{code}", service, role)
        await session.fetchval("INSERT INTO practitioner_site (practitioner_id, site_id) VALUES ($1, $2) "
                               "RETURNING site_id", practitioner_id, site_id)
        for _ in range(people_per_site):
            number = rng.randrange(10_000)
            row = await repository.insert_young_adult(session, {
                "given_name": rng.choice(GIVEN),
                "family_name": f"Example-{number:04d}",
                "date_of_birth": today - dt.timedelta(days=rng.randrange(18 * 365 + 5, 25 * 365 - 5)),
                "prison_number": f"Z{number:04d}{chr(65 + rng.randrange(26))}{chr(65 + rng.randrange(26))}"
                                 if kind == "PRISON" else None,
                "care_status": rng.choice(CARE),
                "entitlement_end_age": 25,
            })
            identified = today - dt.timedelta(days=rng.randrange(200))
            await repository.insert_enrolment(session, row["id"], site_id, identified)


async def seed_demo(db: Database, people_per_site: int = 6) -> list[str]:
    """Create the demo tenants that do not exist yet; returns the slugs created."""
    created = []
    pool = await db.open_pool()
    rng = random.Random(20261123)  # noqa: S311 - reproducible demo data, not security
    for slug, (name, kind, sites) in DEMO_TENANTS.items():
        async with pool.acquire() as conn:
            if await registry.tenant_by_slug(conn, slug) is not None:
                continue
        tenant = await create_tenant(db.engine, NewTenant(slug, name, kind),
                                     role_prefix=db.settings.role_prefix, app_role=db.settings.app_role)
        today = clock.today(db.settings.time_zone)
        connection = RequestConnection(pool, Home.tenant(tenant))
        try:
            await seed_tenant(TenantSession(connection, tenant, today), sites, people_per_site, rng)
        except BaseException:
            await connection.finish(commit=False)
            raise
        await connection.finish(commit=True)
        async with db.admin_transaction() as conn:
            await apply_template(conn, tenant.id, RULE_TEMPLATES.get(slug, "defaults"), "demo-seed", today)
        created.append(slug)
    return created


async def has_tenants(db: Database) -> bool:
    async with db.engine.connect() as conn:
        return bool((await conn.execute(text("SELECT EXISTS (SELECT 1 FROM control.tenant)"))).scalar())
