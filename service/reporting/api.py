"""The reporting API: the metric catalogue, national figures under disclosure control for national analysts, a
tenant administrator's own figures unsuppressed, and refreshing the rollups."""

from __future__ import annotations

import datetime as dt
import enum
from typing import Annotated

import strawberry

from service.api import kept
from service.api.common import UserError, user_error
from service.api.context import Info
from service.api.enums import TenantKind
from service.kernel.errors import DomainError
from service.reporting import service
from service.reporting.catalogue import METRICS
from service.reporting.catalogue import Metric as MetricRecord
from service.reporting.disclosure import Count, DisclosurePolicy, Entity, Figure, Reason


@strawberry.enum(description="How a metric is made: a count, a rate (percentage) or a median.")
class MetricKind(enum.Enum):
    COUNT = "COUNT"
    RATE = "RATE"
    MEDIAN = "MEDIAN"


@strawberry.enum
class PeriodGrain(enum.Enum):
    MONTH = "MONTH"
    QUARTER = "QUARTER"
    YEAR = "YEAR"


@strawberry.enum(description="Why a figure is not shown.")
class SuppressionReason(enum.Enum):
    SMALL_COUNT = "SMALL_COUNT"
    SECONDARY = "SECONDARY"
    SMALL_DENOMINATOR = "SMALL_DENOMINATOR"


@strawberry.enum(description="What the rows of a national table are.")
class ReportBreakdown(enum.Enum):
    TENANT = "TENANT"
    TENANT_KIND = "TENANT_KIND"
    SITE = "SITE"


@strawberry.type(description="A metric's written definition.")
class MetricDefinition:
    key: str
    title: str
    kind: MetricKind
    unit: str
    numerator: str
    denominator: str
    period: str = strawberry.field(description="The date that places a record in a month, quarter and year.")

    @classmethod
    def of(cls, m: MetricRecord) -> MetricDefinition:
        return cls(key=m.key, title=m.title, kind=MetricKind(m.kind.value), unit=m.unit, numerator=m.numerator,
                   denominator=m.denominator, period=m.period)


@strawberry.type(description="A count, or null with the reason it is suppressed.")
class DisclosedCount:
    value: int | None
    suppressed: bool
    reason: SuppressionReason | None

    @classmethod
    def of(cls, c: Count | None) -> DisclosedCount | None:
        if c is None:
            return None
        return cls(value=c.value, suppressed=c.suppressed,
                   reason=SuppressionReason(c.reason.value) if c.reason else None)


@strawberry.type(description="A figure: a count, a percentage (0-100) or a median; null with the reason when "
                             "suppressed. Rates carry their numerator and denominator, medians their count.")
class MetricValue:
    value: float | None
    suppressed: bool
    reason: SuppressionReason | None
    numerator: DisclosedCount | None
    denominator: DisclosedCount | None

    @classmethod
    def of(cls, f: Figure) -> MetricValue:
        reason: Reason | None = f.reason
        return cls(value=f.value, suppressed=f.suppressed, reason=SuppressionReason(reason.value) if reason else None,
                   numerator=DisclosedCount.of(f.numerator), denominator=DisclosedCount.of(f.denominator))


@strawberry.type
class MetricRow:
    key: str = strawberry.field(description="Tenant slug, tenant kind or site code.")
    label: str
    value: MetricValue


@strawberry.type
class MetricTable:
    metric: str
    grain: PeriodGrain
    period_start: dt.date
    breakdown: ReportBreakdown
    total: MetricValue
    rows: list[MetricRow]

    @classmethod
    def of(cls, t: service.Table) -> MetricTable:
        """The table as GraphQL answers it; a table kept and shared between requests is made once, and each
        selection of it completed once (service.api.kept)."""
        return kept.shared(t, cls._of) if t.shared else cls._of(t)

    @classmethod
    def _of(cls, t: service.Table) -> MetricTable:
        return cls(metric=t.metric.key, grain=PeriodGrain(t.grain), period_start=t.period_start,
                   breakdown=ReportBreakdown(t.breakdown), total=MetricValue.of(t.total),
                   rows=[MetricRow(key=r.key, label=r.label, value=MetricValue.of(r.figure)) for r in t.rows])


@strawberry.type
class MetricPoint:
    period_start: dt.date
    value: MetricValue


@strawberry.type
class MetricSeries:
    key: str = strawberry.field(description="'national', a tenant kind, a tenant slug, or 'slug/SITE'.")
    label: str
    points: list[MetricPoint]

    @classmethod
    def of(cls, s: service.Series) -> MetricSeries:
        return cls(key=s.key, label=s.label, points=[MetricPoint(period_start=p, value=MetricValue.of(f))
                                                     for p, f in s.points])


@strawberry.type(description="A tenant as national reporting names it.")
class ReportingTenant:
    slug: str
    name: str
    kind: TenantKind


@strawberry.input(description="Disclosure control for one report. Values may be stricter than the defaults, "
                              "never weaker. Secondary suppression always applies.")
class DisclosurePolicyInput:
    min_count: int = strawberry.field(default=5, description="Counts from 1 to minCount - 1 are suppressed.")
    min_denominator: int = strawberry.field(default=10, description="Rates and medians need this many records.")
    round_to: int | None = strawberry.field(default=None, description="Round shown counts to this base.")

    def policy(self) -> DisclosurePolicy:
        return DisclosurePolicy(self.min_count, self.min_denominator, self.round_to)


From = Annotated[dt.date, strawberry.argument(name="from")]


def _policy(policy: DisclosurePolicyInput | None) -> DisclosurePolicy:
    return policy.policy() if policy is not None else DisclosurePolicy()


async def national_table(info: Info, metric: str, grain: PeriodGrain, period_start: dt.date,
                         breakdown: ReportBreakdown, tenant: str | None,
                         policy: DisclosurePolicyInput | None) -> service.Table:
    ctx = info.context
    service.require_national(ctx.principal)
    return await service.national_table(ctx.national(), ctx.settings.national_role, ctx.principal,
                                        metric, grain.value, period_start, breakdown.value, tenant, _policy(policy))


@strawberry.type
class ReportingQuery:
    @strawberry.field(description="Every national metric with its definition. National analysts, tenant admins.")
    def metric_catalogue(self, info: Info) -> list[MetricDefinition]:
        service.require_catalogue_reader(info.context.principal)
        return [MetricDefinition.of(m) for m in METRICS]

    @strawberry.field(description="Tenants in national reporting. National analysts only.")
    async def reporting_tenants(self, info: Info) -> list[ReportingTenant]:
        service.require_national(info.context.principal)
        return [ReportingTenant(slug=t.slug, name=t.name, kind=TenantKind(t.kind))
                for t in await service.national_tenants(info.context.national())]

    @strawberry.field(description="Periods that have figures, oldest first. National analysts only.")
    async def reporting_periods(self, info: Info, grain: PeriodGrain) -> list[dt.date]:
        service.require_national(info.context.principal)
        return await service.national_periods(info.context.national(), grain.value)

    @strawberry.field(description="One metric for one period: the national total (or a tenant's, for SITE) and "
                                  "its breakdown, under disclosure control. National analysts only.")
    async def national_metric(self, info: Info, metric: str, grain: PeriodGrain, period_start: dt.date,
                              breakdown: ReportBreakdown = ReportBreakdown.TENANT, tenant: str | None = None,
                              policy: DisclosurePolicyInput | None = None) -> MetricTable:
        return MetricTable.of(await national_table(info, metric, grain, period_start, breakdown, tenant, policy))

    @strawberry.field(description="One metric over time for the nation, a tenant kind, a tenant, or a site of a "
                                  "tenant (at most 120 points). National analysts only.")
    async def national_series(self, info: Info, metric: str, grain: PeriodGrain, from_: From, to: dt.date,
                              tenant: str | None = None, tenant_kind: TenantKind | None = None, site: str | None = None,
                              policy: DisclosurePolicyInput | None = None) -> MetricSeries:
        ctx = info.context
        service.require_national(ctx.principal)
        m = service.metric(metric)
        national = ctx.national()
        if tenant is not None:
            t = service.find_tenant(await service.national_tenants(national), tenant)
            if site is not None:
                entity: Entity = ("S", str(t.id), site)
                label, slug = f"{t.name} {site}", f"{t.slug}/{site}"
            else:
                entity, label, slug = ("T", str(t.id)), t.name, t.slug
        elif tenant_kind is not None:
            entity, label, slug = ("K", tenant_kind.value), service.KIND_LABELS[tenant_kind.value], tenant_kind.value
        else:
            entity, label, slug = ("N",), "National", "national"
        view = await service.national_series(national, ctx.settings.national_role, m, _policy(policy), grain.value,
                                             from_, to, [entity])
        return MetricSeries.of(service.series(view, entity, label, slug, grain.value, from_, to))

    @strawberry.field(description="One metric over time for several tenants side by side. National analysts only.")
    async def tenant_comparison(self, info: Info, metric: str, grain: PeriodGrain, from_: From, to: dt.date,
                                tenants: list[str], policy: DisclosurePolicyInput | None = None
                                ) -> list[MetricSeries]:
        ctx = info.context
        service.require_national(ctx.principal)
        m = service.metric(metric)
        national = ctx.national()
        known = await service.national_tenants(national)
        chosen = [service.find_tenant(known, slug) for slug in tenants[:50]]
        view = await service.national_series(national, ctx.settings.national_role, m, _policy(policy), grain.value,
                                             from_, to, [("T", str(t.id)) for t in chosen])
        return [MetricSeries.of(service.series(view, ("T", str(t.id)), t.name, t.slug, grain.value, from_, to))
                for t in chosen]

    @strawberry.field(description="Your tenant's figure for one metric and period, by site, unsuppressed. "
                                  "Tenant administrators only.")
    async def own_tenant_metric(self, info: Info, metric: str, grain: PeriodGrain,
                                period_start: dt.date) -> MetricTable:
        ctx = info.context
        tenant = service.require_tenant_admin(ctx.principal)
        m = service.metric(metric)
        view = await service.own_view(ctx.control(), tenant, m)
        own = view.tenants[0]
        return MetricTable.of(service.table(view, m, grain.value, period_start, "SITE", own))

    @strawberry.field(description="Your tenant's figures for one metric over time, unsuppressed. Tenant "
                                  "administrators only.")
    async def own_tenant_series(self, info: Info, metric: str, grain: PeriodGrain, from_: From,
                                to: dt.date) -> MetricSeries:
        ctx = info.context
        tenant = service.require_tenant_admin(ctx.principal)
        m = service.metric(metric)
        view = await service.own_view(ctx.control(), tenant, m)
        return MetricSeries.of(service.series(view, ("T", str(tenant.id)), tenant.name, tenant.slug, grain.value,
                                              from_, to))


@strawberry.input
class RefreshReportingInput:
    tenant: str | None = strawberry.field(default=None, description="A tenant slug; platform administrators may "
                                                                    "omit it to refresh every tenant.")
    full: bool = strawberry.field(default=False, description="Recompute every tenant named, changed or not, and "
                                                             "republish every metric (a full rebuild).")


@strawberry.type
class RefreshedTenant:
    tenant: str
    rollup_rows: int
    skipped: bool = strawberry.field(description="Unchanged since its last rollup on the same day: not recomputed.")


@strawberry.type
class RefreshReportingPayload:
    refreshed: list[RefreshedTenant]
    errors: list[UserError]


@strawberry.type
class ReportingMutation:
    @strawberry.mutation(description="Recompute reporting rollups now: a tenant administrator's own tenant, or (a "
                                     "platform administrator) one or every tenant, two tenants at a time.")
    async def refresh_reporting(self, info: Info, input: RefreshReportingInput) -> RefreshReportingPayload:
        try:
            results = await service.refresh_for(await info.context.jobs(), info.context.principal, input.tenant,
                                                full=input.full)
        except DomainError as exc:
            return RefreshReportingPayload(refreshed=[], errors=[user_error(exc)])
        refreshed = [RefreshedTenant(tenant=r.tenant, rollup_rows=r.rows, skipped=r.skipped) for r in results]
        return RefreshReportingPayload(refreshed=refreshed, errors=[])
