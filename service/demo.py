"""Demo data shaped like the West Midlands pilot, and a women's-initiative cohort, built through the service functions.

The West Midlands tenant follows about 60 young men through HMP Brinsford and HMP Swinfen Hall and the Birmingham,
Coventry and Wolverhampton leaving-care and probation services; the women's initiative a smaller cohort at HMP Drake
Hall. Each person's story is replayed through the same service functions the API calls, each step on the day it
happened (the functions take the day as ``today``), so every rule and audit event applies as it would have: referral
and consent, the integrated plan signed off by prison, probation and leaving care, joint and pre-release meetings
(network members and the young adult at the table), Lifelong Links cases at every stage with members vetted,
consenting, agreeing and committing, releases and recalls, and outcome check-ins at each time point reached.

The stories are spread over the last two years, and one group in each tenant is referred and one released in the
current month, so the dashboard's default view (the latest month) shows real figures above the disclosure limits
(16 referrals, 9 of them consented; 16 releases, all after a joint meeting, 8 to settled accommodation).
Deterministic: one seeded random generator drives every choice; only "today" moves the dates.

Every name is invented and marked as such (family names start with "Example"); prison numbers use the Z-prefix,
which no real prison number has.
"""

from __future__ import annotations

import datetime as dt
import random
import uuid
from dataclasses import dataclass, field

from sqlalchemy import text

from service.consent import service as consent
from service.custody import service as custody
from service.kernel import clock
from service.kernel.database import Database
from service.kernel.domain import OutcomeTimePoint
from service.kernel.principal import Principal, Role, Service
from service.kernel.session import Home, RequestConnection, TenantSession
from service.kernel.tenancy import Tenant
from service.kernel.visibility import Actor
from service.meetings import service as meetings
from service.network import members
from service.network import service as network
from service.outcomes import service as outcomes
from service.people import service as people
from service.plans import service as plans
from service.records import service as records
from service.reporting.service import refresh_tenant
from service.rules.due import add_months
from service.rules.service import apply_template
from tenants import registry
from tenants.provisioning import NewTenant, create_tenant

REQUEST = "demo-seed"


@dataclass(frozen=True)
class Area:
    """A local authority area: its leaving-care service and probation delivery unit."""

    leaving_care: str
    probation: str


@dataclass(frozen=True)
class DemoTenant:
    name: str
    kind: str
    rule_template: str
    people: int
    sites: tuple[tuple[str, str, str], ...]
    prisons: tuple[str, ...]
    areas: tuple[Area, ...]
    lifelong_links: str


DEMO_TENANTS = {
    "west-midlands": DemoTenant("West Midlands", "REGION", "west-midlands-pilot", 60, (
        ("BSI", "HMP Brinsford", "PRISON"),
        ("SHI", "HMP Swinfen Hall", "PRISON"),
        ("BRM-LC", "Birmingham leaving care", "LEAVING_CARE"),
        ("COV-LC", "Coventry leaving care", "LEAVING_CARE"),
        ("WLV-LC", "Wolverhampton leaving care", "LEAVING_CARE"),
        ("BHM-PDU", "Birmingham probation delivery unit", "PROBATION"),
        ("COV-PDU", "Coventry probation delivery unit", "PROBATION"),
        ("WLV-PDU", "Wolverhampton probation delivery unit", "PROBATION"),
        ("WM-LL", "West Midlands Lifelong Links service", "LIFELONG_LINKS"),
    ), ("BSI", "SHI"), (Area("BRM-LC", "BHM-PDU"), Area("COV-LC", "COV-PDU"), Area("WLV-LC", "WLV-PDU")), "WM-LL"),
    "womens-initiative": DemoTenant("Women's initiative", "COHORT", "defaults", 16, (
        ("DWI", "HMP Drake Hall", "PRISON"),
        ("STF-LC", "Staffordshire leaving care", "LEAVING_CARE"),
        ("STF-PDU", "Staffordshire probation delivery unit", "PROBATION"),
        ("WI-LL", "Women's initiative Lifelong Links service", "LIFELONG_LINKS"),
    ), ("DWI",), (Area("STF-LC", "STF-PDU"),), "WI-LL"),
}
GIVEN = ["Alex", "Jordan", "Sam", "Casey", "Riley", "Jamie", "Taylor", "Morgan", "Charlie", "Robin", "Quinn", "Drew"]
CARE = ["ELIGIBLE", "RELEVANT", "FORMER_RELEVANT", "QUALIFYING", "OTHER_CARE_EXPERIENCED"]
RELATIONSHIPS = ["RELATIVE", "FORMER_FOSTER_CARER", "TEACHER", "MENTOR", "FRIEND", "RELATIVE", "PROFESSIONAL"]
SITE_STAFF = {  # site kind: the practitioner there (service, role)
    "PRISON": (Service.PRISON, "POM"), "PROBATION": (Service.PROBATION, "COM"),
    "LEAVING_CARE": (Service.LEAVING_CARE, "PERSONAL_ADVISER"),
    "LIFELONG_LINKS": (Service.LIFELONG_LINKS, "LIFELONG_LINKS_COORDINATOR"),
}
LL_STAGES = ("REFERRED", "EXPLORING", "SEARCHING", "CONTACTING", "MEETING_HELD", "PLAN_AGREED", "REVIEWED", "CLOSED")
# Each person's story, by position in a repeating pattern: (group, share of the pattern).
STORIES = ("intake", "intake", "custody", "custody", "released_now", "released_now", "released", "released",
           "released", "released_long")


@dataclass
class Staff:
    """A practitioner of the demo tenant: their record and the principal that acts as them."""

    id: uuid.UUID
    principal: Principal


@dataclass
class World:
    session: TenantSession
    tenant: Tenant
    today: dt.date
    rng: random.Random
    sites: dict[str, uuid.UUID] = field(default_factory=dict)
    staff: dict[str, Staff] = field(default_factory=dict)  # by site code
    actors: dict[str, Actor] = field(default_factory=dict)  # by subject

    async def actor(self, who: Principal) -> Actor:
        found = self.actors.get(who.subject)
        if found is None:
            found = Actor(self.session, who, REQUEST, await people.scope_for(self.session, who))
            self.actors[who.subject] = found
        return found

    def day(self, on: dt.date) -> dt.date:
        return min(on, self.today)


async def _set_up(world: World, spec: DemoTenant) -> Actor:
    admin = await world.actor(Principal("demo-seed-admin", Role.TENANT_ADMIN, world.tenant))
    for code, name, kind in spec.sites:
        world.sites[code] = await world.session.fetchval(
            "INSERT INTO site (code, name, kind) VALUES ($1, $2, $3) RETURNING id", code, name, kind)
    for code, _name, kind in spec.sites:
        service, role = SITE_STAFF[kind]
        subject = f"demo-{world.tenant.slug}-{code.lower()}"
        practitioner_id = await people.create_practitioner(admin, {
            "given_name": world.rng.choice(GIVEN), "family_name": f"Example-Practitioner-{code}",
            "service": service.value, "role": role, "subject": subject}, [world.sites[code]])
        world.staff[code] = Staff(practitioner_id, Principal(subject, Role.PRACTITIONER, world.tenant, service,
                                                             frozenset({code})))
    return admin


async def _plan(world: World, ya: uuid.UUID, prison: Staff, area: Area, released_by: dt.date, on: dt.date
                ) -> uuid.UUID:
    """An integrated plan with two goals and an action each, drafted and signed off by the three services (agreed)
    on the day ``on``; returns the accommodation goal's lineage id (what network commitments name)."""
    pom = await world.actor(prison.principal)
    plan = await plans.create_plan(pom, ya)
    draft = await plans.add_goal(pom, plan["id"], "ACCOMMODATION", "A settled place to live on release")
    await plans.add_goal(pom, plan["id"], "EDUCATION_TRAINING_EMPLOYMENT", "Training towards a job")
    goals = {r["pathway"]: r for r in await world.session.fetch(
        "SELECT id, lineage_id, pathway FROM plan_goal WHERE plan_version_id = $1", draft)}
    pa, com = world.staff[area.leaving_care], world.staff[area.probation]
    await plans.add_action(pom, goals["ACCOMMODATION"]["id"], {
        "description": "Apply for supported housing", "owner_service": "LEAVING_CARE", "owner_id": pa.id,
        "due_on": released_by - dt.timedelta(weeks=8)})
    await plans.add_action(pom, goals["EDUCATION_TRAINING_EMPLOYMENT"]["id"], {
        "description": "Enrol on a construction skills course", "owner_service": "PRISON", "owner_id": prison.id,
        "due_on": released_by - dt.timedelta(weeks=4)})
    version = await world.session.fetchval("SELECT version FROM plan_version WHERE id = $1", draft)
    for signer in (prison, pa, com):
        await plans.sign_off(await world.actor(signer.principal), draft, version)
    # The service stamps a version's start, its sign-offs and its agreement with the database's clock, which a replay
    # cannot set: left so, every demo plan would read as agreed on the day the demo was seeded (after its young
    # adult's release, for most), in the record's timeline and in the national plan metrics (days to an agreed plan,
    # plan agreed before release). They are dated on the planning day instead, in the order they were made.
    await world.session.fetch(
        "WITH v AS (UPDATE plan_version SET created_at = $2::date + time '10:00', agreed_at = $2::date + time '16:00' "
        "WHERE id = $1) "
        "UPDATE plan_signoff s SET signed_at = $2::date + time '15:00' + o.n * interval '10 minutes' "
        "FROM (SELECT service, row_number() OVER (ORDER BY signed_at, service) AS n FROM plan_signoff "
        "      WHERE plan_version_id = $1) o WHERE s.plan_version_id = $1 AND s.service = o.service", draft, on)
    lineage: uuid.UUID = goals["ACCOMMODATION"]["lineage_id"]
    return lineage


async def _lifelong_links(world: World, spec: DemoTenant, ya: uuid.UUID, area: Area, goal: uuid.UUID,
                          stage: str, referred: dt.date) -> list[uuid.UUID]:
    """A Lifelong Links case taken to ``stage``; returns the members who agreed to take part."""
    coordinator = world.staff[spec.lifelong_links]
    who, session = coordinator.principal, world.session
    pa, com = world.staff[area.leaving_care].principal, world.staff[area.probation].principal
    case = await network.refer(session, pa, REQUEST, ya, world.sites[spec.lifelong_links], coordinator.id, True,
                               referred, referred)
    step = world.rng.randrange(10, 20)
    on = referred
    reached = LL_STAGES.index(stage)
    agreed: list[uuid.UUID] = []
    for next_stage in LL_STAGES[1:reached + 1]:
        on = world.day(on + dt.timedelta(days=step))
        if next_stage == "CONTACTING":
            agreed = await _network(world, ya, case["id"], coordinator, pa, com, on)
        if next_stage == "MEETING_HELD":
            await members.record_meeting(session, who, REQUEST, ya, on, "Family-group meeting held.",
                                         [coordinator.id], list(agreed), on)
        if next_stage == "PLAN_AGREED":
            for member_id in agreed:
                await members.add_commitment(session, who, REQUEST, member_id, "Visits monthly and meets at the gate",
                                             goal, None, on)
                await _move(world, who, member_id, "COMMITTED", on)
        version = await session.fetchval("SELECT version FROM lifelong_links_case WHERE id = $1", case["id"])
        await network.move_stage(session, who, REQUEST, case["id"], version, next_stage, on, on)
    return agreed


async def _network(world: World, ya: uuid.UUID, case_id: uuid.UUID, coordinator: Staff, pa: Principal,
                   com: Principal, on: dt.date) -> list[uuid.UUID]:
    """Members found (known before, or by search), vetted, consenting and agreeing; some decline."""
    session, who = world.session, coordinator.principal
    agreed = []
    for n in range(world.rng.randrange(3, 6)):
        member_id = await members.add_member(session, who, REQUEST, case_id, {
            "given_name": world.rng.choice(GIVEN), "family_name": "Example-Network",
            "relationship": RELATIONSHIPS[n % len(RELATIONSHIPS)], "known_before": n < 2}, on, on)
        await _move(world, who, member_id, "FOUND", on)
        if n >= 4:
            continue  # found, not yet contacted
        await consent.record(session, who, REQUEST, ya, member_id, True, "CONTACT", None, on, on)
        for vetter in (pa, com):
            await members.sign_off_vetting(session, vetter, REQUEST, member_id, "CLEARED", on, on)
        await _move(world, who, member_id, "CONTACTED", on)
        answer = "DECLINED" if n == 3 else "AGREED"
        await _move(world, who, member_id, answer, on)
        if answer == "AGREED":
            agreed.append(member_id)
    return agreed


def _quiet(today: dt.date, day: dt.date) -> dt.date:
    """Keep referrals (to the programme and to Lifelong Links) and releases out of the months of the current quarter
    before the current month. The dashboard opens on the latest month; a small count in an earlier month of its
    quarter would be suppressed, and the month beside it with it (a month can be worked out from its quarter and the
    other months)."""
    quarter_start = today.replace(month=(today.month - 1) // 3 * 3 + 1, day=1)
    while quarter_start <= day < today.replace(day=1):
        day -= dt.timedelta(days=92)
    return day


async def _move(world: World, who: Principal, member_id: uuid.UUID, status: str, on: dt.date) -> None:
    version = await world.session.fetchval("SELECT version FROM network_member WHERE id = $1", member_id)
    await members.move_status(world.session, who, REQUEST, member_id, version, status, on, on)


async def _person(world: World, spec: DemoTenant, index: int, admin: Actor) -> None:
    rng, today = world.rng, world.today
    story = STORIES[index % len(STORIES)]
    prison_code = spec.prisons[index % len(spec.prisons)]
    area = spec.areas[index % len(spec.areas)]
    prison = world.staff[prison_code]
    pom = await world.actor(prison.principal)
    month_start = today.replace(day=1)
    this_month = month_start + dt.timedelta(days=rng.randrange((today - month_start).days + 1))
    if story == "intake":  # identified before today, so the prison stays the home site (see _quiet)
        identified = month_start + dt.timedelta(days=rng.randrange(max((today - month_start).days, 1)))
        release = add_months(today, rng.randrange(7, 14))
    elif story == "custody":
        identified = _quiet(today, today - dt.timedelta(days=rng.randrange(60, 300)))
        release = add_months(today, rng.randrange(2, 8))
    elif story == "released_now":
        release = this_month
        identified = _quiet(today, release - dt.timedelta(days=rng.randrange(250, 420)))
    elif story == "released":
        release = _quiet(today, today - dt.timedelta(days=rng.randrange(40, 330)))
        identified = _quiet(today, release - dt.timedelta(days=rng.randrange(250, 420)))
    else:  # released more than a year ago: every outcome time point reached
        release = _quiet(today, today - dt.timedelta(days=rng.randrange(380, 520)))
        identified = _quiet(today, release - dt.timedelta(days=rng.randrange(250, 420)))
    number = 1000 + index
    reception = identified - dt.timedelta(days=rng.randrange(10, 60))
    ya = (await records.create_young_adult(pom, world.sites[prison_code], {
        "given_name": rng.choice(GIVEN), "family_name": f"Example-{world.tenant.slug[:2].upper()}{number}",
        "date_of_birth": identified - dt.timedelta(days=rng.randrange(18 * 365 + 30, 24 * 365)),
        "prison_number": f"Z{number:04d}{chr(65 + index % 26)}{chr(65 + (index * 7) % 26)}",
        "care_status": CARE[index % len(CARE)], "entitlement_end_age": 25}, identified))["id"]
    episode = await custody.record_episode(pom, ya, {
        "prison_site_id": world.sites[prison_code], "reception_date": reception, "sentence_type": "DETERMINATE",
        "sentence_start": reception, "crd": release, "sed": add_months(release, 12), "led": add_months(release, 12),
        "handover_date": release - dt.timedelta(weeks=rng.randrange(12, 20))}, identified)
    # Known to leaving care and probation from the next day: the prison, where they were identified, is their home
    # site (the one national figures count them at).
    known = world.day(identified + dt.timedelta(days=1))
    for code in (area.leaving_care, area.probation):
        await records.enrol(admin, ya, world.sites[code], known, known)
    enrolment = await world.session.fetchrow("SELECT id, version FROM enrolment WHERE young_adult_id = $1 "
                                             "AND site_id = $2", ya, world.sites[prison_code])
    assert enrolment is not None
    referred = identified
    row = await records.change_enrolment_status(pom, enrolment["id"], enrolment["version"], "REFERRED", referred,
                                                None, referred)
    if story == "intake" and index % 10 == 1 and index < 50:
        return  # referred this month, not (yet) consented
    consented = world.day(referred + dt.timedelta(days=rng.randrange(0, 10)))
    await records.change_enrolment_status(pom, row["id"], row["version"], "CONSENTED", consented, None, consented)
    await consent.record(world.session, prison.principal, REQUEST, ya, None, False, "PARTICIPATION", None, consented,
                         consented)
    await consent.record(world.session, prison.principal, REQUEST, ya, None, False, "AGGREGATE_REPORTING", None,
                         consented, consented)
    planning = world.day(consented + dt.timedelta(days=rng.randrange(7, 25)))
    three = [prison.id, world.staff[area.leaving_care].id, world.staff[area.probation].id]
    await meetings.record_meeting(pom, ya, {"kind": "INTEGRATED_PLANNING", "held_on": planning,
                                            "outcome": "Plan drafted together", "young_adult_attended": True},
                                  list(three), [], planning)
    goal = await _plan(world, ya, prison, area, release, planning)
    review = planning
    while True:  # reviews about every three months in custody, now and then late
        review = review + dt.timedelta(weeks=rng.choice((11, 12, 13, 13, 15)))
        if review >= min(release, today):
            break
        await meetings.record_meeting(pom, ya, {"kind": "REVIEW", "held_on": review, "outcome": "Plan reviewed"},
                                      list(three), [], review)
    stage = LL_STAGES[index % len(LL_STAGES)] if story != "intake" else "REFERRED"
    links_referred = world.day(consented + dt.timedelta(days=rng.randrange(5, 25)))
    if _quiet(today, links_referred) != links_referred:  # a referral (to Lifelong Links) too: this month instead
        links_referred = today
    agreed = await _lifelong_links(world, spec, ya, area, goal, stage, links_referred)
    if story in ("intake", "custody"):
        return
    pre_release = world.day(release - dt.timedelta(weeks=rng.randrange(6, 13)))
    await meetings.record_meeting(pom, ya, {"kind": "PRE_RELEASE", "held_on": pre_release,
                                            "outcome": "Release plan confirmed", "young_adult_attended": True},
                                  list(three), list(agreed[:2]), pre_release)
    await custody.record_release(pom, episode["id"], episode["version"], release, "CONDITIONAL", release)
    recalled = story != "released_now" and index % 7 == 3 and add_months(release, 3) <= today
    for point, months in ((p.value, p.months) for p in OutcomeTimePoint):
        observed = add_months(release, months) + dt.timedelta(days=rng.randrange(0, 8) if months else 0)
        if observed > today:
            break
        settled = index % 2 == 0 if point == "RELEASE_DAY" else rng.random() < 0.7
        await outcomes.record_check_in(pom, ya, point, observed, {
            "accommodation": "SETTLED" if settled else rng.choice(["TEMPORARY", "UNKNOWN", "ROUGH_SLEEPING"]),
            "in_education_training_employment": rng.random() < 0.5, "recalled": recalled and months >= 3,
            "network_contacts_last_30_days": rng.randrange(0, 12) if agreed else rng.randrange(0, 3)}, observed)
    if recalled:
        on = add_months(release, 2)
        await custody.record_recall(pom, episode["id"], on, None, "Breach of licence conditions", on)


async def seed_tenant(session: TenantSession, tenant: Tenant, spec: DemoTenant, rng: random.Random,
                      today: dt.date) -> None:
    world = World(session, tenant, today, rng)
    admin = await _set_up(world, spec)
    for index in range(spec.people):
        await _person(world, spec, index, admin)


async def seed_demo(db: Database, today: dt.date | None = None) -> list[str]:
    """Create the demo tenants that do not exist yet, then refresh their national figures; returns the slugs
    created."""
    today = today or clock.today(db.settings.time_zone)
    created = []
    pool = await db.open_pool()
    for slug, spec in DEMO_TENANTS.items():
        rng = random.Random(f"always-hope-demo-{slug}")  # noqa: S311 - reproducible demo data, not security
        async with pool.acquire() as conn:
            if await registry.tenant_by_slug(conn, slug) is not None:
                continue
        tenant = await create_tenant(db.engine, NewTenant(slug, spec.name, spec.kind),
                                     role_prefix=db.settings.role_prefix, app_role=db.settings.app_role)
        async with db.admin_transaction() as admin:
            await apply_template(admin, tenant.id, spec.rule_template, "demo-seed", today)
        connection = RequestConnection(pool, Home.tenant(tenant))
        try:
            await seed_tenant(TenantSession(connection, tenant, today), tenant, spec, rng, today)
        except BaseException:
            await connection.finish(commit=False)
            raise
        await connection.finish(commit=True)
        await refresh_tenant(pool, tenant, today)
        created.append(slug)
    return created


async def has_tenants(db: Database) -> bool:
    async with db.engine.connect() as conn:
        return bool((await conn.execute(text("SELECT EXISTS (SELECT 1 FROM control.tenant)"))).scalar())
