"""GraphQL for `myWork`: the caller's due items and plan actions across every young adult they may see."""

from __future__ import annotations

import datetime as dt
import uuid

import strawberry

from service.api.context import Info
from service.api.relay import Connection, Edge, PageInfo, check_first
from service.my_work import service
from service.people import loaders as people_loaders
from service.people.loaders import scope
from service.plans.api import PlanAction
from service.records.api import YoungAdult
from service.rules import api as rules_api
from service.rules import loaders as rules_loaders

MyWorkKind = service.WorkKind
strawberry.enum(MyWorkKind, name="MyWorkKind", description="DUE_ITEM: due under the practice rules; PLAN_ACTION: an "
                                                           "action of the plan in force owned by you or your service.")


@strawberry.type(description="One thing on your list: a due item or a plan action, with its young adult.")
class MyWorkItem:
    young_adult_id: strawberry.Private[uuid.UUID]
    kind: MyWorkKind
    due_on: dt.date | None = strawberry.field(description="Null for a plan action without a due date.")
    overdue: bool
    due_item: rules_api.DueItem | None = strawberry.field(description="When kind is DUE_ITEM.")
    plan_action: PlanAction | None = strawberry.field(description="When kind is PLAN_ACTION.")

    @classmethod
    def of(cls, info: Info, item: service.WorkItem) -> MyWorkItem:
        return cls(young_adult_id=item.young_adult_id, kind=item.kind, due_on=item.due_on, overdue=item.overdue,
                   due_item=None if item.due_item is None else rules_api.DueItem.of(item.due_item),
                   plan_action=None if item.action is None else PlanAction.from_row(item.action))

    @strawberry.field
    async def young_adult(self, info: Info) -> YoungAdult:
        row = await people_loaders.young_adults(info.context).load(self.young_adult_id)
        assert row is not None, "the item was found through the same scope in the same transaction"
        return YoungAdult.from_row(row)


@strawberry.type
class MyWorkQuery:
    @strawberry.field(description="What is yours to do, across every site and young adult you may see: due items "
                                  "from the practice rules and open plan actions owned by you or your service. "
                                  "Overdue first, then by due date; `withinDays` keeps what is due by then "
                                  "(overdue included).")
    async def my_work(self, info: Info, first: int = 20, after: str | None = None, within_days: int | None = None,
                      kinds: list[MyWorkKind] | None = None,
                      due_item_kinds: list[rules_api.DueItemKind] | None = None,
                      ) -> Connection[MyWorkItem]:
        ctx = info.context
        first, scoped = check_first(first), await scope(ctx)
        where = service.WorkFilter(within_days, None if kinds is None else frozenset(kinds),
                                   None if due_item_kinds is None else frozenset(due_item_kinds))
        items = await service.work_list(ctx.tenant(), ctx.principal, scoped, await rules_loaders.rule_book(ctx),
                                        ctx.today, where)
        rows = service.page(items, after, first)
        edges = [Edge(node=MyWorkItem.of(info, i), cursor=service.encode_cursor(i.sort_key)) for i in rows[:first]]
        return Connection(edges=edges, page_info=PageInfo(has_next_page=len(rows) > first,
                                                          end_cursor=edges[-1].cursor if edges else None))
