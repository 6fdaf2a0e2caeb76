"""Per-request memos for practice rules: the rule book in force (read once per request and day through the request's
control-plane session), and DataLoaders for due items and rule values keyed by young adult."""

from __future__ import annotations

import functools
import uuid
from collections.abc import Iterable, Mapping
from datetime import date
from typing import Any

from strawberry.dataloader import DataLoader

from service.kernel.errors import AccessDenied
from service.kernel.work import MemoKey, UnitOfWork
from service.rules import repository
from service.rules.due import DueItem, due_items
from service.rules.service import RuleBook
from service.rules.service import rule_book as read_rule_book


def today(ctx: UnitOfWork) -> date:
    """The request's day (one per request, in the programme's time zone)."""
    return ctx.today


async def rule_book(ctx: UnitOfWork, on: date | None = None) -> RuleBook:
    """The tenant's rules in force on ``on`` (default: today), read once per request and day from the control plane,
    never cached beyond the request, so a change dated today is in force from the first request after midnight.
    Read before the request's transaction when it has not begun yet (ControlReads: one round trip, not three)."""
    tenant = ctx.principal.tenant
    if tenant is None:
        raise AccessDenied("Your role sees no tenant's practice rules.")
    day = on or ctx.today
    return await ctx.remember(_book(day), lambda: read_rule_book(ctx.control_reads(), tenant.id, day))


def read_with_grant(ctx: UnitOfWork, rows: Iterable[Mapping[str, Any]]) -> None:
    """The rule book in force today, from the rows the request's grant lookup read with the grant
    (repository.CHANGES_IN_FORCE, service.app.auth.load_principal) for an operation that needs it: :func:`rule_book`
    then answers it for the request without reading it again. Read just before the transaction begins, as
    :func:`rule_book`'s own read would have been (ControlReads)."""
    ctx.know(_book(ctx.today), RuleBook.from_rows(rows))


@functools.lru_cache(maxsize=8)  # the same few days, asked a few times a request
def _book(day: date) -> MemoKey[RuleBook]:
    return MemoKey[RuleBook](f"rules.book.{day.isoformat()}")


def due_items_of(ctx: UnitOfWork) -> DataLoader[uuid.UUID, list[DueItem]]:
    """Due items of young adults the caller already may see (the caller checked visibility), by id."""
    async def load(keys: list[uuid.UUID]) -> list[list[DueItem]]:
        book = await rule_book(ctx)
        on = today(ctx)
        rows = await repository.case_facts(ctx.tenant(), on, young_adult_ids=keys)
        found = {r["young_adult_id"]: due_items(r, book.values(r["site_code"]), on) for r in rows}
        return [found.get(k, []) for k in keys]
    return ctx.loader("rules.due_items", load)


def rules_of(ctx: UnitOfWork) -> DataLoader[uuid.UUID, dict[str, Any]]:
    """Rule values in force today at each young adult's governing site, batched (one statement for a page)."""
    async def load(keys: list[uuid.UUID]) -> list[dict[str, Any]]:
        book = await rule_book(ctx)
        codes = await repository.governing_site_codes(ctx.tenant(), keys, today(ctx))
        return [book.values(codes.get(k)) for k in keys]
    return ctx.loader("rules.of_young_adult", load)


async def rules_at_site(ctx: UnitOfWork, site_code: str | None) -> dict[str, Any]:
    """Rule values in force today at a site (None: the tenant level), for features that enforce a rule (referral
    checks, plan sign-off, vetting, caseload caps): ``(await rules_at_site(ctx, "BSI"))["coordinator_caseload_cap"]``.
    """
    return (await rule_book(ctx)).values(site_code)
