"""Due items: what the rules in force at a young adult's site say is due next, and whether it is late.

Pure functions of one young adult's case facts (repository.FACTS), the rule values in force at their governing
site, and the day. No I/O: the same code answers "what is due" and "what would be due under these rules"
(the preview), so the two can never disagree.

Where the facts come from: reviews are INTEGRATED_PLANNING, THREE_WAY and REVIEW meetings and plan agreements;
a personal-adviser visit is a meeting a practitioner with role PERSONAL_ADVISER attended; the handover is done
when a handover is recorded (service/moves/) whose checklist confirms every item the handover_checklist rule asks
for — never inferred from who is on the team; working days are Monday to Friday (bank holidays are not
known to the platform).
"""

from __future__ import annotations

import calendar
import enum
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any, Protocol

from service.kernel.domain import OutcomeTimePoint

OUTCOME_MONTHS = {point.value: point.months for point in OutcomeTimePoint}


class Facts(Protocol):
    """One row of repository.FACTS (an asyncpg record, or any mapping with the same keys)."""

    def __getitem__(self, key: str) -> Any: ...


class ItemKind(enum.StrEnum):
    FIRST_PLANNING_MEETING = "FIRST_PLANNING_MEETING"
    PLAN_REVIEW = "PLAN_REVIEW"
    PA_VISIT = "PA_VISIT"
    LIFELONG_LINKS_REFERRAL = "LIFELONG_LINKS_REFERRAL"
    HANDOVER = "HANDOVER"
    PRE_RELEASE_MEETING = "PRE_RELEASE_MEETING"
    NETWORK_COMMITMENTS = "NETWORK_COMMITMENTS"
    CONSENT_RECONFIRMATION = "CONSENT_RECONFIRMATION"
    POST_RELEASE_REVIEW = "POST_RELEASE_REVIEW"
    OUTCOME_CHECK_IN = "OUTCOME_CHECK_IN"


class ItemStatus(enum.StrEnum):
    ON_TIME = "ON_TIME"
    DUE_SOON = "DUE_SOON"
    OVERDUE = "OVERDUE"
    DONE = "DONE"


@dataclass(frozen=True, slots=True)
class DueItem:
    kind: ItemKind
    due_on: date
    status: ItemStatus
    rule: str  # the practice rule that set the due date
    time_point: str | None = None  # OUTCOME_CHECK_IN only

    @property
    def key(self) -> tuple[ItemKind, str | None]:
        """Identifies "the same item" under two rule sets (for the preview)."""
        return self.kind, self.time_point

    @property
    def open(self) -> bool:
        return self.status is not ItemStatus.DONE


def add_months(day: date, months: int) -> date:
    month0 = day.month - 1 + months
    year, month = day.year + month0 // 12, month0 % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def add_working_days(day: date, n: int) -> date:
    while n > 0:
        day += timedelta(days=1)
        if day.weekday() < 5:
            n -= 1
    return day


def status_of(due_on: date, done: bool, on: date, soon_days: int) -> ItemStatus:
    if done:
        return ItemStatus.DONE
    if on > due_on:
        return ItemStatus.OVERDUE
    if (due_on - on).days <= soon_days:
        return ItemStatus.DUE_SOON
    return ItemStatus.ON_TIME


def due_items(facts: Facts, rules: Mapping[str, Any], on: date) -> list[DueItem]:
    """Every due item of one young adult on day ``on``, earliest first."""
    soon = int(rules["due_soon_days"])
    items: list[DueItem] = []

    def add(kind: ItemKind, due_on: date, done: bool, rule: str, *, window: int = soon,
            time_point: str | None = None) -> None:
        items.append(DueItem(kind, due_on, status_of(due_on, done, on, window), rule, time_point))

    consented: date | None = facts["consented_on"]
    released: date | None = facts["actual_release_date"]
    if released is not None and released > on:
        released = None  # a release recorded ahead of the day has not happened yet
    in_custody = facts["episode_id"] is not None and released is None
    erd: date | None = facts["earliest_release_date"]
    last_review: date | None = facts["last_review_on"]

    if consented is not None:
        add(ItemKind.FIRST_PLANNING_MEETING,
            add_working_days(consented, rules["first_planning_meeting_working_days"]),
            facts["first_planning_on"] is not None, "first_planning_meeting_working_days")
        add(ItemKind.LIFELONG_LINKS_REFERRAL, consented + timedelta(days=rules["lifelong_links_referral_days"]),
            facts["lifelong_links_referred_on"] is not None, "lifelong_links_referral_days")

    if in_custody:
        reception: date = facts["reception_date"]
        if last_review is not None:
            add(ItemKind.PLAN_REVIEW, last_review + timedelta(weeks=rules["plan_review_interval_weeks"]), False,
                "plan_review_interval_weeks")
        visit: date | None = facts["last_pa_visit_on"]
        base = visit if visit is not None and visit >= reception else max(reception, facts["identified_on"])
        add(ItemKind.PA_VISIT, base + timedelta(weeks=rules["pa_visit_interval_weeks"]), False,
            "pa_visit_interval_weeks")
        if facts["handover_date"] is not None:
            confirmed = facts["handover_checklist"]
            add(ItemKind.HANDOVER, facts["handover_date"],
                confirmed is not None and set(rules["handover_checklist"]) <= set(confirmed),
                "handover_alert_weeks", window=7 * rules["handover_alert_weeks"])
        if erd is not None:
            add(ItemKind.PRE_RELEASE_MEETING, erd - timedelta(weeks=rules["pre_release_meeting_weeks"]),
                bool(facts["pre_release_held"]), "pre_release_meeting_weeks")
            wanted = rules["committed_network_members_before_release"]
            if wanted > 0:
                add(ItemKind.NETWORK_COMMITMENTS, erd, facts["committed_members"] >= wanted,
                    "committed_network_members_before_release")

    granted: date | None = facts["consent_granted_on"]
    if granted is not None:
        next_due = add_months(granted, rules["consent_reconfirmation_months"])
        if released is not None and granted < released:
            next_due = released  # reconfirmed at release
        elif in_custody and erd is not None and granted < erd:
            next_due = min(next_due, erd)
        add(ItemKind.CONSENT_RECONFIRMATION, next_due, False, "consent_reconfirmation_months")

    if released is not None:
        licence_end: date | None = facts["led"]
        base = last_review if last_review is not None and last_review >= released else released
        weekly_until = released + timedelta(weeks=rules["post_release_weekly_review_weeks"])
        next_review = base + timedelta(weeks=1) if base < weekly_until else add_months(base, 1)
        if licence_end is None or next_review <= licence_end:
            add(ItemKind.POST_RELEASE_REVIEW, next_review, False, "post_release_weekly_review_weeks")
        recorded = set(facts["outcome_points"] or ())
        for point in rules["outcome_time_points"]:
            add(ItemKind.OUTCOME_CHECK_IN, add_months(released, OUTCOME_MONTHS[point]), point in recorded,
                "outcome_time_points", time_point=point)

    return sorted(items, key=lambda i: (i.due_on, i.kind.value, i.time_point or ""))


def next_open_due(items: list[DueItem]) -> date | None:
    return min((i.due_on for i in items if i.open), default=None)
