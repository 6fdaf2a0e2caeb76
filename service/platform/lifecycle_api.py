"""The platform administrators' API for onboarding and the tenant lifecycle. Never returns case data: sites are
organisations, the checklist counts sites and grants. Export and restore are CLI-only for the same reason: an
export is case data, and the GraphQL platform API never hands case data to anyone."""

from __future__ import annotations

import enum

import strawberry

from service.api.common import UserError, user_error
from service.api.context import Info
from service.api.enums import SiteKind, TenantKind
from service.kernel.errors import DomainError
from service.kernel.tenancy import tenant_transaction
from service.platform import onboarding
from service.platform.api import Tenant, require_platform_admin
from service.platform.onboarding import Onboarding
from service.tenant_admin import repository as sites_repository
from service.tenant_admin.api import StepOutcome, outcome
from service.tenant_admin.service import SiteSpec
from tenants import lifecycle
from tenants.lifecycle import TenantRecord, Transition
from tenants.templates import RULE_TEMPLATES


@strawberry.enum(description="An onboarding step.")
class OnboardingAction(enum.Enum):
    CREATE_TENANT = "CREATE_TENANT"
    APPLY_RULE_TEMPLATE = "APPLY_RULE_TEMPLATE"
    ADD_SITE = "ADD_SITE"
    GRANT_ADMIN = "GRANT_ADMIN"
    ACTIVATE = "ACTIVATE"


# The checklist's items are the onboarding service's own enum, published under this name.
strawberry.enum(onboarding.Item, name="ChecklistItem",
                description="Something a tenant needs before it is fully set up.")


@strawberry.type(description="What one onboarding step did, to what (the slug, a site code, a subject).")
class OnboardingStep:
    action: OnboardingAction
    target: str
    outcome: StepOutcome


@strawberry.type
class ChecklistEntry:
    item: onboarding.Item
    done: bool
    description: str


@strawberry.type(description="What a tenant has and what it still lacks.")
class OnboardingChecklist:
    slug: str
    rule_template: str | None
    schema_revision: str | None
    entries: list[ChecklistEntry]

    @strawberry.field(description="What is still missing, in checklist order.")
    def missing(self) -> list[onboarding.Item]:
        return [e.item for e in self.entries if not e.done]

    @strawberry.field(description="True when nothing is missing.")
    def complete(self) -> bool:
        return all(e.done for e in self.entries)


def _checklist(tenant: TenantRecord, entries: list[onboarding.ChecklistEntry]) -> OnboardingChecklist:
    return OnboardingChecklist(slug=tenant.slug, rule_template=tenant.rule_template,
                               schema_revision=tenant.schema_revision,
                               entries=[ChecklistEntry(item=e.item, done=e.done,
                                                       description=e.description) for e in entries])


@strawberry.type(description="A practice-rule template a tenant can be onboarded from.")
class RuleTemplate:
    name: str
    description: str


@strawberry.type(description="A site as platform administrators see it: the organisation, nothing of its cases.")
class TenantSite:
    code: str
    name: str
    kind: SiteKind
    closed: bool


@strawberry.input
class SiteInput:
    code: str
    name: str
    kind: SiteKind


@strawberry.input
class AdminInput:
    subject: str = strawberry.field(description="The administrator's subject at the identity provider.")
    display_name: str = ""


@strawberry.input(description="Everything a new region or cohort needs; repeating it with the same input is safe.")
class OnboardTenantInput:
    slug: str = strawberry.field(description="Lower-case letters, digits and hyphens, 3-40 long; names the schema.")
    name: str
    kind: TenantKind
    rule_template: str = strawberry.field(description="One of `ruleTemplates`.")
    sites: list[SiteInput] = strawberry.field(default_factory=list)
    admins: list[AdminInput] = strawberry.field(default_factory=list,
                                                description="The tenant's first administrators.")
    activate: bool = strawberry.field(default=True, description="Activate the tenant once it has an open site "
                                                                "and an administrator.")


@strawberry.input
class AddTenantSitesInput:
    slug: str
    sites: list[SiteInput]


@strawberry.input
class GrantTenantAdminInput:
    slug: str
    subject: str
    display_name: str = ""


@strawberry.type
class OnboardTenantPayload:
    tenant: Tenant | None
    steps: list[OnboardingStep]
    checklist: OnboardingChecklist | None
    errors: list[UserError]


@strawberry.input
class TenantSlugInput:
    slug: str


@strawberry.type
class TenantLifecyclePayload:
    tenant: Tenant | None
    outcome: StepOutcome | None
    errors: list[UserError]


@strawberry.input
class DeleteTenantInput:
    slug: str
    confirm_slug: str = strawberry.field(description="Type the slug again: deletion cannot be undone.")


@strawberry.type
class DeleteTenantPayload:
    slug: str | None
    outcome: StepOutcome | None
    errors: list[UserError]


def _tenant(record: TenantRecord) -> Tenant:
    return Tenant.from_record(record.as_tenant())


def _steps_payload(result: onboarding.Result) -> OnboardTenantPayload:
    return OnboardTenantPayload(
        tenant=None if result.tenant is None else _tenant(result.tenant),
        steps=[OnboardingStep(action=OnboardingAction(s.action.value), target=s.target,
                              outcome=StepOutcome(s.outcome.value)) for s in result.steps],
        checklist=None if result.tenant is None else _checklist(result.tenant, result.checklist),
        errors=[] if result.error is None else [user_error(result.error)])


def _sites(sites: list[SiteInput]) -> tuple[SiteSpec, ...]:
    return tuple(SiteSpec(s.code, s.name, s.kind.value) for s in sites)


async def _steps(info: Info, slug: str, run: onboarding.StepRunner) -> OnboardTenantPayload:
    result = onboarding.Result()
    db = info.context.platform()
    try:
        result.tenant = await lifecycle.get(db.engine, slug)
        result.steps.extend(await run(result.tenant))
    except DomainError as exc:
        result.error = exc
    if result.tenant is not None:
        result.checklist = await onboarding.checklist(db, result.tenant)
    return _steps_payload(result)


async def _transition(info: Info, slug: str, step: Transition) -> TenantLifecyclePayload:
    require_platform_admin(info)
    try:
        record, done = await lifecycle.transition(info.context.platform().engine, slug, step,
                                                  info.context.principal.subject)
    except DomainError as exc:
        return TenantLifecyclePayload(tenant=None, outcome=None, errors=[user_error(exc)])
    return TenantLifecyclePayload(tenant=_tenant(record), outcome=outcome(done), errors=[])


@strawberry.type
class LifecycleQuery:
    @strawberry.field(description="The practice-rule templates tenants can be onboarded from.")
    def rule_templates(self, info: Info) -> list[RuleTemplate]:
        require_platform_admin(info)
        return [RuleTemplate(name=n, description=d) for n, d in RULE_TEMPLATES.items()]

    @strawberry.field(description="What a tenant has and still lacks. Platform administrators only.")
    async def onboarding_checklist(self, info: Info, slug: str) -> OnboardingChecklist:
        require_platform_admin(info)
        db = info.context.platform()
        tenant = await lifecycle.get(db.engine, slug)
        return _checklist(tenant, await onboarding.checklist(db, tenant))

    @strawberry.field(description="A tenant's sites (organisations only). Platform administrators only.")
    async def tenant_sites(self, info: Info, slug: str) -> list[TenantSite]:
        require_platform_admin(info)
        db = info.context.platform()
        tenant = await lifecycle.get(db.engine, slug)
        async with tenant_transaction(await db.open_jobs_pool(), tenant.as_tenant()) as conn:
            rows = await sites_repository.all_sites(conn)
        return [TenantSite(code=r["code"], name=r["name"], kind=SiteKind(r["kind"]), closed=r["closed_at"] is not None)
                for r in rows]


@strawberry.type
class LifecycleMutation:
    @strawberry.mutation(description="Onboard a region or cohort: tenant, sites, first administrators, activation. "
                                     "Idempotent; returns each step's outcome and what is still missing.")
    async def onboard_tenant(self, info: Info, input: OnboardTenantInput) -> OnboardTenantPayload:
        require_platform_admin(info)
        spec = Onboarding(input.slug, input.name, input.kind.value, input.rule_template, _sites(input.sites),
                          tuple((a.subject, a.display_name) for a in input.admins), input.activate)
        return _steps_payload(await onboarding.onboard(info.context.platform(), spec, info.context.principal.subject))

    @strawberry.mutation(description="Add sites to a tenant; sites already there with the same name and kind "
                                     "answer ALREADY_DONE.")
    async def add_tenant_sites(self, info: Info, input: AddTenantSitesInput) -> OnboardTenantPayload:
        require_platform_admin(info)
        db = info.context.platform()
        sites = _sites(input.sites)
        return await _steps(info, input.slug, lambda tenant: onboarding.ensure_sites(db, tenant, sites))

    @strawberry.mutation(description="Make a user an administrator of a tenant.")
    async def grant_tenant_admin(self, info: Info, input: GrantTenantAdminInput) -> OnboardTenantPayload:
        require_platform_admin(info)
        db = info.context.platform()

        async def grant(tenant: TenantRecord) -> list[onboarding.Step]:
            return [await onboarding.ensure_admin(db, tenant, input.subject, input.display_name)]
        return await _steps(info, input.slug, grant)

    @strawberry.mutation(description="Let a provisioned tenant's users sign in.")
    async def activate_tenant(self, info: Info, input: TenantSlugInput) -> TenantLifecyclePayload:
        return await _transition(info, input.slug, Transition.ACTIVATE)

    @strawberry.mutation(description="Pause a tenant: its users are told it is suspended; its data is untouched.")
    async def suspend_tenant(self, info: Info, input: TenantSlugInput) -> TenantLifecyclePayload:
        return await _transition(info, input.slug, Transition.SUSPEND)

    @strawberry.mutation(description="Restore access to a suspended or archived tenant.")
    async def reactivate_tenant(self, info: Info, input: TenantSlugInput) -> TenantLifecyclePayload:
        return await _transition(info, input.slug, Transition.REACTIVATE)

    @strawberry.mutation(description="Archive a tenant (no access; kept until deleted).")
    async def archive_tenant(self, info: Info, input: TenantSlugInput) -> TenantLifecyclePayload:
        return await _transition(info, input.slug, Transition.ARCHIVE)

    @strawberry.mutation(description="Delete an archived tenant: its schema and roles are dropped and the deletion "
                                     "recorded. Needs the slug typed again as `confirmSlug`.")
    async def delete_tenant(self, info: Info, input: DeleteTenantInput) -> DeleteTenantPayload:
        require_platform_admin(info)
        try:
            deletion = await lifecycle.delete(info.context.platform().engine, input.slug,
                                              confirm_slug=input.confirm_slug, actor=info.context.principal.subject)
        except DomainError as exc:
            return DeleteTenantPayload(slug=None, outcome=None, errors=[user_error(exc)])
        return DeleteTenantPayload(slug=deletion.slug, outcome=outcome(deletion.outcome), errors=[])
