"""The root fields the compiler plans: how each turns its arguments into a page of ids, with the same rules as its
resolver (the same repository SQL, the same argument checks). Anything a resolver would refuse returns None, and
the ordinary executor answers, with its usual error."""

from __future__ import annotations

from typing import Any

from service.api.relay import check_first, cursor_id, expect_id
from service.app.compiled.compiler import Page, RootField
from service.kernel.errors import AccessDenied, DomainError
from service.kernel.principal import Principal
from service.kernel.session import TenantSession
from service.people import repository as people
from service.people.service import scope_for
from service.records import api as records_api
from service.records import repository as records

_FILTER_FIELDS = {"siteId": "site_id", "search": "search", "onMyTeam": "on_my_team"}


async def caseload_page(session: TenantSession, principal: Principal, args: dict[str, Any]) -> Page | None:
    given = args.get("filter") or {}
    first, after, order = args.get("first"), args.get("after"), args.get("orderBy")
    if (not isinstance(given, dict) or not set(given) <= set(_FILTER_FIELDS) or type(first) is not int
            or not (after is None or isinstance(after, str)) or not isinstance(order, str)
            or order not in records.CaseloadOrder.__members__):
        return None  # a shape the resolver coerces differently (dates, enums, nulls): let it answer
    if not all(isinstance(v, str) for k, v in given.items() if k != "onMyTeam") or \
            not isinstance(given.get("onMyTeam", False), bool):
        return None
    try:
        where = records_api.filter_of(records_api.CaseloadFilter(**{_FILTER_FIELDS[k]: v for k, v in given.items()}))
        first = check_first(first)
        scope = await scope_for(session, principal)
        sql, params = records.caseload_query(scope, where, records.CaseloadOrder[order], cursor_id(after), first + 1)
    except (DomainError, AccessDenied):
        return None
    return Page(sql, params, first, scope)


async def young_adult(session: TenantSession, principal: Principal, args: dict[str, Any]) -> Page | None:
    """`youngAdult(id:)`: the one row the resolver's loader selects (the same SQL), so a missing or refused record
    is an empty page, answered null with nothing recorded, as the resolver does. A malformed id falls back."""
    given = args.get("id")
    raw = expect_id(given, "YoungAdult", "id") if isinstance(given, str) else None
    if raw is None:
        return None
    try:
        scope = await scope_for(session, principal)
    except (DomainError, AccessDenied):
        return None
    sql, params = people.young_adult_page(scope, raw)
    return Page(sql, params, 1, scope)


ROOTS = (
    RootField("caseload", "YoungAdult", {"filter": None, "orderBy": "NAME", "first": 20, "after": None},
              caseload_page),
    RootField("youngAdult", "YoungAdult", {"id": None}, young_adult, connection=False, generic_plan=True),
)
