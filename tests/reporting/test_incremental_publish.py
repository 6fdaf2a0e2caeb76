"""Publishing again after some tenants changed re-solves only the exact audits their changes touch (the rest are
recalled from the metric's last publication, disclosure.AuditMemo), and publishes exactly what a full rebuild
publishes: checked on generated changes, without the database and through it."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import random
import uuid
from collections.abc import Hashable

import asyncpg
import pytest

from service.kernel.database import Database
from service.kernel.ids import TenantId
from service.kernel.principal import Role
from service.kernel.tenancy import Connection
from service.reporting import publication, repository, service
from service.reporting.catalogue import BY_KEY, MetricKind
from service.reporting.disclosure import FLOOR, GROUP_SIZE, AuditMemo, Cell, Cube, DisclosurePolicy, Key
from service.reporting.repository import ReportingTenant, StoredRow
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


@pytest.mark.parametrize("seed", range(20))
def test_the_pattern_does_not_depend_on_the_order_the_cells_come_in(seed: int) -> None:
    """The cells kept across publications (publication.Sums) come in another order than a rebuild's: a tenant's
    relation over its sites and a quarter's over its months share their total, and were once ordered by arrival."""
    rng = random.Random(seed)
    kinds = {f"t{i:02d}": "COHORT" if i % 4 == 3 else "REGION" for i in range(rng.randint(8, 30))}
    base = {(t, s, i): draw(rng) for t in kinds for s in ("a", "b", "c") for i in range(6)}
    cube = cube_of(base, kinds, MetricKind.RATE, None)
    shuffled = list(cube.cells.items())
    rng.shuffle(shuffled)
    again = Cube(MetricKind.RATE, dict(shuffled), kinds)
    assert again.pattern(FLOOR).den_hidden == cube.pattern(FLOOR).den_hidden
    assert again.pattern(FLOOR).split_hidden == cube.pattern(FLOOR).split_hidden


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


def stored_rows(rng: random.Random, tenant: uuid.UUID, kind: MetricKind) -> list[StoredRow]:
    """A tenant's rollup rows of one metric as a refresh stores them: sites' and the tenant's, some periods, with a
    numerator (rates), or a median and the tenant's distribution (medians)."""
    rows = []
    for grain, start in rng.sample([("MONTH", dt.date(2024, m, 1)) for m in range(1, 7)]
                                   + [("QUARTER", dt.date(2024, 1, 1)), ("QUARTER", dt.date(2024, 4, 1)),
                                      ("YEAR", dt.date(2024, 1, 1))], rng.randint(0, 5)):
        for site in ("", *rng.sample(["a", "b", "c"], rng.randint(0, 2))):
            den = rng.choice([0, 1, 3, 7, 20])
            values = sorted(rng.sample([0.0, 1.0, 2.5, 4.0, 10.0], rng.randint(1, 3))) if den else []
            counts = [rng.randint(1, 4) for _ in values]
            median = kind is MetricKind.MEDIAN and den > 0
            rows.append(StoredRow(TenantId(tenant), site, grain, start,
                                  rng.randint(0, den) if kind is MetricKind.RATE else None, den,
                                  values[0] if median else None, values if median and not site else None,
                                  counts if median and not site else None))
    return rows


@pytest.mark.parametrize("seed", range(8))
@pytest.mark.parametrize("kind", list(MetricKind))
def test_cells_kept_across_generated_changes_equal_cells_summed_from_every_row(seed: int, kind: MetricKind) -> None:
    """publication.Sums after any sequence of tenants' rows replaced (changed, gone, back) holds exactly the cells
    build_cube sums from every row at that point: totals, numerators (None where no row has one), medians."""
    rng = random.Random(9100 + seed)
    ids = [uuid.UUID(int=rng.getrandbits(128)) for _ in range(rng.randint(2, 12))]
    tenants = [ReportingTenant(TenantId(i), f"t{n}", f"T {n}", rng.choice(["REGION", "COHORT"]))
               for n, i in enumerate(ids)]
    metric = next(m for m in BY_KEY.values() if m.kind is kind)
    rows = {str(i): stored_rows(rng, i, kind) for i in ids}
    sums = publication.Sums({str(t.id): t.kind for t in tenants})
    sums.replace(rows)
    memo = AuditMemo()
    memo.next_publication()
    kept = Cube(kind, sums.cells, sums.kind_of, memo)
    kept.pattern(FLOOR)
    layout, reused = sums.layout, 0
    for _ in range(10):
        changed = {}
        same_cells = rng.random() < 0.5  # new figures in the same cells
        for i in rng.sample(ids, rng.randint(1, 2)):
            if same_cells:
                changed[str(i)] = [dataclasses.replace(r, denominator=r.denominator + rng.randint(1, 9))
                                   for r in rows[str(i)]]
            else:
                changed[str(i)] = stored_rows(rng, i, kind)
        rows.update(changed)
        sums.replace(changed)
        everything = publication.build_cube(metric, [r for own in rows.values() for r in own], tenants)
        assert sums.cells == everything.cells
        # The cube of the kept cells, its relations and groups taken from the last one where its cells are the same
        # (as publish does), discloses exactly what the cube of every row does.
        memo.next_publication()
        same = layout == sums.layout
        kept = Cube(kind, sums.cells, sums.kind_of, memo, layout=kept if same else None)
        layout, reused = sums.layout, reused + same
        assert kept.pattern(FLOOR).den_hidden == everything.pattern(FLOOR).den_hidden
        assert kept.pattern(FLOOR).split_hidden == everything.pattern(FLOOR).split_hidden
    assert reused > 0


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
    publication.STATES.pop(metric.key, None)
    await refresh_tenant(db.pool, small, D(2015, 12, 31))  # publishes referrals once, solving everything
    changed = tenants[7]
    await Seeder(admin_conn, changed.schema).young_adult("BSI", referred=D(2015, 7, 8))
    await refresh_tenant(db.pool, changed, D(2015, 12, 31))  # publishes again, recalling what did not change
    memo = publication.memo_of(metric.key)
    assert memo.reused > 0

    query = ("SELECT metric, grain, period_start, entity, value, reason, numerator, numerator_reason, denominator, "
             "denominator_reason FROM control.national_figure WHERE metric = $1 ORDER BY grain, period_start, entity")
    incremental = await admin_conn.fetch(query, metric.key)
    await publication.publish(db.pool, [metric], rebuild=True)
    assert publication.memo_of(metric.key).solved > 0  # a rebuild from nothing solves every system itself
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


FIGURES = ("SELECT grain, period_start, entity, entity_kind, tenant_id, value, reason, numerator, numerator_reason, "
           "denominator, denominator_reason FROM control.national_figure WHERE metric = $1 "
           "ORDER BY grain, period_start, entity")


async def put_rollups(admin_conn: asyncpg.Connection, metric: str, tenant: str, base: Base) -> None:
    """A tenant's rollups of one metric in 2013 (a year no other test uses), summed from its sites' months as a
    refresh stores them: per site and for the tenant, by month, quarter and year, and the metric's digest of them
    in the tenant's control.metric_refresh row (publishing reads again only the tenants whose digest moved)."""
    sums: dict[tuple[str, str, str], list[int]] = {}
    for (t, s, i), (den, num) in base.items():
        if t != tenant or not den:
            continue
        month = dt.date(2013, i + 1, 1)
        for site in (s, ""):
            for grain, start in (("MONTH", month), ("QUARTER", dt.date(2013, i // 3 * 3 + 1, 1)),
                                 ("YEAR", dt.date(2013, 1, 1))):
                total = sums.setdefault((site, grain, start.isoformat()), [0, 0])
                total[0] += den
                total[1] += num
    kind = BY_KEY[metric].kind
    await admin_conn.execute("DELETE FROM control.metric_rollup WHERE tenant_id = $1::uuid AND metric = $2",
                             tenant, metric)
    await admin_conn.copy_records_to_table(
        "metric_rollup", schema_name="control", columns=repository.ROLLUP_COLUMNS,
        records=[(uuid.UUID(tenant), metric, grain, dt.date.fromisoformat(start), site,
                  num if kind is MetricKind.RATE else None, den, None, None, None, dt.datetime.now(dt.UTC))
                 for (site, grain, start), (den, num) in sums.items()])
    digest = json.dumps({metric: repr(sorted(sums.items()))} if sums else {})
    await admin_conn.execute(
        "INSERT INTO control.metric_refresh (tenant_id, refreshed_at, as_of, rollup_rows, duration_ms, digest) "
        "VALUES ($1::uuid, now(), date '2013-12-31', $2, 0, $3::jsonb) ON CONFLICT (tenant_id) DO UPDATE "
        "SET digest = control.metric_refresh.digest - $4 || excluded.digest", tenant, len(sums), digest, metric)


@pytest.mark.parametrize("metric", ["referrals", "take_up"])
async def test_writing_only_changed_figures_after_generated_changes_equals_a_rebuild(
        db: Database, make_tenant: TenantFactory, admin_conn: asyncpg.Connection, metric: str) -> None:
    """Publication writes only the figures that differ from its last publication; after each round of generated
    changes the stored figures are exactly those a rebuild from nothing stores. Counted, not timed."""
    assert db.pool is not None
    m = BY_KEY[metric]
    rng = random.Random(metric)
    tenants = [str((await make_tenant(f"diffpub-{metric[:4]}-{i:02d}")).id) for i in range(2 * GROUP_SIZE + 3)]
    base: Base = {(t, s, i): draw(rng) for t in tenants for s in ("a", "b") for i in range(6)}
    for t in tenants:
        await put_rollups(admin_conn, metric, t, base)
    publication.STATES.pop(metric, None)
    everything = await publication.publish(db.pool, [m])  # this process has published nothing: every figure
    assert everything == len(await admin_conn.fetch(FIGURES, metric))
    for _ in range(4):
        for t in rng.sample(tenants, rng.randint(1, 3)):
            for key in [k for k in base if k[0] == t]:
                if rng.random() < 0.4:
                    base[key] = draw(rng)
            await put_rollups(admin_conn, metric, t, base)
        written = await publication.publish(db.pool, [m])
        incremental = await admin_conn.fetch(FIGURES, metric)
        assert 0 < written < len(incremental) / 2
        await publication.publish(db.pool, [m], rebuild=True)
        assert await admin_conn.fetch(FIGURES, metric) == incremental


@pytest.mark.parametrize("metric", ["referrals", "take_up"])
async def test_publishing_reads_only_the_tenants_whose_rollups_moved_and_equals_a_rebuild(
        db: Database, make_tenant: TenantFactory, admin_conn: asyncpg.Connection, metric: str) -> None:
    """A chain of publications, each after generated changes to a few tenants' rollups, reads only those tenants'
    rows (their digests moved) and keeps cube cells equal to those summed from every stored row; a change of a
    tenant's kind reads everything again. At the end, the stored figures are exactly a rebuild's. Counted."""
    assert db.pool is not None
    m = BY_KEY[metric]
    rng = random.Random(f"reads-{metric}")
    tenants = [str((await make_tenant(f"readpub-{metric[:4]}-{i:02d}")).id) for i in range(2 * GROUP_SIZE + 3)]
    base: Base = {(t, s, i): draw(rng) for t in tenants for s in ("a", "b") for i in range(6)}
    for t in tenants:
        await put_rollups(admin_conn, metric, t, base)
    publication.STATES.pop(metric, None)
    with_rows = "SELECT count(DISTINCT tenant_id) FROM control.metric_rollup WHERE metric = $1"
    await publication.publish(db.pool, [m])
    state = publication.STATES[metric]
    assert state.tenants_read == await admin_conn.fetchval(with_rows, metric)  # ours and other tests' tenants

    def rows_of(t: str) -> list[tuple[tuple[str, str, int], tuple[int, int]]]:
        return sorted((k, v) for k, v in base.items() if k[0] == t and v[0])

    for round_ in range(6):
        before = {t: rows_of(t) for t in tenants}
        if round_ == 3:  # a catalogue change: one tenant becomes a cohort
            flipped = tenants[rng.randrange(len(tenants))]
            await admin_conn.execute("UPDATE control.tenant SET kind = CASE kind WHEN 'COHORT' THEN 'REGION' "
                                     "ELSE 'COHORT' END WHERE id = $1::uuid", flipped)
        for t in rng.sample(tenants, rng.randint(1, 4)):
            for key in [k for k in base if k[0] == t]:
                if rng.random() < 0.4:
                    base[key] = draw(rng)
            if rng.random() < 0.2:  # all its rows of the metric gone
                base.update({k: (0, 0) for k in base if k[0] == t})
            await put_rollups(admin_conn, metric, t, base)
        await publication.publish(db.pool, [m])
        moved = sum(1 for t in tenants if rows_of(t) != before[t])
        assert state.tenants_read == (await admin_conn.fetchval(with_rows, metric) if round_ == 3 else moved)
        everything = publication.build_cube(m, await repository.metric_rows(admin_conn, metric),
                                            await repository.tenants(admin_conn))
        sums = state.sums
        assert sums is not None
        assert sums.cells == everything.cells
    incremental = await admin_conn.fetch(FIGURES, metric)
    await publication.publish(db.pool, [m], rebuild=True)
    assert await admin_conn.fetch(FIGURES, metric) == incremental


async def test_figures_another_process_published_are_replaced_whole(
        db: Database, make_tenant: TenantFactory, admin_conn: asyncpg.Connection) -> None:
    """This process remembers figures it wrote; another one publishes the metric meanwhile (from other rollups),
    then the rollups return to what this process last saw. Writing only the difference from what it remembers would
    leave the other process's figures: the publication counter tells it to write every figure."""
    assert db.pool is not None
    m = BY_KEY["referrals"]
    rng = random.Random(41)
    tenants = [str((await make_tenant(f"otherpub-{i:02d}")).id) for i in range(GROUP_SIZE + 2)]
    base: Base = {(t, s, i): draw(rng) for t in tenants for s in ("a", "b") for i in range(6)}
    for t in tenants:
        await put_rollups(admin_conn, m.key, t, base)
    publication.STATES.pop(m.key, None)
    await publication.publish(db.pool, [m])
    before = await admin_conn.fetch(FIGURES, m.key)
    ours = publication.STATES.pop(m.key)

    moved = dict(base)
    for key in [k for k in base if k[0] == tenants[0]]:
        moved[key] = (base[key][0] + 7, 0)
    await put_rollups(admin_conn, m.key, tenants[0], moved)
    await publication.publish(db.pool, [m])  # "another process": no memory of ours
    assert await admin_conn.fetch(FIGURES, m.key) != before

    publication.STATES[m.key] = ours
    await put_rollups(admin_conn, m.key, tenants[0], base)
    assert await publication.publish(db.pool, [m]) == len(before)
    assert await admin_conn.fetch(FIGURES, m.key) == before


async def test_the_table_by_tenant_read_in_one_statement_equals_the_view_read(
        db: Database, make_tenant: TenantFactory, admin_conn: asyncpg.Connection) -> None:
    """service.published_tenant_table (one statement, rows ready) against service.table over national_view (the
    slice read every other view uses), as the national role, on generated figures: every grain, periods with
    figures and without, a tenant with no rollups at all."""
    assert db.pool is not None
    rng = random.Random(23)
    tenants = [str((await make_tenant(f"onestmt-{i:02d}")).id) for i in range(GROUP_SIZE + 3)]
    base: Base = {(t, s, i): draw(rng) for t in tenants[1:] for s in ("a", "b") for i in range(6)}
    for metric in ("referrals", "take_up"):
        for t in tenants[1:]:
            await put_rollups(admin_conn, metric, t, base)
        await publication.publish(db.pool, [BY_KEY[metric]])
    role = db.settings.national_role
    compared = 0
    async with db.pool.acquire() as conn, conn.transaction(readonly=True):
        await conn.fetchrow("SELECT set_config('role', $1, true)", role)
        for metric in ("referrals", "take_up"):
            m = BY_KEY[metric]
            for grain, period in [("MONTH", dt.date(2013, i, 1)) for i in (1, 4, 6, 9)] + \
                                 [("QUARTER", dt.date(2013, 4, 1)), ("YEAR", dt.date(2013, 1, 1)),
                                  ("YEAR", dt.date(1999, 1, 1))]:
                fast = await service.published_tenant_table(conn, role, m, grain, period)
                view = await service.national_view(conn, role, m, FLOOR,
                                                   repository.FigureSlice(grain, period, period, ("N", "T")))
                assert fast == service.table(view, m, grain, period, "TENANT", None)
                compared += len(fast.rows)
    assert compared > 0


class Counted:
    """The national session's statements, with the rows each returned."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn
        self.returned: list[int] = []

    async def fetch(self, sql: str, *args: object) -> list[asyncpg.Record]:
        rows = await self.conn.fetch(sql, *args)
        self.returned.append(len(rows))
        return rows

    async def fetchrow(self, sql: str, *args: object) -> asyncpg.Record | None:
        return await self.conn.fetchrow(sql, *args)

    async def fetchval(self, sql: str, *args: object) -> object:
        return await self.conn.fetchval(sql, *args)

    async def executemany(self, sql: str, args: object) -> None:
        raise AssertionError("a national read writes nothing")


async def test_a_table_kept_is_served_only_while_its_figures_and_tenants_are_the_same(
        db: Database, make_tenant: TenantFactory, admin_conn: asyncpg.Connection) -> None:
    """service.published_tenant_table keeps the table it made; each read sends its stamp, and gets one row while the
    stamp holds, the whole table again (the same as table() over national_view) once the metric is published again
    by another process (another replica's refresh), a tenant is renamed, or a tenant is added."""
    assert db.pool is not None
    m = BY_KEY["take_up"]
    rng = random.Random(29)
    made = [await make_tenant(f"kept-{i:02d}") for i in range(GROUP_SIZE + 2)]
    tenants = [str(t.id) for t in made]
    base: Base = {(t, s, i): draw(rng) for t in tenants for s in ("a", "b") for i in range(6)}
    for t in tenants:
        await put_rollups(admin_conn, m.key, t, base)
    await publication.publish(db.pool, [m])
    role, pool = db.settings.national_role, db.pool
    period = dt.date(2013, 4, 1)

    async def read() -> tuple[service.Table, service.Table, list[int]]:
        async with pool.acquire() as conn, conn.transaction(readonly=True):
            await conn.fetchrow("SELECT set_config('role', $1, true)", role)
            counted = Counted(conn)
            fast = await service.published_tenant_table(counted, role, m, "QUARTER", period)
            view = await service.national_view(conn, role, m, FLOOR,
                                               repository.FigureSlice("QUARTER", period, period, ("N", "T")))
            return fast, service.table(view, m, "QUARTER", period, "TENANT", None), counted.returned

    service._TABLES.clear()
    first, expected, returned = await read()
    assert first == expected
    everyone = len(first.rows) + 1
    assert returned == [everyone]
    again, expected, returned = await read()
    assert again is first
    assert again == expected
    assert returned == [1]  # the stamp held: only the total's row came back

    # Another process publishes the metric from moved rollups: the kept table is not served again.
    for key in [k for k in base if k[0] == tenants[0]]:
        base[key] = (base[key][0] + 9, base[key][1])
    await put_rollups(admin_conn, m.key, tenants[0], base)
    ours = publication.STATES.pop(m.key)
    await publication.publish(db.pool, [m])
    publication.STATES[m.key] = ours
    moved, expected, returned = await read()
    assert moved == expected
    assert moved is not first  # (its figures may show the same: suppression can hide what moved)
    assert returned == [everyone]

    # A tenant renamed (the table lists names) or added (its row, an empty cell): read whole again.
    await admin_conn.execute("UPDATE control.tenant SET name = 'Renamed ' || name WHERE id = $1", made[1].id)
    renamed, expected, returned = await read()
    assert renamed == expected
    assert renamed != moved
    assert returned == [everyone]
    assert any(r.label.startswith("Renamed ") for r in renamed.rows)
    await make_tenant("kept-new")
    added, expected, returned = await read()
    assert added == expected
    assert len(added.rows) == len(renamed.rows) + 1
    assert returned == [everyone + 1]
    kept, expected, returned = await read()
    assert kept is added
    assert returned == [1]


async def test_the_tenant_directory_version_moves_with_what_a_table_by_tenant_lists(
        make_tenant: TenantFactory, admin_conn: asyncpg.Connection) -> None:
    """A kept table's stamp reads control.tenant_directory's version (c0011): it moves with a tenant added, renamed
    or removed, in that change's transaction (so not when it rolls back), and not with other changes to a tenant's
    row, which migrations and lifecycle changes make in parallel."""
    async def version() -> int:
        return int(await admin_conn.fetchval("SELECT version FROM control.tenant_directory"))

    before = await version()
    made = await make_tenant("directory-a")
    added = await version()
    assert added > before
    await admin_conn.execute("UPDATE control.tenant SET schema_revision = schema_revision, status = status, "
                             "updated_at = now() WHERE id = $1", made.id)
    assert await version() == added
    renaming = admin_conn.transaction()
    await renaming.start()
    await admin_conn.execute("UPDATE control.tenant SET name = 'Renamed' WHERE id = $1", made.id)
    assert await version() == added + 1
    await renaming.rollback()
    assert await version() == added
    await admin_conn.execute("UPDATE control.tenant SET slug = slug WHERE id = $1", made.id)
    assert await version() == added + 1
    removing = admin_conn.transaction()  # removed, then put back (the fixture removes its tenants itself)
    await removing.start()
    await admin_conn.execute("DELETE FROM control.tenant WHERE id = $1", made.id)
    assert await version() == added + 2
    await removing.rollback()
    assert await version() == added + 1
