"""Onboarding a region or cohort, end to end: the tenant (from a rule template), its sites, its first
administrators, activation, and a checklist of what is still missing.

Every step is idempotent: run it again with the same input and it answers ALREADY_DONE; a repeat that conflicts
with what is there (the same slug with another name or kind, the same site code with another name or kind) is
refused with a Conflict naming the field. Steps run in order and stop at the first refusal; what was done stays
done, so a corrected rerun picks up where it stopped.

A tenant that does not exist yet is onboarded in one transaction, the one that provisions it: its rules, sites,
first administrators and activation commit with its schema, roles and registry row, or nothing does. Every input
those steps read was validated before the transaction began and nothing else can hold the new slug (provisioning
holds its lock), so no step can be refused there; what can still fail (the server, the connection) leaves no
half-onboarded tenant, and the rerun starts afresh. A tenant that exists already (a rerun, a createTenant, a
concurrent onboarding of the same slug) goes step by step, each in its own short transaction.

Platform administrators never read case data: site steps touch the ``site`` table only — in a tenant transaction
as the tenant's runtime role, or, while the tenant is being created, as its owner role in the creating
transaction (the only one that can see the new schema), as the rest of its schema was written — and everything
else is the control plane.
"""

from __future__ import annotations

import contextlib
import enum
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field

from sqlalchemy.ext.asyncio import AsyncConnection

from service.kernel.clock import today
from service.kernel.database import Database
from service.kernel.errors import Conflict, DomainError, InvalidInput
from service.kernel.principal import Role
from service.kernel.tenancy import ENTER_TENANT, tenant_transaction
from service.rules.service import apply_template
from service.tenant_admin import repository as sites_repository
from service.tenant_admin.service import GrantSpec, SiteSpec, ensure_grant, ensure_site, validate_subject
from tenants import lifecycle
from tenants.lifecycle import Outcome, TenantRecord, Transition
from tenants.provisioning import NewTenant, provision, provision_with
from tenants.templates import validate_template


class Action(enum.StrEnum):
    CREATE_TENANT = "CREATE_TENANT"
    APPLY_RULE_TEMPLATE = "APPLY_RULE_TEMPLATE"
    ADD_SITE = "ADD_SITE"
    GRANT_ADMIN = "GRANT_ADMIN"
    ACTIVATE = "ACTIVATE"


class Item(enum.StrEnum):
    SITE = "SITE"
    TENANT_ADMIN = "TENANT_ADMIN"
    PRACTITIONER = "PRACTITIONER"
    PRISON_SITE = "PRISON_SITE"
    PROBATION_SITE = "PROBATION_SITE"
    LEAVING_CARE_SITE = "LEAVING_CARE_SITE"
    LIFELONG_LINKS_SITE = "LIFELONG_LINKS_SITE"
    RULE_TEMPLATE = "RULE_TEMPLATE"
    ACTIVE = "ACTIVE"


ITEM_DESCRIPTIONS = {
    Item.SITE: "at least one open site",
    Item.TENANT_ADMIN: "a tenant administrator",
    Item.PRACTITIONER: "at least one practitioner granted access",
    Item.PRISON_SITE: "a prison site",
    Item.PROBATION_SITE: "a probation site",
    Item.LEAVING_CARE_SITE: "a leaving-care site",
    Item.LIFELONG_LINKS_SITE: "a Lifelong Links site",
    Item.RULE_TEMPLATE: "a practice-rule template",
    Item.ACTIVE: "the tenant is active (its users can sign in)",
}


@dataclass(frozen=True, slots=True)
class Step:
    action: Action
    target: str
    outcome: Outcome


@dataclass(frozen=True, slots=True)
class ChecklistEntry:
    item: Item
    done: bool

    @property
    def description(self) -> str:
        return ITEM_DESCRIPTIONS[self.item]


@dataclass(frozen=True, slots=True)
class Onboarding:
    slug: str
    name: str
    kind: str
    rule_template: str
    sites: tuple[SiteSpec, ...] = ()
    admins: tuple[tuple[str, str], ...] = ()  # (subject, display name)
    activate: bool = True


# Back to the admin user inside the creating transaction (SET LOCAL, as ENTER_TENANT).
LEAVE_TENANT_ROLE = "SELECT set_config('role', 'none', true)"

StepRunner = Callable[[TenantRecord], Awaitable[list[Step]]]


@dataclass(slots=True)
class Result:
    tenant: TenantRecord | None = None
    steps: list[Step] = field(default_factory=list)
    checklist: list[ChecklistEntry] = field(default_factory=list)
    error: DomainError | None = None


async def ensure_tenant(db: Database, new: NewTenant, actor: str) -> tuple[TenantRecord, Outcome]:
    new = new.validated()
    assert new.rule_template is not None
    validate_template(new.rule_template)
    async with db.engine.connect() as conn:
        found = await lifecycle.find(conn, new.slug)
    if found is None:
        try:
            created = await provision(db.engine, new, role_prefix=db.settings.role_prefix,
                                      app_role=db.settings.app_role, status="PROVISIONING", actor=actor)
        except Conflict:
            async with db.engine.connect() as conn:
                found = await lifecycle.find(conn, new.slug)  # created at the same moment: compare below
            if found is None:
                raise  # no tenant holds the slug, something else does (a role outside the registry): say what
        else:
            return created, Outcome.CREATED
    if (found.name, found.kind) != (new.name, new.kind):
        raise Conflict("A tenant with this slug exists with another name or kind.", field="slug")
    if found.rule_template not in (None, new.rule_template):
        raise Conflict("A tenant with this slug exists with another rule template.", field="rule_template")
    if found.status in ("SUSPENDED", "ARCHIVED"):
        raise Conflict(f"This tenant is {found.status.lower()}; reactivate it instead of onboarding it again.",
                       field="slug")
    if found.rule_template is None:  # created before onboarding existed (createTenant): record the template
        return await lifecycle.set_rule_template(db.engine, found, new.rule_template), Outcome.UPDATED
    return found, Outcome.ALREADY_DONE


async def ensure_practice_rules(db: Database, tenant: TenantRecord, template: str, actor: str, *,
                                created: bool = False) -> Step:
    """Copy the rule template into the tenant's practice rules, once: a tenant with any rule version keeps them
    (one ``created`` a moment ago has none)."""
    if not created and await lifecycle.has_practice_rules(db.engine, tenant):
        return Step(Action.APPLY_RULE_TEMPLATE, template, Outcome.ALREADY_DONE)
    async with db.admin_transaction() as conn:
        await apply_template(conn, tenant.id, template, actor, today(db.settings.time_zone))
    return Step(Action.APPLY_RULE_TEMPLATE, template, Outcome.CREATED)


async def ensure_sites(db: Database, tenant: TenantRecord, sites: Sequence[SiteSpec]) -> list[Step]:
    """Add sites in one tenant transaction: a refused site undoes the others of this call."""
    steps = []
    async with tenant_transaction(await db.open_jobs_pool(), tenant.as_tenant()) as conn:
        for spec in sites:
            row, done = await ensure_site(conn, spec)
            steps.append(Step(Action.ADD_SITE, row["code"], done))
    return steps


async def ensure_admin(db: Database, tenant: TenantRecord, subject: str, display_name: str) -> Step:
    spec = GrantSpec(subject, Role.TENANT_ADMIN, display_name=display_name)
    async with tenant_transaction(await db.open_jobs_pool(), tenant.as_tenant()) as conn, \
            db.admin_transaction() as admin:
        row, done = await ensure_grant(admin, conn, tenant.id, spec, replace=False)
    return Step(Action.GRANT_ADMIN, row["subject"], done)


async def checklist(db: Database, tenant: TenantRecord) -> list[ChecklistEntry]:
    async with tenant_transaction(await db.open_jobs_pool(), tenant.as_tenant()) as conn:
        by_kind = await sites_repository.open_sites_by_kind(conn)
    async with db.admin_transaction() as admin:
        by_role = await sites_repository.active_users_by_role(admin, tenant.id)
    return checklist_of(tenant, by_kind, by_role)


def checklist_of(tenant: TenantRecord, by_kind: dict[str, int], by_role: dict[str, int]) -> list[ChecklistEntry]:
    """The checklist from the tenant's open sites by kind and active grants by role."""
    done = {
        Item.SITE: sum(by_kind.values()) > 0,
        Item.TENANT_ADMIN: by_role.get(Role.TENANT_ADMIN.value, 0) > 0,
        Item.PRACTITIONER: by_role.get(Role.PRACTITIONER.value, 0) > 0,
        Item.PRISON_SITE: by_kind.get("PRISON", 0) > 0,
        Item.PROBATION_SITE: by_kind.get("PROBATION", 0) > 0,
        Item.LEAVING_CARE_SITE: by_kind.get("LEAVING_CARE", 0) > 0,
        Item.LIFELONG_LINKS_SITE: by_kind.get("LIFELONG_LINKS", 0) > 0,
        Item.RULE_TEMPLATE: tenant.rule_template is not None,
        Item.ACTIVE: tenant.status == "ACTIVE",
    }
    return [ChecklistEntry(item, done[item]) for item in Item]


def _validate(spec: Onboarding) -> Onboarding:
    NewTenant(spec.slug, spec.name, spec.kind).validated()
    validate_template(spec.rule_template)
    sites = tuple(s.validated() for s in spec.sites)
    if len({s.code for s in sites}) != len(sites):
        raise InvalidInput("Each site code may appear once.", field="sites")
    admins = tuple((validate_subject(subject), display.strip()) for subject, display in spec.admins)
    return Onboarding(spec.slug, spec.name, spec.kind, spec.rule_template, sites, admins, spec.activate)


async def onboard(db: Database, spec: Onboarding, actor: str) -> Result:
    """Run every onboarding step; stop at the first refusal and say which. Activates the tenant (if asked) once
    it has an open site and an administrator, so its users can sign in the moment this returns."""
    result = Result()
    ready_list: list[ChecklistEntry] | None = None  # the checklist activation was decided on
    try:
        spec = _validate(spec)
        new = NewTenant(spec.slug, spec.name, spec.kind, spec.rule_template)
        # Creation first (its own check finds an existing slug); Conflict: the tenant exists, or its roles are in
        # the way: the steps below compare it with the input, or say what is wrong.
        with contextlib.suppress(Conflict):
            result.tenant, result.steps, ready_list = await provision_with(
                db.engine, new, role_prefix=db.settings.role_prefix, app_role=db.settings.app_role,
                status="PROVISIONING", actor=actor,
                then=lambda conn, tenant: _first_steps(db, spec, actor, conn, tenant))
        if result.tenant is None:
            tenant, done = await ensure_tenant(db, new, actor)
            result.tenant = tenant
            result.steps.append(Step(Action.CREATE_TENANT, tenant.slug, done))
            result.steps.append(await ensure_practice_rules(db, tenant, spec.rule_template, actor,
                                                            created=done is Outcome.CREATED))
            result.steps.extend(await ensure_sites(db, tenant, spec.sites))
            for subject, display in spec.admins:
                result.steps.append(await ensure_admin(db, tenant, subject, display))
            if spec.activate:
                ready_list = await checklist(db, tenant)
                if _ready(ready_list):
                    tenant, done = await lifecycle.transition(db.engine, tenant.slug, Transition.ACTIVATE, actor) \
                        if tenant.status == "PROVISIONING" else (tenant, Outcome.ALREADY_DONE)
                    result.tenant = tenant
                    result.steps.append(Step(Action.ACTIVATE, tenant.slug, done))
    except DomainError as exc:
        result.error = exc
    if result.tenant is not None and ready_list is not None and result.error is None:
        # Nothing but the activation happened since that checklist: the tenant as activation left it is current.
        active = result.tenant.status == "ACTIVE"
        result.checklist = [ChecklistEntry(e.item, active) if e.item is Item.ACTIVE else e for e in ready_list]
    elif result.tenant is not None:
        result.tenant = await lifecycle.get(db.engine, result.tenant.slug)
        result.checklist = await checklist(db, result.tenant)
    return result


def _ready(entries: list[ChecklistEntry]) -> bool:
    """Whether a tenant may be activated: an open site and an administrator."""
    done = {e.item: e.done for e in entries}
    return done[Item.SITE] and done[Item.TENANT_ADMIN]


async def _first_steps(db: Database, spec: Onboarding, actor: str, conn: AsyncConnection, tenant: TenantRecord,
                       ) -> tuple[TenantRecord, list[Step], list[ChecklistEntry] | None]:
    """Every step after the creation, in the transaction that created ``tenant`` (as the admin user): the same
    functions the step-by-step path runs, on the creating connection. Tenant-side statements run as the tenant's
    owner role in its schema (the admin may become it; provisioning made it so), control-plane ones as the admin.
    Returns the tenant, the steps and the checklist activation was decided on (None when not asked)."""
    q = (await conn.get_raw_connection()).driver_connection
    assert q is not None
    steps = [Step(Action.CREATE_TENANT, tenant.slug, Outcome.CREATED)]
    await apply_template(q, tenant.id, spec.rule_template, actor, today(db.settings.time_zone))
    steps.append(Step(Action.APPLY_RULE_TEMPLATE, spec.rule_template, Outcome.CREATED))
    await q.fetchrow(ENTER_TENANT, tenant.owner_role, tenant.schema)
    for site in spec.sites:
        row, done = await ensure_site(q, site)
        steps.append(Step(Action.ADD_SITE, row["code"], done))
    by_kind = await sites_repository.open_sites_by_kind(q) if spec.activate else {}
    await q.fetchrow(LEAVE_TENANT_ROLE)  # the search path stays the tenant's: a grant's sites are read there
    for subject, display in spec.admins:
        row, done = await ensure_grant(q, q, tenant.id, GrantSpec(subject, Role.TENANT_ADMIN, display_name=display),
                                       replace=False)
        steps.append(Step(Action.GRANT_ADMIN, row["subject"], done))
    if not spec.activate:
        return tenant, steps, None
    ready_list = checklist_of(tenant, by_kind, await sites_repository.active_users_by_role(q, tenant.id))
    if _ready(ready_list):
        tenant, done = await lifecycle.transition_in(conn, tenant.slug, Transition.ACTIVATE, actor)
        steps.append(Step(Action.ACTIVATE, tenant.slug, done))
    return tenant, steps, ready_list
