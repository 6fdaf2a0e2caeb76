"""Per-request memos for practice rules: the day, the rule book in force (read once per request on the application
pool, never cached beyond the request, so a change dated today is in force from the first request after midnight),
and a DataLoader for due items keyed by young adult."""

from __future__ import annotations

import asyncio
import uuid
from datetime import date
from typing import Any

from strawberry.dataloader import DataLoader

from service.api.context import Context
from service.kernel.errors import AccessDenied
from service.rules import repository
from service.rules.due import DueItem, due_items
from service.rules.service import RuleBook
from service.rules.service import rule_book as read_rule_book

# The clock, read once per request. A module attribute so a test can move the day under a running service.
clock = date.today


def today(ctx: Context) -> date:
    """One day per request, so every field of one answer agrees even across midnight."""
    if "rules.today" not in ctx.extras:
        ctx.extras["rules.today"] = clock()
    day: date = ctx.extras["rules.today"]
    return day


async def rule_book(ctx: Context, on: date | None = None) -> RuleBook:
    tenant = ctx.principal.tenant
    if tenant is None:
        raise AccessDenied("Your role sees no tenant's practice rules.")
    on = on or today(ctx)
    lock = ctx.extras.setdefault("rules.lock", asyncio.Lock())
    async with lock:
        key = f"rules.book.{on.isoformat()}"
        book = ctx.extras.get(key)
        if book is None:
            pool = await ctx.db.open_control_pool()
            async with pool.acquire() as conn:
                book = await read_rule_book(conn, tenant.id, on)
            ctx.extras[key] = book
    assert isinstance(book, RuleBook)
    return book


def due_items_of(ctx: Context) -> DataLoader[uuid.UUID, list[DueItem]]:
    """Due items of young adults the caller already may see (the caller checked visibility), by id."""
    async def load(keys: list[uuid.UUID]) -> list[list[DueItem]]:
        book = await rule_book(ctx)
        on = today(ctx)
        rows = await repository.case_facts(ctx.tenant(), young_adult_ids=keys)
        found = {r["young_adult_id"]: due_items(r, book.values(r["site_code"]), on) for r in rows}
        return [found.get(k, []) for k in keys]
    return ctx.loader("rules.due_items", lambda _session: load)


def rules_of(ctx: Context) -> DataLoader[uuid.UUID, dict[str, Any]]:
    """Rule values in force today at each young adult's governing site, batched (one statement for a page)."""
    async def load(keys: list[uuid.UUID]) -> list[dict[str, Any]]:
        book = await rule_book(ctx)
        codes = await repository.governing_site_codes(ctx.tenant(), keys)
        return [book.values(codes.get(k)) for k in keys]
    return ctx.loader("rules.of_young_adult", lambda _session: load)


async def rules_at_site(ctx: Context, site_code: str | None) -> dict[str, Any]:
    """Rule values in force today at a site (None: the tenant level), for features that enforce a rule (referral
    checks, plan sign-off, vetting, caseload caps): ``(await rules_at_site(ctx, "BSI"))["coordinator_caseload_cap"]``.
    """
    return (await rule_book(ctx)).values(site_code)
