"""Practice rules: who may read and change them, what is in force where and why, saving a batch of changes,
previewing what a batch would move, and starting a tenant from a template.

Who (decided for issue #5):
- tenant administrators read, preview and change every rule of their tenant, at tenant level and for any site;
- site managers and practitioners read the rules in force at the tenant level and at their own sites (they explain
  the due items they see) but change nothing: the values are agreed by the region's partnership and one
  accountable role, the tenant administrator, records them;
- platform administrators and national analysts see no tenant's rules (they never enter a tenant).

A batch is written through the request's control-plane session, in the request's transaction, so it commits with
the mutation or not at all. The app login role may INSERT rule versions but never UPDATE or DELETE one, so a flaw in
request code cannot rewrite rule history, and the rule tables stay append-only for everything but migrations.
"""

from __future__ import annotations

import enum
import uuid
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, timedelta
from typing import Any

import asyncpg

from service.kernel.errors import AccessDenied, InvalidInput, NotFound
from service.kernel.principal import Principal, Role
from service.kernel.session import Statements, TenantSession
from service.kernel.visibility import Scope
from service.rules import catalogue, repository
from service.rules.due import DueItem, ItemKind, ItemStatus, due_items

READERS = (Role.TENANT_ADMIN, Role.SITE_MANAGER, Role.PRACTITIONER)


class Level(enum.StrEnum):
    DEFAULT = "DEFAULT"
    TENANT = "TENANT"
    SITE = "SITE"


@dataclass(frozen=True, slots=True)
class Setting:
    """A value set at the tenant level or for a site, and the version that set it."""

    value: Any
    since: date
    set_by: str
    reason: str


@dataclass(frozen=True, slots=True)
class EffectiveRule:
    rule: str
    value: Any
    level: Level
    since: date | None = None
    set_by: str | None = None
    reason: str | None = None


@dataclass(frozen=True)
class RuleBook:
    """The settings of one tenant in force on one day. Resolution for a site: site, then tenant, then default."""

    tenant: dict[str, Setting] = field(default_factory=dict)
    sites: dict[str, dict[str, Setting]] = field(default_factory=dict)
    # values() by site, worked out once per book: a page asks for the same few sites once per young adult
    _values: dict[str | None, dict[str, Any]] = field(default_factory=dict, compare=False, repr=False)

    @classmethod
    def from_rows(cls, rows: Iterable[asyncpg.Record | Mapping[str, Any]]) -> RuleBook:
        book = cls()
        for row in rows:
            if row["value"] is None or row["rule"] not in catalogue.BY_NAME:
                continue  # cleared (inherit the level above), or a rule since retired from the catalogue
            setting = Setting(repository.decode(row["value"]), row["effective_from"], row["author_subject"],
                              row["reason"])
            level = book.tenant if row["site_code"] is None else book.sites.setdefault(row["site_code"], {})
            level[row["rule"]] = setting
        return book

    def _in_force(self, site_code: str | None) -> Iterator[tuple[catalogue.RuleDefinition, Level, Setting | None]]:
        """Each rule of the catalogue with the level its value comes from at ``site_code`` and that level's setting
        (None at the default): the one resolution, site then tenant then default, that explain and values read."""
        site = self.sites.get(site_code, {}) if site_code is not None else {}
        for rule in catalogue.CATALOGUE:
            found = site.get(rule.name)
            if found is not None:
                yield rule, Level.SITE, found
                continue
            found = self.tenant.get(rule.name)
            yield (rule, Level.TENANT, found) if found is not None else (rule, Level.DEFAULT, None)

    def explain(self, site_code: str | None) -> list[EffectiveRule]:
        return [EffectiveRule(rule.name, rule.default, level) if found is None else
                EffectiveRule(rule.name, found.value, level, found.since, found.set_by, found.reason)
                for rule, level, found in self._in_force(site_code)]

    def values(self, site_code: str | None) -> dict[str, Any]:
        """The value of every rule at ``site_code`` (None: the tenant level): the caller's own copy. Made without
        explain's records (a request asks for it once or twice per site, and a book lives one request)."""
        found = self._values.get(site_code)
        if found is None:
            found = self._values[site_code] = {rule.name: rule.default if setting is None else setting.value
                                               for rule, _, setting in self._in_force(site_code)}
        return dict(found)

    def with_changes(self, batch: ChangeBatch, author: str) -> RuleBook:
        tenant = dict(self.tenant)
        sites = {code: dict(settings) for code, settings in self.sites.items()}
        for change in batch.changes:
            level = tenant if change.site_code is None else sites.setdefault(change.site_code, {})
            if change.value is None:
                level.pop(change.rule, None)
            else:
                level[change.rule] = Setting(change.value, batch.effective_from, author, batch.reason)
        return RuleBook(tenant, sites)


@dataclass(frozen=True, slots=True)
class RuleChange:
    rule: str
    site_code: str | None  # None: the tenant level
    value: Any  # None: clear this level's setting, inheriting the level above


@dataclass(frozen=True, slots=True)
class ChangeBatch:
    effective_from: date
    reason: str
    changes: tuple[RuleChange, ...]


def require_rule_admin(principal: Principal) -> None:
    if principal.role is not Role.TENANT_ADMIN or principal.tenant is None:
        raise AccessDenied("Only tenant administrators change practice rules, read their history or preview "
                           "changes.")


def require_reader(principal: Principal, site_code: str | None) -> None:
    if principal.role not in READERS or principal.tenant is None:
        raise AccessDenied("Your role sees no tenant's practice rules.")
    if site_code is not None and principal.role is not Role.TENANT_ADMIN and site_code not in principal.site_codes:
        raise NotFound("No such site.", field="siteCode")


async def rule_book(conn: Statements, tenant_id: uuid.UUID, on: date) -> RuleBook:
    return RuleBook.from_rows(await repository.changes_in_force(conn, tenant_id, on))


async def rules_for_young_adult(session: TenantSession, young_adult_id: uuid.UUID, on: date) -> dict[str, Any]:
    """The rule values in force on ``on`` at the young adult's governing site, for the features that enforce a rule
    (plan sign-off, network vetting, committed members). Rules live in the control plane, read through the session's
    control-plane statements (the login role may read them; the tenant role may not)."""
    code = (await repository.governing_site_codes(session, [young_adult_id], on)).get(young_adult_id)
    book = await rule_book(session.control, session.tenant.id, on)
    return book.values(code)


def _problems(batch: ChangeBatch, today: date, known_sites: set[str] | None) -> list[InvalidInput]:
    problems = []
    if batch.effective_from < today:
        problems.append(InvalidInput("effectiveFrom must be today or later: a change never rewrites the past.",
                                     field="effectiveFrom"))
    if not 1 <= len(batch.reason) <= 1000:
        problems.append(InvalidInput("reason is required (at most 1000 characters): say why the rules change.",
                                     field="reason"))
    if not batch.changes:
        problems.append(InvalidInput("Give at least one change.", field="changes"))
    seen: set[tuple[str | None, str]] = set()
    for i, change in enumerate(batch.changes):
        where = f"changes[{i}]"
        if change.site_code is not None and known_sites is not None and change.site_code not in known_sites:
            problems.append(InvalidInput(f"There is no site {change.site_code[:20]!r} in this tenant.",
                                         field=f"{where}.siteCode"))
        if (change.site_code, change.rule) in seen:
            problems.append(InvalidInput(f"{change.rule[:60]} is changed twice for the same level in this batch.",
                                         field=f"{where}.rule"))
        seen.add((change.site_code, change.rule))
        if change.value is None and change.rule in catalogue.BY_NAME:
            continue
        problem = catalogue.check(change.rule, change.value)
        if problem is not None:
            on_field = "rule" if change.rule not in catalogue.BY_NAME else "value"
            problems.append(InvalidInput(problem, field=f"{where}.{on_field}"))
    return problems


def _normalised(change: RuleChange) -> RuleChange:
    code = (change.site_code or "").strip().upper() or None
    value = change.value
    if value is not None and change.rule in catalogue.BY_NAME and catalogue.check(change.rule, value) is None:
        value = catalogue.normalise(change.rule, value)
    return replace(change, site_code=code, value=value)


def normalised(batch: ChangeBatch) -> ChangeBatch:
    """Site codes upper-cased (blank: the tenant level), reason trimmed, valid choice sets in catalogue order."""
    return ChangeBatch(batch.effective_from, batch.reason.strip(), tuple(_normalised(c) for c in batch.changes))


async def check_batch(session: TenantSession, batch: ChangeBatch, today: date) -> list[InvalidInput]:
    """Every reason the batch cannot be saved (empty when it can). Nothing is written."""
    return _problems(batch, today, await repository.site_codes(session))


async def save_batch(control: Statements, tenant_id: uuid.UUID, author: str, batch: ChangeBatch) -> uuid.UUID:
    """Write a checked batch as new versions, in the caller's transaction (the request's, so the batch commits
    with the rest of the mutation or not at all). Returns the batch id."""
    batch_id = uuid.uuid4()
    await repository.insert_batch(control, tenant_id, batch_id, batch.effective_from, author, batch.reason,
                                  [(c.site_code, c.rule, c.value) for c in batch.changes])
    return batch_id


@dataclass(frozen=True, slots=True)
class DueItemDiff:
    before: DueItem | None
    after: DueItem | None

    @property
    def either(self) -> DueItem:
        item = self.after or self.before
        assert item is not None
        return item


@dataclass(frozen=True, slots=True)
class YoungAdultDiff:
    young_adult_id: uuid.UUID
    site_code: str
    diffs: tuple[DueItemDiff, ...]


def diff_items(before: Sequence[DueItem], after: Sequence[DueItem]) -> tuple[DueItemDiff, ...]:
    old = {i.key: i for i in before}
    new = {i.key: i for i in after}
    keys = sorted(old.keys() | new.keys(), key=lambda k: (k[0].value, k[1] or ""))
    return tuple(DueItemDiff(old.get(k), new.get(k)) for k in keys if old.get(k) != new.get(k))


async def preview(session: TenantSession, current: RuleBook, proposed: RuleBook, on: date) -> list[YoungAdultDiff]:
    """The young adults whose due items would differ on ``on`` under ``proposed`` rather than ``current``."""
    out = []
    for facts in await repository.case_facts(session, on):
        code = facts["site_code"]
        before = due_items(facts, current.values(code), on)
        after = due_items(facts, proposed.values(code), on)
        diffs = diff_items(before, after)
        if diffs:
            out.append(YoungAdultDiff(facts["young_adult_id"], code, diffs))
    return out


async def caseload_by_due(session: TenantSession, book: RuleBook, site_id: uuid.UUID,
                          scope: Scope, on: date, due_within_days: int | None,
                          overdue_only: bool) -> list[tuple[uuid.UUID, list[DueItem]]]:
    """Young adults enrolled at a site with an open item due within the window (or overdue), soonest first."""
    if due_within_days is not None and not 0 <= due_within_days <= 366:
        raise InvalidInput("dueWithinDays must be between 0 and 366.", field="dueWithinDays")
    horizon = date.max if due_within_days is None else on + timedelta(days=due_within_days)
    picked = []
    for facts in await repository.case_facts(session, on, enrolled_at=site_id, scope=scope):
        items = due_items(facts, book.values(facts["site_code"]), on)
        open_items = [i for i in items if i.status is ItemStatus.OVERDUE or (i.open and not overdue_only)]
        soonest = min((i.due_on for i in open_items), default=None)
        if soonest is not None and soonest <= horizon:
            picked.append((soonest, facts["family_name"], facts["given_name"], facts["young_adult_id"], items))
    picked.sort(key=lambda p: p[:4])
    return [(p[3], p[4]) for p in picked]


@dataclass(frozen=True, slots=True)
class Compliance:
    """How the due items of the young adults a site's rules govern stand: counts per status, overall and per kind."""

    young_adults: int
    by_status: dict[ItemStatus, int]
    by_kind: dict[ItemKind, dict[ItemStatus, int]]


async def site_compliance(session: TenantSession, book: RuleBook, site_id: uuid.UUID, on: date) -> Compliance:
    rows = await repository.case_facts(session, on, governed_by=site_id)
    by_status = dict.fromkeys(ItemStatus, 0)
    by_kind: dict[ItemKind, dict[ItemStatus, int]] = {}
    for facts in rows:
        for item in due_items(facts, book.values(facts["site_code"]), on):
            by_status[item.status] += 1
            by_kind.setdefault(item.kind, dict.fromkeys(ItemStatus, 0))[item.status] += 1
    return Compliance(len(rows), by_status, by_kind)


async def apply_template(q: Statements, tenant_id: uuid.UUID, template_name: str, author: str, today: date,
                         ) -> uuid.UUID:
    """Copy a named template's values into the tenant as one batch of versions effective ``today`` (copied, not
    linked: later edits to the template change no tenant), in the caller's transaction. Raises NotFound or
    InvalidInput."""
    values = await repository.template_values(q, template_name)
    if values is None:
        raise NotFound(f"There is no rule template {template_name[:60]!r}.", field="template")
    changes = [RuleChange(rule, None, value) for rule, value in values["tenant"].items()]
    changes += [RuleChange(rule, code, value) for code, settings in values["sites"].items()
                for rule, value in settings.items()]
    batch = normalised(ChangeBatch(today, f"Started from the rule template {template_name!r}.", tuple(changes)))
    problems = _problems(batch, today, None)
    if problems:
        raise InvalidInput(f"The template {template_name!r} no longer fits the catalogue: {problems[0].message}",
                           field="template")
    batch_id = uuid.uuid4()
    await repository.insert_batch(q, tenant_id, batch_id, today, author, batch.reason,
                                  [(c.site_code, c.rule, c.value) for c in batch.changes])
    return batch_id
