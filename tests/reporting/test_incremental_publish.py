"""Publishing again after some tenants changed re-solves only the exact audits their changes touch (the rest are
recalled from the metric's last publication, disclosure.AuditMemo), and publishes exactly what a full rebuild
publishes: checked on generated changes, without the database and through it."""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Hashable

import asyncpg
import pytest

from service.kernel.database import Database
from service.kernel.principal import Role
from service.kernel.tenancy import Connection
from service.reporting import publication, repository
from service.reporting.catalogue import BY_KEY, MetricKind
from service.reporting.disclosure import FLOOR, GROUP_SIZE, AuditMemo, Cell, Cube, DisclosurePolicy, Key
from service.reporting.repository import StoredRow
from service.reporting.service import refresh_tenant
from tests.conftest import CallerFactory, TenantFactory
from tests.reporting.attack import Relation, recoverable
from tests.reporting.seed import D, Seeder
from tests.reporting.test_national import table

MONTHS = [f"2024-{m:02d}-01" for m in range(1, 7)]
Base = dict[tuple[str, str, int], tuple[int, int]]  # (tenant, site, month index) -> (denominator, numerator)


def draw(rng: random.Random) -> tuple[int, int]:
    den = rng.choice([0, 0, 1, 2, 3, 4, 5, 6, 8, 12, 20, 30])
    return den, rng.randint(0, den)


def cube_of(base: Base, kinds: dict[str, str], kind: MetricKind, memo: AuditMemo | None) -> Cube:
    """Every figure of the cube summed from the sites' months, as publication.build_cube sums rollups."""
    cells: dict[Key, Cell] = {}
    for (t, s, i), (den, num) in base.items():
        if not den:
            continue
        quarter = "2024-01-01" if i < 3 else "2024-04-01"
        for entity in (("S", t, s), ("T", t), ("K", kinds[t]), ("N",)):
            for grain, period in (("MONTH", MONTHS[i]), ("QUARTER", quarter), ("YEAR", "2024-01-01")):
                cell = cells.setdefault((entity, grain, period), Cell(0, None if kind is MetricKind.COUNT else 0))
                cell.den += den
                if kind is MetricKind.RATE:
                    cell.num = (cell.num or 0) + num
    return Cube(kind, cells, kinds, memo)


def generated(rng: random.Random) -> tuple[dict[str, str], Base]:
    kinds = {f"t{i:02d}": "COHORT" if i % 4 == 3 else "REGION" for i in range(rng.randint(2, 5) * GROUP_SIZE)}
    base = {(t, s, i): draw(rng) for t in kinds for s in ("a", "b", "c")[: rng.randint(1, 3)] for i in range(6)}
    return kinds, base


@pytest.mark.parametrize("seed", range(10))
@pytest.mark.parametrize("kind", [MetricKind.COUNT, MetricKind.RATE])
def test_publishing_again_after_generated_changes_equals_a_full_rebuild(seed: int, kind: MetricKind) -> None:
    rng = random.Random(7000 + seed)
    kinds, base = generated(rng)
    memo = AuditMemo()
    memo.next_publication()
    cube_of(base, kinds, kind, memo).pattern(FLOOR)
    first = memo.solved
    assert first > 0
    for _ in range(4):
        changed = rng.sample(sorted(kinds), rng.randint(1, 3))
        for (t, s, i) in list(base):
            if t in changed and rng.random() < 0.3:
                base[(t, s, i)] = draw(rng)
        memo.next_publication()
        again = cube_of(base, kinds, kind, memo).pattern(FLOOR)
        rebuilt = cube_of(base, kinds, kind, None).pattern(FLOOR)
        assert again.den_hidden == rebuilt.den_hidden
        assert again.split_hidden == rebuilt.split_hidden
        # A stricter policy on top of the memo'd floor is the stricter policy on top of the rebuilt one.
        stricter = DisclosurePolicy(min_count=7, min_denominator=20)
        assert cube_of(base, kinds, kind, memo).pattern(stricter).den_hidden == \
            cube_of(base, kinds, kind, None).pattern(stricter).den_hidden


@pytest.mark.parametrize("kind", [MetricKind.COUNT, MetricKind.RATE])
def test_nothing_changed_nothing_solved_and_one_tenant_changed_solves_a_few(kind: MetricKind) -> None:
    """Counted, not timed: the number of exact audits solved again."""
    rng = random.Random(11)
    kinds = {f"t{i:02d}": "REGION" for i in range(6 * GROUP_SIZE)}
    base: Base = {}
    for key in ((t, s, i) for t in kinds for s in ("a", "b") for i in range(6)):
        den = rng.randint(10, 40)
        base[key] = draw(rng) if rng.random() < 0.2 else (den, den // 2)  # mostly shown, some small cells
    memo = AuditMemo()
    memo.next_publication()
    before = cube_of(base, kinds, kind, memo).pattern(FLOOR)
    everything = memo.solved
    memo.next_publication()
    cube_of(base, kinds, kind, memo).pattern(FLOOR)
    assert (memo.solved, memo.reused > 0) == (0, True)
    # One site's month of one tenant becomes a small count (hidden where it was not): its group's audit changes.
    t, s, i = next(k for k in sorted(base) if k[0] == "t17" and base[k][0] >= 5
                   and (("S", k[0], k[1]), "MONTH", MONTHS[k[2]]) not in before.den_hidden)
    base[(t, s, i)] = (2, 1)
    memo.next_publication()
    after = cube_of(base, kinds, kind, memo).pattern(FLOOR)
    assert (("S", t, s), "MONTH", MONTHS[i]) in after.den_hidden
    assert 0 < memo.solved < everything / 3, (memo.solved, everything)


def relations_of(cube: Cube) -> list[Relation]:
    return [(total, parts) for total, parts in cube.relations]


async def test_incremental_publish_through_the_database_equals_a_full_rebuild_and_still_suppresses(
        db: Database, make_tenant: TenantFactory, admin_conn: asyncpg.Connection, login: CallerFactory) -> None:
    """Dates in 2015, which no other test uses. Twelve tenants, one changed between two publications."""
    assert db.pool is not None
    metric = BY_KEY["referrals"]
    rng = random.Random(3)
    tenants = [await make_tenant(f"incpub-{i:02d}") for i in range(12)]
    for tenant in tenants:
        seeder = Seeder(admin_conn, tenant.schema)
        for _ in range(rng.randint(1, 9)):
            await seeder.young_adult("BSI", referred=D(2015, rng.randint(1, 6), rng.randint(1, 28)))
        await refresh_tenant(db.pool, tenant, D(2015, 12, 31))
    small = tenants[4]
    await Seeder(admin_conn, small.schema).young_adult("BSI", referred=D(2015, 7, 7))
    publication.MEMOS.pop(metric.key, None)
    await refresh_tenant(db.pool, small, D(2015, 12, 31))  # publishes referrals once, solving everything
    changed = tenants[7]
    await Seeder(admin_conn, changed.schema).young_adult("BSI", referred=D(2015, 7, 8))
    await refresh_tenant(db.pool, changed, D(2015, 12, 31))  # publishes again, recalling what did not change
    memo = publication.MEMOS[metric.key]
    assert memo.reused > 0

    query = ("SELECT metric, grain, period_start, entity, value, reason, numerator, numerator_reason, denominator, "
             "denominator_reason FROM control.national_figure WHERE metric = $1 ORDER BY grain, period_start, entity")
    incremental = await admin_conn.fetch(query, metric.key)
    publication.MEMOS.pop(metric.key)
    await publication.publish(db.pool, [metric])
    assert publication.MEMOS[metric.key].solved > 0  # a rebuild from nothing solves every system itself
    assert await admin_conn.fetch(query, metric.key) == incremental

    # Still suppressed after the incremental publication: every small count, and nothing solvable from totals.
    hidden = {(r["entity"], r["grain"], r["period_start"]) for r in incremental if r["reason"] is not None}
    for r in incremental:
        if r["denominator"] is not None:
            assert not 0 < r["denominator"] < FLOOR.min_count, r
    assert any(r["reason"] == "SECONDARY" for r in incremental)
    rows = await admin_conn.fetch(
        "SELECT tenant_id, site_code, grain, period_start, numerator, denominator, median, dist_values, dist_counts "
        "FROM control.metric_rollup WHERE metric = $1", metric.key)
    stored = [StoredRow(r["tenant_id"], r["site_code"], r["grain"], r["period_start"],
                                               r["numerator"], r["denominator"], r["median"], r["dist_values"],
                                               r["dist_counts"]) for r in rows]
    everyone = await repository.tenants(admin_conn)
    cube = publication.build_cube(metric, stored, everyone)
    unknown: set[Hashable] = {k for k in cube.cells
               if (publication.encode(k[0]), k[1], dt.date.fromisoformat(k[2])) in hidden}
    assert unknown
    assert not recoverable(relations_of(cube), unknown)

    # What a national analyst reads is the published figure, suppressed as stored.
    analyst = await login(Role.NATIONAL_ANALYST)
    shown = await table(analyst, "referrals", "MONTH", "2015-07-01")
    by_slug = {r["key"]: r["value"] for r in shown["rows"]}
    assert by_slug[changed.slug]["suppressed"]
    assert by_slug[changed.slug]["value"] is None

    # Trying other ways round: the comparison and series views read the same stored pattern, and the national role
    # can change none of it.
    comparison = await analyst.data("""query($ts: [String!]!) { tenantComparison(metric: "referrals", grain: MONTH,
        from: "2015-07-01", to: "2015-07-31", tenants: $ts) { key points { value { value suppressed } } } }""",
                                    {"ts": [changed.slug, small.slug]})
    for s in comparison["tenantComparison"]:
        assert [p["value"] for p in s["points"]] == [{"value": None, "suppressed": True}]
    async def as_national(conn: Connection, statement: str) -> None:
        async with conn.transaction():
            await conn.fetchrow("SELECT set_config('role', $1, true)", db.settings.national_role)
            await conn.execute(statement)

    async with db.pool.acquire() as conn:
        for statement in ("DELETE FROM control.national_figure", "UPDATE control.national_figure SET value = 1",
                          "INSERT INTO control.national_figure SELECT * FROM control.national_figure LIMIT 1",
                          "TRUNCATE control.national_figure"):
            with pytest.raises(asyncpg.InsufficientPrivilegeError):
                await as_national(conn, statement)
