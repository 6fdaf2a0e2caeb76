"""The due-item engine as a pure function of case facts, rule values and the day."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from service.rules.catalogue import DEFAULTS
from service.rules.due import DueItem, ItemKind, ItemStatus, add_months, add_working_days, due_items, status_of

ON = date(2026, 11, 23)  # a Monday


def facts(**given: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "consented_on": None, "identified_on": ON - timedelta(days=100), "episode_id": None, "reception_date": None,
        "earliest_release_date": None, "handover_date": None, "actual_release_date": None, "led": None,
        "first_planning_on": None, "last_review_on": None, "pre_release_held": False, "last_pa_visit_on": None,
        "handover_checklist": None, "lifelong_links_referred_on": None, "consent_granted_on": None,
        "outcome_points": [], "committed_members": 0,
    }
    return base | given


def by_kind(items: list[DueItem]) -> dict[tuple[ItemKind, str | None], tuple[date, ItemStatus]]:
    return {i.key: (i.due_on, i.status) for i in items}


def test_calendar_helpers() -> None:
    assert add_months(date(2026, 1, 31), 1) == date(2026, 2, 28)
    assert add_months(date(2026, 11, 30), 3) == date(2027, 2, 28)
    assert add_working_days(date(2026, 11, 20), 1) == date(2026, 11, 23)  # Friday + 1 working day = Monday
    assert add_working_days(date(2026, 11, 23), 20) == date(2026, 12, 21)


def test_status_boundaries() -> None:
    assert status_of(ON, False, ON, 14) is ItemStatus.DUE_SOON  # due today is not yet late
    assert status_of(ON - timedelta(days=1), False, ON, 14) is ItemStatus.OVERDUE
    assert status_of(ON + timedelta(days=14), False, ON, 14) is ItemStatus.DUE_SOON
    assert status_of(ON + timedelta(days=15), False, ON, 14) is ItemStatus.ON_TIME
    assert status_of(ON - timedelta(days=100), True, ON, 14) is ItemStatus.DONE


def test_no_consent_and_no_custody_means_nothing_is_due() -> None:
    assert due_items(facts(), DEFAULTS, ON) == []


def test_after_consent_in_custody() -> None:
    consented = ON - timedelta(days=10)
    erd = ON + timedelta(weeks=20)
    items = by_kind(due_items(facts(
        consented_on=consented, episode_id=1, reception_date=ON - timedelta(weeks=10), earliest_release_date=erd,
        handover_date=ON + timedelta(weeks=3), last_review_on=ON - timedelta(weeks=12),
        last_pa_visit_on=ON - timedelta(weeks=9), lifelong_links_referred_on=ON - timedelta(days=2),
        consent_granted_on=consented, committed_members=3), DEFAULTS, ON))
    assert items == {
        (ItemKind.FIRST_PLANNING_MEETING, None): (add_working_days(consented, 20), ItemStatus.ON_TIME),
        (ItemKind.LIFELONG_LINKS_REFERRAL, None): (consented + timedelta(days=28), ItemStatus.DONE),
        (ItemKind.PLAN_REVIEW, None): (ON + timedelta(weeks=1), ItemStatus.DUE_SOON),
        (ItemKind.PA_VISIT, None): (ON - timedelta(weeks=1), ItemStatus.OVERDUE),
        (ItemKind.HANDOVER, None): (ON + timedelta(weeks=3), ItemStatus.DUE_SOON),  # within the 4-week alert
        (ItemKind.PRE_RELEASE_MEETING, None): (erd - timedelta(weeks=12), ItemStatus.ON_TIME),
        (ItemKind.NETWORK_COMMITMENTS, None): (erd, ItemStatus.DONE),
        (ItemKind.CONSENT_RECONFIRMATION, None): (erd, ItemStatus.ON_TIME),  # release comes before 12 months
    }


def test_a_pa_visit_before_this_custody_does_not_count() -> None:
    reception = ON - timedelta(weeks=2)
    items = by_kind(due_items(facts(episode_id=1, reception_date=reception, identified_on=ON - timedelta(weeks=30),
                                    last_pa_visit_on=ON - timedelta(weeks=3)), DEFAULTS, ON))
    assert items[(ItemKind.PA_VISIT, None)] == (reception + timedelta(weeks=8), ItemStatus.ON_TIME)


def test_after_release() -> None:
    released = ON - timedelta(weeks=2)
    base = facts(episode_id=1, reception_date=ON - timedelta(weeks=60), actual_release_date=released,
                 led=ON + timedelta(weeks=50), consent_granted_on=ON - timedelta(weeks=20),
                 last_review_on=ON - timedelta(days=3), outcome_points=["RELEASE_DAY"],
                 handover_date=ON - timedelta(weeks=6))
    items = by_kind(due_items(base, DEFAULTS, ON))
    assert items == {
        (ItemKind.POST_RELEASE_REVIEW, None): (ON + timedelta(days=4), ItemStatus.DUE_SOON),  # weekly at first
        (ItemKind.CONSENT_RECONFIRMATION, None): (released, ItemStatus.OVERDUE),  # reconfirmed at release
        (ItemKind.OUTCOME_CHECK_IN, "RELEASE_DAY"): (released, ItemStatus.DONE),
        (ItemKind.OUTCOME_CHECK_IN, "MONTH_3"): (add_months(released, 3), ItemStatus.ON_TIME),
        (ItemKind.OUTCOME_CHECK_IN, "MONTH_6"): (add_months(released, 6), ItemStatus.ON_TIME),
        (ItemKind.OUTCOME_CHECK_IN, "MONTH_12"): (add_months(released, 12), ItemStatus.ON_TIME),
    }
    monthly = DEFAULTS | {"post_release_weekly_review_weeks": 0, "outcome_time_points": ["MONTH_12"]}
    items = by_kind(due_items(base, monthly, ON))
    assert items[(ItemKind.POST_RELEASE_REVIEW, None)] == (add_months(ON - timedelta(days=3), 1),
                                                          ItemStatus.ON_TIME)
    assert [k for k in items if k[0] is ItemKind.OUTCOME_CHECK_IN] == [(ItemKind.OUTCOME_CHECK_IN, "MONTH_12")]


def test_a_release_recorded_ahead_of_the_day_has_not_happened() -> None:
    items = due_items(facts(episode_id=1, reception_date=ON - timedelta(weeks=10),
                            actual_release_date=ON + timedelta(days=1)), DEFAULTS, ON)
    assert [i.kind for i in items] == [ItemKind.PA_VISIT]


def test_the_handover_is_done_by_a_recorded_handover_confirming_the_rules_checklist() -> None:
    custody = {"episode_id": 1, "reception_date": ON - timedelta(days=90), "handover_date": ON + timedelta(days=10)}
    handover = (ItemKind.HANDOVER, None)
    wanted = ["ACCOMMODATION_CONFIRMED", "NETWORK_TOLD"]
    rules = DEFAULTS | {"handover_checklist": wanted}
    assert by_kind(due_items(facts(**custody), rules, ON))[handover][1] is ItemStatus.DUE_SOON  # none recorded
    partly = facts(**custody, handover_checklist=["NETWORK_TOLD", "GP_REGISTERED"])
    assert by_kind(due_items(partly, rules, ON))[handover][1] is ItemStatus.DUE_SOON
    whole = facts(**custody, handover_checklist=[*wanted, "GP_REGISTERED"])
    assert by_kind(due_items(whole, rules, ON))[handover][1] is ItemStatus.DONE
    # The same handover is not done where the rules want more.
    stricter = rules | {"handover_checklist": [*wanted, "FIRST_APPOINTMENT_BOOKED"]}
    assert by_kind(due_items(whole, stricter, ON))[handover][1] is ItemStatus.DUE_SOON
