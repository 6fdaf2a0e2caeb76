"""Computing one tenant's metrics inside that tenant's boundary.

Each metric family (catalogue.Family) is one set-based statement over the tenant's own tables, run as the tenant's
runtime role with its search path (service.kernel.tenancy.enter_tenant), in one read-only REPEATABLE READ transaction so
all families see the same snapshot and no writer is ever blocked. A family's statement first lists *facts* — one
row per record that counts (metric, the date that places it in a period, the site it belongs to, a 0/1 numerator, a
denominator of 1, and for medians the value) — and then aggregates them by month, quarter and year, per site and
for the whole tenant, in one GROUPING SETS pass. The rules the facts follow are written in catalogue.py.

A young adult who moved between tenants counts in each tenant only for what happened while they were there
(``young_adult.arrived_on`` / ``moved_on``; the day of the move itself counts for the sending tenant): a move
is not a new referral, and an outcome counts where the person was on its day. An enrolment opened by a site
transfer is not a referral either.

Dates of timestamps are taken in Europe/London (the programme's civil time), never in the session's time zone.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import asyncpg

from service.kernel.tenancy import Tenant, enter_tenant
from service.reporting.catalogue import PLAN_LEAD_WEEKS, REVIEW_INTERVAL_MONTHS, TARGET_COMMITTED_MEMBERS, Family

LOCAL = "'Europe/London'"

# Young adults who count (enrolled; no withdrawn aggregate-reporting consent) and their home site.
REPORTABLE = """
    home AS (
        SELECT DISTINCT ON (e.young_adult_id) e.young_adult_id, s.code AS site_code
        FROM enrolment e JOIN site s ON s.id = e.site_id
        ORDER BY e.young_adult_id, e.identified_on, e.id
    ),
    latest_consent AS (
        SELECT DISTINCT ON (c.young_adult_id) c.young_adult_id, c.withdrawn_on
        FROM consent c WHERE c.purpose = 'AGGREGATE_REPORTING' AND c.network_member_id IS NULL
        ORDER BY c.young_adult_id, c.granted_on DESC, c.created_at DESC
    ),
    reportable AS (
        SELECT h.young_adult_id AS id, h.site_code FROM home h
        WHERE NOT EXISTS (SELECT 1 FROM latest_consent lc
                          WHERE lc.young_adult_id = h.young_adult_id AND lc.withdrawn_on IS NOT NULL)
    )"""

# Network members who count: of a reportable young adult, with no withdrawn aggregate-reporting consent of their own.
MEMBERS = f"""
    latest_member_consent AS (
        SELECT DISTINCT ON (c.network_member_id) c.network_member_id, c.withdrawn_on
        FROM consent c WHERE c.purpose = 'AGGREGATE_REPORTING' AND c.network_member_id IS NOT NULL
        ORDER BY c.network_member_id, c.granted_on DESC, c.created_at DESC
    ),
    member AS (
        SELECT nm.id, nm.young_adult_id, r.site_code, nm.known_before, nm.status,
               (nm.created_at AT TIME ZONE {LOCAL})::date AS identified_on
        FROM network_member nm JOIN reportable r ON r.id = nm.young_adult_id
        WHERE NOT EXISTS (SELECT 1 FROM latest_member_consent lc
                          WHERE lc.network_member_id = nm.id AND lc.withdrawn_on IS NOT NULL)
    ),
    committed AS (
        SELECT sc.member_id, min(sc.changed_on) AS committed_on
        FROM network_member_status_change sc WHERE sc.status = 'COMMITTED' GROUP BY sc.member_id
    )"""

FACTS: dict[Family, tuple[bool, str]] = {
    Family.ENROLMENT: (False, """
        SELECT m.metric, e.referred_on AS event_on, s.code AS site_code,
               CASE WHEN m.metric = 'take_up' THEN (e.consented_on IS NOT NULL)::int END AS num,
               1 AS den, NULL::float8 AS val, e.young_adult_id
        FROM enrolment e JOIN reportable r ON r.id = e.young_adult_id JOIN site s ON s.id = e.site_id
        CROSS JOIN (VALUES ('referrals'), ('take_up')) AS m (metric)
        WHERE e.referred_on IS NOT NULL
          -- an enrolment a site transfer opened carries the referral of the one it replaced: not a new referral
          AND NOT EXISTS (SELECT 1 FROM site_transfer st WHERE st.to_enrolment_id = e.id)"""),
    Family.PLAN: (False, f"""
        SELECT 'days_to_agreed_plan', fa.agreed_on, r.site_code, NULL::int, 1,
               greatest(fa.agreed_on - en.consented_on, 0)::float8, r.id
        FROM reportable r
        JOIN (SELECT ip.young_adult_id, min(pv.agreed_at AT TIME ZONE {LOCAL})::date AS agreed_on
              FROM integrated_plan ip JOIN plan_version pv ON pv.plan_id = ip.id
              WHERE pv.agreed_at IS NOT NULL GROUP BY ip.young_adult_id) fa ON fa.young_adult_id = r.id
        JOIN (SELECT young_adult_id, min(consented_on) AS consented_on FROM enrolment
              WHERE consented_on IS NOT NULL GROUP BY young_adult_id) en ON en.young_adult_id = r.id"""),
    Family.RELEASE: (True, f"""
        SELECT m.metric, rl.released_on, rl.site_code,
               CASE m.metric
                   WHEN 'plan_agreed_before_release' THEN (po.id IS NOT NULL)::int
                   WHEN 'joint_meeting_before_release' THEN (jo.id IS NOT NULL)::int
                   WHEN 'lifelong_links_meeting_before_release' THEN (lo.id IS NOT NULL)::int
                   WHEN 'released_with_committed_network' THEN (coalesce(co.n, 0) >= {TARGET_COMMITTED_MEMBERS})::int
                   ELSE (rc.id IS NOT NULL)::int
               END, 1, NULL::float8, rl.young_adult_id
        FROM releases rl
        LEFT JOIN (SELECT DISTINCT rl.id FROM releases rl JOIN agreements a ON a.young_adult_id = rl.young_adult_id
                   AND a.agreed_on BETWEEN rl.reception_date AND rl.released_on - {PLAN_LEAD_WEEKS * 7}) po
               ON po.id = rl.id
        LEFT JOIN (SELECT DISTINCT rl.id FROM releases rl JOIN joint_meeting j ON j.young_adult_id = rl.young_adult_id
                   AND j.held_on BETWEEN rl.reception_date AND rl.released_on) jo ON jo.id = rl.id
        LEFT JOIN (SELECT DISTINCT rl.id FROM releases rl JOIN links_meeting l ON l.young_adult_id = rl.young_adult_id
                   AND l.held_on BETWEEN rl.reception_date AND rl.released_on) lo ON lo.id = rl.id
        LEFT JOIN (SELECT rl.id, count(*) AS n FROM releases rl
                   JOIN member mb ON mb.young_adult_id = rl.young_adult_id
                   JOIN committed c ON c.member_id = mb.id AND c.committed_on <= rl.released_on
                   GROUP BY rl.id) co ON co.id = rl.id
        LEFT JOIN (SELECT DISTINCT rl.id FROM releases rl JOIN recall_event re ON re.custody_episode_id = rl.id
                   AND re.recalled_on BETWEEN rl.released_on AND rl.released_on + 365) rc ON rc.id = rl.id
        CROSS JOIN (VALUES ('plan_agreed_before_release'), ('joint_meeting_before_release'),
                           ('lifelong_links_meeting_before_release'), ('released_with_committed_network'),
                           ('recalled_within_12_months')) AS m (metric)
        WHERE m.metric <> 'recalled_within_12_months' OR rl.released_on <= $1::date - 365"""),
    Family.NETWORK: (True, """
        SELECT 'network_size_at_referral', c.referred_on, r.site_code, NULL::int, 1, coalesce(k.n, 0)::float8,
               c.young_adult_id
        FROM lifelong_links_case c JOIN reportable r ON r.id = c.young_adult_id
        LEFT JOIN (SELECT young_adult_id, count(*) AS n FROM member WHERE known_before GROUP BY young_adult_id) k
               ON k.young_adult_id = c.young_adult_id
        UNION ALL
        SELECT 'network_size_at_plan', pd.entered_on, r.site_code, NULL::int, 1, count(mb.id)::float8,
               c.young_adult_id
        FROM lifelong_links_case c JOIN reportable r ON r.id = c.young_adult_id
        JOIN lifelong_links_stage_change pd ON pd.case_id = c.id AND pd.stage = 'PLAN_AGREED'
        LEFT JOIN member mb ON mb.young_adult_id = c.young_adult_id AND mb.identified_on <= pd.entered_on
             AND NOT EXISTS (SELECT 1 FROM network_member_status_change d WHERE d.member_id = mb.id
                             AND d.status = 'DECLINED' AND d.changed_on <= pd.entered_on)
        GROUP BY c.id, pd.entered_on, r.site_code, c.young_adult_id
        UNION ALL
        SELECT 'network_committed', mb.identified_on, mb.site_code,
               (c.member_id IS NOT NULL OR mb.status IN ('COMMITTED', 'ACTIVE'))::int, 1, NULL::float8,
               mb.young_adult_id
        FROM member mb LEFT JOIN committed c ON c.member_id = mb.id"""),
    Family.OBJECTIVE: (False, """
        SELECT 'objectives_met', o.assessed_on, r.site_code, o.met::int, 1, NULL::float8, c.young_adult_id
        FROM lifelong_links_objective o JOIN lifelong_links_case c ON c.id = o.case_id
        JOIN reportable r ON r.id = c.young_adult_id
        WHERE o.met IS NOT NULL AND o.assessed_on IS NOT NULL"""),
    Family.OUTCOME: (False, """
        SELECT m.metric, o.observed_on, r.site_code,
               CASE m.metric
                   WHEN 'ete_at_6_months' THEN o.in_education_training_employment::int
                   WHEN 'network_retained_at_12_months' THEN (o.network_contacts_last_30_days > 0)::int
                   ELSE (o.accommodation = 'SETTLED')::int
               END, 1, NULL::float8, o.young_adult_id
        FROM outcome_observation o JOIN reportable r ON r.id = o.young_adult_id
        JOIN (VALUES ('settled_on_release', 'RELEASE_DAY'), ('settled_at_3_months', 'MONTH_3'),
                     ('settled_at_12_months', 'MONTH_12'), ('ete_at_6_months', 'MONTH_6'),
                     ('network_retained_at_12_months', 'MONTH_12')) AS m (metric, time_point)
             ON m.time_point = o.time_point
        WHERE CASE m.metric
                  WHEN 'ete_at_6_months' THEN o.in_education_training_employment IS NOT NULL
                  WHEN 'network_retained_at_12_months' THEN o.network_contacts_last_30_days IS NOT NULL
                  ELSE o.accommodation IS NOT NULL
              END"""),
    Family.REVIEW: (False, f"""
        SELECT 'reviews_on_time', d.due_on, r.site_code, (met.held_on IS NOT NULL)::int, 1, NULL::float8,
               d.young_adult_id
        FROM (SELECT DISTINCT young_adult_id, held_on,
                     (held_on + interval '{REVIEW_INTERVAL_MONTHS} months')::date AS due_on
              FROM meeting WHERE kind IN ('INTEGRATED_PLANNING', 'REVIEW')) d
        JOIN reportable r ON r.id = d.young_adult_id
        LEFT JOIN (SELECT DISTINCT d.young_adult_id, d.held_on
                   FROM meeting d JOIN meeting rv ON rv.young_adult_id = d.young_adult_id AND rv.kind = 'REVIEW'
                        AND rv.held_on > d.held_on
                        AND rv.held_on <= (d.held_on + interval '{REVIEW_INTERVAL_MONTHS} months')::date
                   WHERE d.kind IN ('INTEGRATED_PLANNING', 'REVIEW')) met
               ON met.young_adult_id = d.young_adult_id AND met.held_on = d.held_on
        WHERE d.due_on <= $1::date"""),
}

# What the release family needs besides members: releases, agreements and the meetings that count.
RELEASE_CTES = f"""
    releases AS (
        SELECT ce.id, ce.young_adult_id, r.site_code, ce.reception_date, ce.actual_release_date AS released_on
        FROM custody_episode ce JOIN reportable r ON r.id = ce.young_adult_id
        WHERE ce.actual_release_date IS NOT NULL
    ),
    agreements AS (
        SELECT ip.young_adult_id, (pv.agreed_at AT TIME ZONE {LOCAL})::date AS agreed_on
        FROM integrated_plan ip JOIN plan_version pv ON pv.plan_id = ip.id WHERE pv.agreed_at IS NOT NULL
    ),
    joint_meeting AS (
        SELECT mt.young_adult_id, mt.held_on FROM meeting mt
        JOIN meeting_attendee ma ON ma.meeting_id = mt.id JOIN practitioner p ON p.id = ma.practitioner_id
        WHERE p.service IN ('PRISON', 'PROBATION', 'LEAVING_CARE')
        GROUP BY mt.id HAVING count(DISTINCT p.service) = 3
    ),
    links_meeting AS (
        SELECT young_adult_id, held_on FROM meeting WHERE kind = 'LIFELONG_LINKS'
        UNION
        SELECT c.young_adult_id, sc.entered_on FROM lifelong_links_case c
        JOIN lifelong_links_stage_change sc ON sc.case_id = c.id AND sc.stage = 'MEETING_HELD'
    )"""

AGGREGATE = """
    SELECT f.metric, upper(g.grain) AS grain, date_trunc(g.grain, f.event_on::timestamp)::date AS period_start,
           CASE WHEN GROUPING(f.site_code) = 1 THEN '' ELSE f.site_code END AS site_code,
           sum(f.num) AS numerator, sum(f.den) AS denominator,
           percentile_cont(0.5) WITHIN GROUP (ORDER BY f.val) AS median,
           array_agg(f.val) FILTER (WHERE f.val IS NOT NULL) AS vals
    FROM facts f JOIN young_adult p ON p.id = f.young_adult_id
    CROSS JOIN (VALUES ('month'), ('quarter'), ('year')) AS g (grain)
    WHERE f.event_on IS NOT NULL AND f.event_on <= $1::date
      -- counted where the person was on the day; the day of a move between tenants belongs to the sending tenant
      AND (p.arrived_on IS NULL OR f.event_on > p.arrived_on) AND (p.moved_on IS NULL OR f.event_on <= p.moved_on)
    GROUP BY GROUPING SETS ((f.metric, g.grain, date_trunc(g.grain, f.event_on::timestamp), f.site_code),
                            (f.metric, g.grain, date_trunc(g.grain, f.event_on::timestamp)))"""


def family_sql(family: Family) -> str:
    needs_members, facts = FACTS[family]
    ctes = [REPORTABLE]
    if needs_members:
        ctes.append(MEMBERS)
    if family is Family.RELEASE:
        ctes.append(RELEASE_CTES)
    ctes.append(f"facts (metric, event_on, site_code, num, den, val, young_adult_id) AS ({facts}\n    )")
    return "WITH" + ",".join(ctes) + AGGREGATE


@dataclass(frozen=True, slots=True)
class RollupRow:
    metric: str
    grain: str
    period_start: dt.date
    site_code: str
    numerator: int | None
    denominator: int
    median: float | None
    dist_values: list[float] | None
    dist_counts: list[int] | None


@dataclass(frozen=True, slots=True)
class TenantRollup:
    tenant: Tenant
    as_of: dt.date
    rows: list[RollupRow]
    sites: list[tuple[str, str, str]]
    watermark: int  # the tenant's change counter in the snapshot the rows were computed from


def _row(record: asyncpg.Record) -> RollupRow:
    values: list[float] | None = None
    counts: list[int] | None = None
    if record["vals"] is not None and record["site_code"] == "":
        # The tenant's distribution as (value, count) pairs, so national medians can be computed exactly.
        histogram: dict[float, int] = {}
        for v in record["vals"]:
            histogram[v] = histogram.get(v, 0) + 1
        values = sorted(histogram)
        counts = [histogram[v] for v in values]
    return RollupRow(metric=record["metric"], grain=record["grain"], period_start=record["period_start"],
                     site_code=record["site_code"], numerator=record["numerator"],
                     denominator=record["denominator"], median=record["median"], dist_values=values,
                     dist_counts=counts)


async def compute_tenant(pool: asyncpg.Pool, tenant: Tenant, as_of: dt.date, *,
                         unless_at: int | None = None) -> TenantRollup | None:
    """Every metric of one tenant, computed as the tenant's runtime role. Reads only; never blocks a writer.

    ``unless_at``: the change counter the tenant's stored rollups reflect; when the tenant's counter is still there
    nothing is computed and None is returned. The counter is read in the same snapshot as the data, so a rollup is
    never stored with a counter ahead of what it saw.
    """
    async with pool.acquire() as conn, conn.transaction(isolation="repeatable_read", readonly=True):
        await enter_tenant(conn, tenant)
        # Reads take no lock a writer waits for; only DDL (a migration) could make us wait, and then we give up.
        await conn.fetchrow("SELECT set_config('lock_timeout', '10s', true)")
        watermark = int(await conn.fetchval(
            "SELECT coalesce((SELECT changes FROM reporting_watermark), 0)"))
        if unless_at is not None and watermark == unless_at:
            return None
        sites = [(r["code"], r["name"], r["kind"]) for r in await conn.fetch("SELECT code, name, kind FROM site")]
        rows: list[RollupRow] = []
        for family in Family:
            rows.extend(_row(r) for r in await conn.fetch(family_sql(family), as_of))
    return TenantRollup(tenant=tenant, as_of=as_of, rows=rows, sites=sites, watermark=watermark)
