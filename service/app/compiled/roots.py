"""The root fields the compiler plans: how each turns its arguments into a page of ids, with the same rules as its
resolver (the same repository SQL, the same argument checks). Anything a resolver would refuse returns None, and
the ordinary executor answers, with its usual error."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from service.api.enums import AuditAction
from service.api.model import TypeModel, rows_visible
from service.api.relay import check_first, cursor_id, expect_id
from service.app.compiled.compiler import SCOPE_ME, SCOPE_SITES, Caller, Page, PageBuilder, RootField
from service.audit import api as audit_api
from service.audit import repository as audit
from service.audit.model import ROW_KEY
from service.consent.model import CONSENT, CONSENT_ORDER
from service.kernel.errors import AccessDenied, DomainError
from service.kernel.principal import Principal, Role
from service.kernel.session import TenantSession
from service.kernel.visibility import Scope
from service.network.model import (
    CASE,
    COMMITMENT,
    COMMITMENT_ORDER,
    CURRENT_CASE_ORDER,
    MEETING,
    MEETING_KIND,
    MEMBER,
    MEMBER_ORDER,
    NETWORK_MEETING_ORDER,
)
from service.people import repository as people
from service.people.service import scope_arguments, scope_for
from service.records import api as records_api
from service.records import repository as records

_FILTER_FIELDS = {"siteId": "site_id", "search": "search", "onMyTeam": "on_my_team"}


async def _scope(session: TenantSession, principal: Principal) -> Scope | None:
    """The caller's scope, or None when the resolver would refuse the caller (it then answers, with its error)."""
    try:
        return await scope_for(session, principal)
    except (DomainError, AccessDenied):
        return None


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
        site_codes, _ = scope_arguments(principal)  # the statement works the scope out (Caller)
        sql, params = records.caseload_query((SCOPE_SITES, SCOPE_ME), where, records.CaseloadOrder[order],
                                             cursor_id(after), first + 1, columns="ya.id")
    except (DomainError, AccessDenied):
        return None
    return Page(sql, params, first, Caller(site_codes))


async def young_adult(session: TenantSession, principal: Principal, args: dict[str, Any]) -> Page | None:
    """`youngAdult(id:)`: the one row the resolver's loader selects (the same SQL), so a missing or refused record
    is an empty page, answered null with nothing recorded, as the resolver does. A malformed id falls back."""
    given = args.get("id")
    raw = expect_id(given, "YoungAdult", "id") if isinstance(given, str) else None
    if raw is None:
        return None
    try:
        site_codes, _ = scope_arguments(principal)  # the statement works the scope out (Caller)
    except (DomainError, AccessDenied):
        return None
    sql, params = people.young_adult_page((SCOPE_SITES, SCOPE_ME), raw)
    return Page(sql, params, 1, Caller(site_codes))


ALL = 2**31 - 1  # a list root shows every row of its page

# Optional uuid arguments of a root by young adult: argument -> the column it filters on (null: no filter).
Filters = dict[str, str]


def of_young_adult(model: TypeModel, order: str, where: str = "true", filters: Filters | None = None,
                   first: int = ALL) -> PageBuilder:
    """The rows of ``model`` belonging to the young adult ``youngAdultId`` names, in ``order`` (over ``{t}``), as
    the resolvers list them (the first ``first``); visibility from the declaration, as everywhere. A young adult the
    caller may not see (or a malformed id or argument) is the resolver's to refuse: None."""
    assert model.table is not None
    assert model.young_adult is not None
    given = filters or {}

    async def page(session: TenantSession, principal: Principal, args: dict[str, Any]) -> Page | None:
        young_adult = args.get("youngAdultId")
        raw = expect_id(young_adult, "YoungAdult", "youngAdultId") if isinstance(young_adult, str) else None
        values: list[uuid.UUID | None] = []
        for argument in given:
            value = args.get(argument)
            try:
                values.append(None if value is None else uuid.UUID(value))
            except (TypeError, ValueError, AttributeError):
                return None
        if raw is None:
            return None
        scope = await _scope(session, principal)
        if scope is None:
            return None
        if not await people.visible_young_adult_ids(session, [raw], scope):
            return None
        conditions = [f"{model.young_adult} = $1", where, rows_visible(model, "{t}", 2)]
        conditions += [f"(${i}::uuid IS NULL OR {{t}}.{column} = ${i}::uuid)"
                       for i, column in enumerate(given.values(), start=4)]
        sql = (f"SELECT {{t}}.id, row_number() OVER (ORDER BY {order}) AS ord FROM {model.table} {{t}} "
               f"WHERE {' AND '.join(conditions)}").replace("{t}", "r")
        return Page(sql, [raw, *scope.args, *values], first, scope)
    return page


async def sites_page(session: TenantSession, principal: Principal, args: dict[str, Any]) -> Page | None:
    """The tenant's sites, by name, for any caller with case data (sites are not case data)."""
    scope = await _scope(session, principal)
    if scope is None:
        return None
    return Page("SELECT r.id, row_number() OVER (ORDER BY r.name) AS ord FROM site r", [], ALL, scope)


def _audit_page(where: audit.EventFilter, after: str | None, first: int, scope: Scope,
                young_adult: uuid.UUID | None) -> Page:
    """The (event, subject) rows the resolvers list (the repository's statement), keyed as their cursors are; with
    the view of ``young_adult``'s trail recorded when one is named, as the resolvers record it."""
    before = cursor_id(after)
    sql, params = audit.events_query(where, audit_api.position(before), first + 1)
    key = ROW_KEY.format(id="q.id", n="q.n")
    page = (f"SELECT {key} AS id, row_number() OVER (ORDER BY q.occurred_at DESC, q.id DESC, q.n DESC) AS ord "
            f"FROM ({sql}) q")
    if young_adult is None:
        return Page(page, params, first, scope)
    return Page(page, [*params, young_adult], first, scope, views=(("AuditTrail", len(params) + 1),))


_WHOLE_TENANT = Scope(None)  # a tenant administrator's (people.service.scope_for), which the trail's rows ignore
_NOTHING = "SELECT NULL::uuid AS id, 1::bigint AS ord WHERE false"
_EVENT_FILTER = {"actor": "actor", "youngAdultId": "young_adult_id", "subjectId": "subject_id", "action": "action",
                 "from": "from_", "to": "to"}


async def audit_events_page(session: TenantSession, principal: Principal, args: dict[str, Any]) -> Page | None:
    """`auditEvents(filter:)`, for tenant administrators (anyone else: the resolver refuses). Arguments of a shape
    the resolver would coerce or refuse fall back to it."""
    given, first, after = args.get("filter") or {}, args.get("first"), args.get("after")
    if principal.role is not Role.TENANT_ADMIN or not isinstance(given, dict) or not set(given) <= set(_EVENT_FILTER) \
            or type(first) is not int or not (after is None or isinstance(after, str)):
        return None
    values: dict[str, Any] = {}
    try:
        for name, value in given.items():
            if value is None:
                continue
            if not isinstance(value, str):
                return None
            values[_EVENT_FILTER[name]] = dt.date.fromisoformat(value) if name in ("from", "to") \
                else AuditAction(value) if name == "action" else value
        first = check_first(first)
        where, unknown = audit_api.event_filter(audit_api.AuditEventFilter(**values))
        cursor_id(after)
        if unknown:
            return Page(_NOTHING, [], first, _WHOLE_TENANT)
        return _audit_page(where, after, first, _WHOLE_TENANT, where.young_adult_id)
    except (ValueError, DomainError, AccessDenied):
        return None


async def audit_trail_page(session: TenantSession, principal: Principal, args: dict[str, Any]) -> Page | None:
    """`auditTrail(youngAdultId:)`, for tenant administrators, as `auditEvents` filtered by the young adult."""
    given, first, after = args.get("youngAdultId"), args.get("first"), args.get("after")
    if principal.role is not Role.TENANT_ADMIN or not isinstance(given, str) or type(first) is not int \
            or not (after is None or isinstance(after, str)):
        return None
    raw = expect_id(given, "YoungAdult", "youngAdultId")
    try:
        first = check_first(first)
        cursor_id(after)
        if raw is None:
            return Page(_NOTHING, [], first, _WHOLE_TENANT)
        return _audit_page(audit.EventFilter(young_adult_id=raw), after, first, _WHOLE_TENANT, raw)
    except (DomainError, AccessDenied):
        return None


_YOUNG_ADULT = {"youngAdultId": None}

ROOTS = (
    RootField("caseload", "YoungAdult", {"filter": None, "orderBy": "NAME", "first": 20, "after": None},
              caseload_page),
    RootField("youngAdult", "YoungAdult", {"id": None}, young_adult, connection=False, generic_plan=True),
    RootField("networkMembers", "NetworkMember", _YOUNG_ADULT, of_young_adult(MEMBER, MEMBER_ORDER),
              connection=False, many=True),
    RootField("networkMeetings", "NetworkMeeting", _YOUNG_ADULT,
              of_young_adult(MEETING, NETWORK_MEETING_ORDER, MEETING_KIND), connection=False, many=True),
    RootField("commitmentsForYoungAdult", "NetworkCommitment",
              {**_YOUNG_ADULT, "goalLineageId": None, "actionLineageId": None},
              of_young_adult(COMMITMENT, COMMITMENT_ORDER,
                             filters={"goalLineageId": "goal_lineage_id", "actionLineageId": "action_lineage_id"}),
              connection=False, many=True),
    RootField("lifelongLinksCase", "LifelongLinksCase", _YOUNG_ADULT,
              of_young_adult(CASE, CURRENT_CASE_ORDER, first=1), connection=False),
    RootField("consents", "Consent", _YOUNG_ADULT,
              of_young_adult(CONSENT, CONSENT_ORDER), connection=False, many=True),
    RootField("sites", "Site", {}, sites_page, connection=False, many=True),
    RootField("auditEvents", "AuditEvent", {"filter": None, "first": 50, "after": None}, audit_events_page),
    RootField("auditTrail", "AuditEvent", {"youngAdultId": None, "first": 50, "after": None}, audit_trail_page),
)
