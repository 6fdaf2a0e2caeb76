"""The caller's work list: due items from the practice rules (service.rules.due, the same engine as
YoungAdult.dueItems) of every young adult the caller may see, and the open plan actions owned by the caller or their
service in each plan's version in force. Overdue first, then by due date (actions without one last); the order is
total, so a cursor is the position of the last item seen and pages never repeat or skip an item that stays put.

Due items are computed in Python from each young adult's case facts and the rules at their governing site, so the
list is built here rather than by the compiled SQL path: three statements whatever the page size (the caller's
scope, the case facts, the actions), then one for the young adults on the page.
"""

from __future__ import annotations

import base64
import binascii
import enum
import json
import uuid
from dataclasses import dataclass
from datetime import date, timedelta

import asyncpg

from service.kernel.errors import InvalidInput
from service.kernel.principal import Principal
from service.kernel.session import TenantSession
from service.kernel.visibility import Scope
from service.plans import repository as plans_repository
from service.rules import repository as rules_repository
from service.rules.due import DueItem, ItemKind, ItemStatus, due_items
from service.rules.service import RuleBook

MAX_WINDOW_DAYS = 366
SortKey = tuple[int, str, str]


class WorkKind(enum.StrEnum):
    DUE_ITEM = "DUE_ITEM"
    PLAN_ACTION = "PLAN_ACTION"


@dataclass(frozen=True, slots=True)
class WorkItem:
    young_adult_id: uuid.UUID
    due_on: date | None
    overdue: bool
    due_item: DueItem | None = None
    action: asyncpg.Record | None = None

    @property
    def kind(self) -> WorkKind:
        return WorkKind.PLAN_ACTION if self.action is not None else WorkKind.DUE_ITEM

    @property
    def sort_key(self) -> SortKey:
        if self.action is not None:
            ident = f"action:{self.action['id']}"
        else:
            assert self.due_item is not None
            ident = f"due:{self.young_adult_id}:{self.due_item.kind}:{self.due_item.time_point or ''}"
        return 0 if self.overdue else 1, (self.due_on or date.max).isoformat(), ident


@dataclass(frozen=True, slots=True)
class WorkFilter:
    within_days: int | None = None  # due on or before today + N (overdue included); None: everything open
    kinds: frozenset[WorkKind] | None = None
    due_item_kinds: frozenset[ItemKind] | None = None

    def horizon(self, on: date) -> date | None:
        if self.within_days is None:
            return None
        if not 0 <= self.within_days <= MAX_WINDOW_DAYS:
            raise InvalidInput(f"withinDays must be between 0 and {MAX_WINDOW_DAYS}.", field="withinDays")
        return on + timedelta(days=self.within_days)

    def wants(self, kind: WorkKind) -> bool:
        return self.kinds is None or kind in self.kinds


async def work_list(session: TenantSession, principal: Principal, scope: Scope, book: RuleBook, on: date,
                    where: WorkFilter) -> list[WorkItem]:
    """Everything on the caller's list on day ``on``, in order."""
    horizon = where.horizon(on)
    items: list[WorkItem] = []
    if where.wants(WorkKind.DUE_ITEM):
        for facts in await rules_repository.case_facts(session, on, scope=scope):
            for item in due_items(facts, book.values(facts["site_code"]), on):
                if (item.open and (horizon is None or item.due_on <= horizon)
                        and (where.due_item_kinds is None or item.kind in where.due_item_kinds)):
                    items.append(WorkItem(facts["young_adult_id"], item.due_on,
                                          item.status is ItemStatus.OVERDUE, due_item=item))
    service = None if principal.service is None else principal.service.value
    if where.wants(WorkKind.PLAN_ACTION) and (scope.practitioner_id is not None or service is not None):
        for row in await plans_repository.open_actions_owned(session, scope, scope.practitioner_id, service,
                                                             horizon):
            items.append(WorkItem(row["young_adult_id"], row["due_on"],
                                  row["due_on"] is not None and row["due_on"] < on, action=row))
    return sorted(items, key=lambda i: i.sort_key)


def encode_cursor(key: SortKey) -> str:
    return base64.urlsafe_b64encode(json.dumps(["work", *key]).encode()).decode()


def decode_cursor(cursor: str) -> SortKey:
    try:
        tag, overdue, due_on, ident = json.loads(base64.urlsafe_b64decode(cursor.encode()))
    except (ValueError, TypeError, binascii.Error):
        tag = None
    if tag != "work" or not isinstance(overdue, int) or not isinstance(due_on, str) or not isinstance(ident, str):
        raise InvalidInput("`after` is not a cursor this API issued.", field="after")
    return overdue, due_on, ident


def page(items: list[WorkItem], after: str | None, first: int) -> list[WorkItem]:
    """Up to ``first + 1`` items after the cursor (the extra one says there is more)."""
    start = decode_cursor(after) if after is not None else None
    return [i for i in items if start is None or i.sort_key > start][:first + 1]
