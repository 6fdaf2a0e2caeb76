"""GraphQL types and thin resolvers for practice rules: the catalogue, what is in force and why, history, preview,
changes, due items and a site's practice compliance."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import TYPE_CHECKING, Annotated, cast

import asyncpg
import strawberry
from strawberry.scalars import JSON

from service.api.common import UserError, node_of, user_error
from service.api.context import Info
from service.api.relay import Connection, check_first, connection, cursor_id, expect_id
from service.kernel.errors import InvalidInput, NotFound
from service.kernel.visibility import Scope
from service.people import loaders as people_loaders
from service.people import repository as people_repository
from service.rules import catalogue, loaders, repository
from service.rules import due as due_engine
from service.rules import service as rules

if TYPE_CHECKING:
    from service.records.api import YoungAdult

# The domain enums, published as they are (strawberry.enum registers a class in place and returns it).
RuleType = catalogue.RuleType
RuleUnit = catalogue.RuleUnit
RuleLevel = rules.Level
DueItemKind = due_engine.ItemKind
DueItemStatus = due_engine.ItemStatus
strawberry.enum(RuleType, description="The shape of a rule's value.")
strawberry.enum(RuleUnit, description="What a rule's numbers count.")
strawberry.enum(RuleLevel, name="RuleLevel", description="Where an effective value comes from.")
strawberry.enum(DueItemKind, name="DueItemKind", description="What is due.")
strawberry.enum(DueItemStatus, name="DueItemStatus",
                description="ON_TIME, DUE_SOON (within the site's due_soon_days; the handover within "
                            "handover_alert_weeks), OVERDUE, or DONE.")


@strawberry.type(description="One rule of the catalogue: what a front-end needs to build its settings screen.")
class RuleDefinition:
    name: str
    type: RuleType
    unit: RuleUnit
    default: JSON
    minimum: int | None = strawberry.field(description="Least value (INTEGER, INTEGER_RANGE) or fewest choices.")
    maximum: int | None
    allowed_values: list[str] = strawberry.field(description="The names a CHOICE_SET rule may list.")
    statutory_maximum: int | None = strawberry.field(description="A limit set by law, when there is one.")
    statutory_basis: str | None
    explanation: str

    @classmethod
    def of(cls, r: catalogue.RuleDefinition) -> RuleDefinition:
        return cls(name=r.name, type=r.type, unit=r.unit, default=r.default, minimum=r.minimum, maximum=r.maximum,
                   allowed_values=list(r.allowed_values), statutory_maximum=r.statutory_maximum,
                   statutory_basis=r.statutory_basis, explanation=r.explanation)


@strawberry.type(description="The value of a rule in force, and why: the level it comes from, since when, by whom.")
class EffectiveRule:
    rule: str
    value: JSON
    level: RuleLevel
    since: dt.date | None
    set_by: str | None
    reason: str | None


@strawberry.type(description="One version of one rule: a value set (or, when null, cleared) at a level.")
class PracticeRuleChange:
    id: strawberry.ID
    batch_id: strawberry.ID = strawberry.field(description="Changes saved together share a batch.")
    rule: str
    site_code: str | None = strawberry.field(description="The site overridden; null for the tenant level.")
    value: JSON | None = strawberry.field(description="Null: the level's setting was cleared (inherits above).")
    effective_from: dt.date
    author: str
    reason: str
    created_at: dt.datetime

    @classmethod
    def from_row(cls, row: asyncpg.Record) -> PracticeRuleChange:
        return cls(id=strawberry.ID(str(row["id"])), batch_id=strawberry.ID(str(row["batch_id"])), rule=row["rule"],
                   site_code=row["site_code"], value=repository.decode(row["value"]),
                   effective_from=row["effective_from"], author=row["author_subject"], reason=row["reason"],
                   created_at=row["created_at"])


@strawberry.type(description="Something due for a young adult under the practice rules of their site.")
class DueItem:
    kind: DueItemKind
    due_on: dt.date
    status: DueItemStatus
    rule: str = strawberry.field(description="The practice rule that set the due date.")
    time_point: str | None = strawberry.field(description="For OUTCOME_CHECK_IN: which check-in.")

    @classmethod
    def of(cls, item: due_engine.DueItem) -> DueItem:
        return cls(kind=item.kind, due_on=item.due_on, status=item.status, rule=item.rule,
                   time_point=item.time_point)


@strawberry.type(description="An item that a rule change would add, remove, move or re-status.")
class DueItemChange:
    kind: DueItemKind
    time_point: str | None
    before: DueItem | None
    after: DueItem | None


@strawberry.type(description="A young adult whose due items a proposed change would alter.")
class YoungAdultDueChanges:
    young_adult: Annotated[YoungAdult, strawberry.lazy("service.records.api")]
    site_code: str = strawberry.field(description="The site whose rules govern the young adult.")
    changes: list[DueItemChange]
    gains_overdue: bool
    loses_overdue: bool


@strawberry.type(description="What a batch of rule changes would do, evaluated on its effective date.")
class PracticeRulePreview:
    effective_from: dt.date
    young_adults: list[YoungAdultDueChanges]
    errors: list[UserError] = strawberry.field(description="Why the batch could not be saved; empty when it can.")


@strawberry.type
class StatusCounts:
    on_time: int
    due_soon: int
    overdue: int
    done: int

    @classmethod
    def of(cls, counts: dict[due_engine.ItemStatus, int]) -> StatusCounts:
        s = due_engine.ItemStatus
        return cls(on_time=counts[s.ON_TIME], due_soon=counts[s.DUE_SOON], overdue=counts[s.OVERDUE],
                   done=counts[s.DONE])


@strawberry.type
class KindCompliance:
    kind: DueItemKind
    counts: StatusCounts


@strawberry.type(description="How the due items of the young adults a site's rules govern stand today.")
class SiteCompliance:
    on: dt.date
    young_adults: int
    counts: StatusCounts
    by_kind: list[KindCompliance]


@strawberry.input(description="Set one rule at the tenant level (no siteCode) or for one site.")
class PracticeRuleChangeInput:
    rule: str
    site_code: str | None = None
    value: JSON | None = strawberry.field(default=None,
                                          description="The new value; null clears this level's setting.")


@strawberry.input(description="A batch of changes, saved all together or not at all.")
class ChangePracticeRulesInput:
    reason: str
    changes: list[PracticeRuleChangeInput]
    effective_from: dt.date | None = strawberry.field(default=None, description="Today (the default) or later.")


@strawberry.type
class ChangePracticeRulesPayload:
    batch_id: strawberry.ID | None
    changes: list[PracticeRuleChange]
    errors: list[UserError]


def _batch(input: ChangePracticeRulesInput, today: dt.date) -> rules.ChangeBatch:
    return rules.normalised(rules.ChangeBatch(
        input.effective_from or today, input.reason,
        tuple(rules.RuleChange(c.rule, c.site_code, c.value) for c in input.changes)))


async def due_items_of(info: Info, young_adult_id: uuid.UUID) -> list[DueItem]:
    """For YoungAdult.dueItems: batched across a page of young adults."""
    return [DueItem.of(i) for i in await loaders.due_items_of(info.context).load(young_adult_id)]


async def due_caseload(info: Info, site_id: uuid.UUID, scope: Scope, after: uuid.UUID | None, first: int,
                       due_within_days: int | None, overdue_only: bool) -> list[asyncpg.Record]:
    """For youngAdults(dueWithinDays:, overdueOnly:): up to ``first + 1`` young-adult rows of a site's caseload,
    filtered and ordered by what is due, in two statements whatever the page size."""
    ctx = info.context
    ordered = await rules.caseload_by_due(ctx.tenant(), await loaders.rule_book(ctx), site_id, scope,
                                          loaders.today(ctx), due_within_days, overdue_only)
    ids = [young_adult_id for young_adult_id, _ in ordered]
    if after is not None and after not in ids:
        raise InvalidInput("`after` is no longer in this list (what is due has changed); start from the first page.",
                           field="after")
    start = 0 if after is None else ids.index(after) + 1
    page = ordered[start:start + first + 1]
    for young_adult_id, items in page:
        loaders.due_items_of(ctx).prime(young_adult_id, items)
    rows = await people_repository.young_adults_by_id(ctx.tenant(), [i for i, _ in page], scope)
    found = {r["id"]: r for r in rows}
    return [found[i] for i, _ in page if i in found]


async def _preview_young_adults(info: Info, diffs: list[rules.YoungAdultDiff]) -> list[YoungAdultDueChanges]:
    ctx = info.context
    rows = {r["id"]: r for r in await people_repository.young_adults_by_id(
        ctx.tenant(), [d.young_adult_id for d in diffs], await people_loaders.scope(ctx))}
    for row in rows.values():
        people_loaders.young_adults(ctx).prime(row["id"], row)
    out = []
    for d in diffs:
        late = due_engine.ItemStatus.OVERDUE
        overdue_before = {c.before.key for c in d.diffs if c.before and c.before.status is late}
        overdue_after = {c.after.key for c in d.diffs if c.after and c.after.status is late}
        out.append(YoungAdultDueChanges(
            young_adult=cast("YoungAdult", await node_of(info, "YoungAdult", d.young_adult_id)),
            site_code=d.site_code,
            changes=[DueItemChange(kind=c.either.kind, time_point=c.either.time_point,
                                   before=DueItem.of(c.before) if c.before else None,
                                   after=DueItem.of(c.after) if c.after else None) for c in d.diffs],
            gains_overdue=bool(overdue_after - overdue_before), loses_overdue=bool(overdue_before - overdue_after)))
    return out


@strawberry.type
class RulesQuery:
    @strawberry.field(description="Every practice rule: type, unit, default, range, statutory limit, explanation.")
    def rule_catalogue(self) -> list[RuleDefinition]:
        return [RuleDefinition.of(r) for r in catalogue.CATALOGUE]

    @strawberry.field(description="The catalogue as a JSON Schema document (also at GET /rules/schema.json).")
    def rule_catalogue_json_schema(self) -> JSON:
        return JSON(catalogue.json_schema())

    @strawberry.field(description="Every rule's value in force at a site (or the tenant level) on a day "
                                  "(default today), with where it comes from.")
    async def practice_rules(self, info: Info, site_code: str | None = None, on: dt.date | None = None,
                             ) -> list[EffectiveRule]:
        code = (site_code or "").strip().upper() or None
        rules.require_reader(info.context.principal, code)
        book = await loaders.rule_book(info.context, on)
        return [EffectiveRule(rule=e.rule, value=e.value, level=e.level, since=e.since, set_by=e.set_by,
                              reason=e.reason) for e in book.explain(code)]

    @strawberry.field(description="Every version of the tenant's rules, newest first. Tenant administrators only.")
    async def practice_rule_history(self, info: Info, rule: str | None = None, site_code: str | None = None,
                                    first: int = 20, after: str | None = None) -> Connection[PracticeRuleChange]:
        principal = info.context.principal
        rules.require_rule_admin(principal)
        assert principal.tenant is not None
        first = check_first(first)
        code = (site_code or "").strip().upper() or None
        rows = await repository.history(info.context.control(), principal.tenant.id, rule, code, cursor_id(after),
                                        first + 1)
        return connection(rows, first, PracticeRuleChange.from_row, lambda r: r["id"])

    @strawberry.field(description="What a batch of changes would do to due items, without saving it. Tenant "
                                  "administrators only.")
    async def preview_practice_rule_changes(self, info: Info, input: ChangePracticeRulesInput,
                                            ) -> PracticeRulePreview:
        ctx = info.context
        rules.require_rule_admin(ctx.principal)
        batch = _batch(input, loaders.today(ctx))
        problems = await rules.check_batch(ctx.tenant(), batch, loaders.today(ctx))
        if problems:
            return PracticeRulePreview(effective_from=batch.effective_from, young_adults=[],
                                       errors=[user_error(p) for p in problems])
        current = await loaders.rule_book(ctx, batch.effective_from)
        proposed = current.with_changes(batch, ctx.principal.subject)
        diffs = await rules.preview(ctx.tenant(), current, proposed, batch.effective_from)
        return PracticeRulePreview(effective_from=batch.effective_from,
                                   young_adults=await _preview_young_adults(info, diffs), errors=[])

    @strawberry.field(description="Practice compliance at a site: its young adults' due items by status and kind.")
    async def site_compliance(self, info: Info, site_id: strawberry.ID) -> SiteCompliance:
        ctx = info.context
        raw = expect_id(site_id, "Site", "siteId")
        scope = await people_loaders.scope(ctx)
        if raw is None or not scope.covers(raw) or await people_loaders.sites(ctx).load(raw) is None:
            raise NotFound("No such site.", field="siteId")
        on = loaders.today(ctx)
        result = await rules.site_compliance(ctx.tenant(), await loaders.rule_book(ctx), raw, on)
        return SiteCompliance(on=on, young_adults=result.young_adults, counts=StatusCounts.of(result.by_status),
                              by_kind=[KindCompliance(kind=k, counts=StatusCounts.of(v))
                                       for k, v in sorted(result.by_kind.items())])


@strawberry.type
class RulesMutation:
    @strawberry.mutation(description="Save a batch of rule changes as new versions, all or nothing. Tenant "
                                     "administrators only; every refusal is returned, none saved.")
    async def change_practice_rules(self, info: Info, input: ChangePracticeRulesInput) -> ChangePracticeRulesPayload:
        ctx = info.context
        principal = ctx.principal
        rules.require_rule_admin(principal)
        assert principal.tenant is not None
        batch = _batch(input, loaders.today(ctx))
        problems = await rules.check_batch(ctx.tenant(), batch, loaders.today(ctx))
        if problems:
            return ChangePracticeRulesPayload(batch_id=None, changes=[], errors=[user_error(p) for p in problems])
        batch_id = await rules.save_batch(ctx.control(), principal.tenant.id, principal.subject, batch)
        rows = await repository.batch(ctx.control(), principal.tenant.id, batch_id)
        return ChangePracticeRulesPayload(batch_id=strawberry.ID(str(batch_id)),
                                          changes=[PracticeRuleChange.from_row(r) for r in rows], errors=[])
