"""The national metric catalogue (DESIGN §6): what each figure counts, over what, and which period it belongs to.

Rules every metric shares, stated once:

* **Who counts.** A young adult counts when they are enrolled at one or more sites, unless their most recent
  aggregate-reporting consent (purpose ``AGGREGATE_REPORTING``, about the young adult themself, latest by
  ``granted_on`` then ``created_at``) has been withdrawn. No such consent on record means they count: aggregate
  statistics are produced without consent unless the person has said otherwise, and a later grant after a
  withdrawal brings them back. Exclusion is total (every metric, every period, past ones included, from the next
  refresh). Network members are excluded the same way by a withdrawn aggregate-reporting consent of their own
  (``network_member_id`` set), and every member of an excluded young adult's network is excluded with them.
* **Site.** Enrolment counts belong to the enrolment's site. Everything else about a young adult belongs to their
  *home site*: the site of their earliest enrolment (by ``identified_on``, then id). So each breakdown by site is a
  partition of the tenant's total, which disclosure control relies on.
* **Periods.** A record belongs to the calendar month, quarter and year of the date named in its definition; a
  quarter's figure is the sum of its months', a year's the sum of its quarters' (medians are recomputed).
* **Cohort.** A tenant of kind COHORT is a cohort; figures by tenant kind total the regions and the cohorts.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass


class MetricKind(enum.StrEnum):
    COUNT = "COUNT"     # a number of records
    RATE = "RATE"       # numerator ÷ denominator, shown as a percentage
    MEDIAN = "MEDIAN"   # the median of one value per record; the denominator is the number of records


class Family(enum.StrEnum):
    """Metrics computed by the same SQL pass over a tenant's tables (see compute.py)."""

    ENROLMENT = "ENROLMENT"
    PLAN = "PLAN"
    RELEASE = "RELEASE"
    NETWORK = "NETWORK"
    OBJECTIVE = "OBJECTIVE"
    OUTCOME = "OUTCOME"
    REVIEW = "REVIEW"


# Practice-rule defaults (DESIGN §5) that the metrics use until per-site rules are readable by the refresh.
TARGET_COMMITTED_MEMBERS = 3
REVIEW_INTERVAL_MONTHS = 3
PLAN_LEAD_WEEKS = 12


@dataclass(frozen=True, slots=True)
class Metric:
    key: str
    title: str
    kind: MetricKind
    family: Family
    unit: str
    numerator: str
    denominator: str
    period: str


METRICS: tuple[Metric, ...] = (
    Metric("referrals", "Referrals", MetricKind.COUNT, Family.ENROLMENT, "enrolments",
           "Enrolments with a referral date.", "—", "The referral date."),
    Metric("take_up", "Take-up", MetricKind.RATE, Family.ENROLMENT, "%",
           "Of those referrals, the enrolments that have a consent date.", "Enrolments with a referral date.",
           "The referral date."),
    Metric("days_to_agreed_plan", "Median days from enrolment to first agreed plan", MetricKind.MEDIAN, Family.PLAN,
           "days",
           "Per young adult with an agreed plan: days from their first enrolment consent date to the first time any "
           "version of their integrated plan was agreed (never negative).",
           "Young adults whose first plan agreement and an enrolment consent date are recorded.",
           "The date the plan was first agreed."),
    Metric("plan_agreed_before_release", f"Released with a plan agreed {PLAN_LEAD_WEEKS}+ weeks before release",
           MetricKind.RATE, Family.RELEASE, "%",
           f"Releases where a version of the integrated plan was agreed during that custody episode at least "
           f"{PLAN_LEAD_WEEKS} weeks ({PLAN_LEAD_WEEKS * 7} days) before the actual release date.",
           "Custody episodes with an actual release date.", "The actual release date."),
    Metric("joint_meeting_before_release", "Released after a joint meeting of all three services", MetricKind.RATE,
           Family.RELEASE, "%",
           "Releases preceded, during that custody episode, by a meeting attended by practitioners of the prison, "
           "probation and leaving-care services together.",
           "Custody episodes with an actual release date.", "The actual release date."),
    Metric("lifelong_links_meeting_before_release", "Released after a Lifelong Links meeting", MetricKind.RATE,
           Family.RELEASE, "%",
           "Releases preceded, during that custody episode, by a Lifelong Links family-group meeting (a meeting of "
           "kind LIFELONG_LINKS, or the Lifelong Links case entering MEETING_HELD).",
           "Custody episodes with an actual release date.", "The actual release date."),
    Metric("network_size_at_referral", "Median network size at Lifelong Links referral", MetricKind.MEDIAN,
           Family.NETWORK, "people",
           "Per Lifelong Links case: the young adult's network members who were known before the search began.",
           "Lifelong Links cases.", "The case's referral date."),
    Metric("network_size_at_plan", "Median network size when the lifelong plan is agreed", MetricKind.MEDIAN,
           Family.NETWORK, "people",
           "Per Lifelong Links case that reached PLAN_AGREED: the young adult's network members recorded by that "
           "date who had not declined by then.",
           "Lifelong Links cases that reached PLAN_AGREED.", "The date the case entered PLAN_AGREED."),
    Metric("network_committed", "Network members committed ÷ identified", MetricKind.RATE, Family.NETWORK, "%",
           "Of those members, the ones who have committed (a COMMITTED status change, or a current status of "
           "COMMITTED or ACTIVE).",
           "Network members identified.", "The date the member was identified (recorded)."),
    Metric("released_with_committed_network",
           f"Released with {TARGET_COMMITTED_MEMBERS}+ committed adults", MetricKind.RATE, Family.RELEASE, "%",
           f"Releases where at least {TARGET_COMMITTED_MEMBERS} network members (the practice-rule default) had "
           "become COMMITTED on or before the release date.",
           "Custody episodes with an actual release date.", "The actual release date."),
    Metric("objectives_met", "Lifelong Links objectives met", MetricKind.RATE, Family.OBJECTIVE, "%",
           "Of those objectives, the ones assessed as met.", "Lifelong Links objectives with an assessment.",
           "The assessment date."),
    Metric("settled_on_release", "Settled accommodation on release night", MetricKind.RATE, Family.OUTCOME, "%",
           "Of those observations, the ones recording SETTLED accommodation.",
           "Release-day outcome observations recording accommodation (UNKNOWN counts as not settled).",
           "The observation date."),
    Metric("settled_at_3_months", "Settled accommodation at +3 months", MetricKind.RATE, Family.OUTCOME, "%",
           "Of those observations, the ones recording SETTLED accommodation.",
           "+3-month outcome observations recording accommodation (UNKNOWN counts as not settled).",
           "The observation date."),
    Metric("settled_at_12_months", "Settled accommodation at +12 months", MetricKind.RATE, Family.OUTCOME, "%",
           "Of those observations, the ones recording SETTLED accommodation.",
           "+12-month outcome observations recording accommodation (UNKNOWN counts as not settled).",
           "The observation date."),
    Metric("ete_at_6_months", "In education, training or employment at +6 months", MetricKind.RATE, Family.OUTCOME,
           "%", "Of those observations, the ones recording education, training or employment.",
           "+6-month outcome observations that record it either way.", "The observation date."),
    Metric("recalled_within_12_months", "Recalled within 12 months of release", MetricKind.RATE, Family.RELEASE, "%",
           "Of those releases, the ones with a recall of that custody episode within 365 days of release.",
           "Custody episodes released at least 365 days before the refresh date (so every release counted has had "
           "its full year).", "The actual release date."),
    Metric("network_retained_at_12_months", "Network retention at +12 months", MetricKind.RATE, Family.OUTCOME, "%",
           "Of those observations, the ones recording at least one contact with the support network in the last "
           "30 days.", "+12-month outcome observations recording network contacts.", "The observation date."),
    Metric("reviews_on_time", "Plan reviews on time", MetricKind.RATE, Family.REVIEW, "%",
           "Of those due reviews, the ones met by a REVIEW meeting held after the meeting that set it and no later "
           "than its due date.",
           f"Reviews due: every integrated-planning or review meeting makes a review due {REVIEW_INTERVAL_MONTHS} "
           f"months later (the practice-rule default); counted once the due date has passed.",
           "The due date."),
)

BY_KEY: dict[str, Metric] = {m.key: m for m in METRICS}
