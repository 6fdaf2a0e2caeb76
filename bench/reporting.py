"""National reporting at scale, at several numbers of tenants in one run (100, 300 and 1,000 by default): a full
refresh and what publishing (disclosure control) costs in it, the first and warm national queries, a stricter
policy computed on request, an incremental refresh with 10 tenants changed, and the naive alternative (one UNION
ALL over every tenant schema) as the reference, then each figure per tenant against the smallest size.

    python bench/reporting.py                                   # 100, 300, 1000 tenants x 100 young adults
    python bench/reporting.py --sizes 20,60 --young-adults 50
    python bench/reporting.py --sizes 150 --keep                # keeps its database, and prints its name
    python bench/reporting.py --sizes 150,300 --reuse always_hope_bench_1a2b3c   # its tenants, and more if asked

With --reuse the tenants already in the kept database are measured again (and seeded further when a size is
larger): its "onboarded and seeded" line then counts only the tenants added. Every other figure is measured anew.

Needs DATABASE_URL (a superuser; the bench makes its own database and role prefix and drops both at the end
unless --keep). Seeding is set-based SQL, one statement per table per tenant.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import datetime as dt
import os
import secrets
import statistics
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AsyncExitStack, asynccontextmanager

import asyncpg
import orjson
from sqlalchemy import make_url

from bench.harness import asgi_post
from service.api import kept
from service.app.asgi import create_app
from service.app.auth import DevIssuer
from service.kernel import clock
from service.kernel.database import Database
from service.kernel.principal import Principal, Role
from service.kernel.session import Statements
from service.kernel.settings import PUBLISHED_OPERATIONS, Settings
from service.kernel.tenancy import Tenant
from service.kernel.work import UnitOfWork
from service.platform.grants import grant
from service.reporting import publication, repository, service
from service.reporting.disclosure import DisclosurePolicy
from tenants import registry
from tenants.provisioning import NewTenant, create_tenant
from tenants.runner import migrate

SITES = (("P1", "Prison", "PRISON"), ("L1", "Leaving care", "LEAVING_CARE"), ("R1", "Probation", "PROBATION"))

SEED = [
    """INSERT INTO young_adult (given_name, family_name, date_of_birth, care_status)
       SELECT 'Bench', 'Example-' || i, date '2001-01-01' + (i % 1500), 'RELEVANT' FROM generate_series(1, $1) i""",
    """INSERT INTO enrolment (young_adult_id, site_id, identified_on, referred_on, consented_on)
       SELECT id, site_id, d, d + 3, CASE WHEN random() < 0.7 THEN d + 10 END
       FROM (SELECT ya.id, s.id AS site_id, date '2023-01-01' + (random() * 700)::int AS d
             FROM (SELECT id, row_number() OVER () AS n FROM young_adult) ya
             JOIN (SELECT id, row_number() OVER (ORDER BY code) - 1 AS k FROM site) s ON s.k = ya.n % 3) x""",
    """INSERT INTO custody_episode (young_adult_id, reception_date, sentence_type, crd, actual_release_date,
                                   release_type)
       SELECT e.young_adult_id, e.identified_on - 60, 'DETERMINATE', e.identified_on + 200, e.identified_on + 200,
              'CONDITIONAL' FROM enrolment e WHERE random() < 0.6""",
    "INSERT INTO integrated_plan (young_adult_id) SELECT young_adult_id FROM enrolment WHERE consented_on IS NOT NULL",
    """INSERT INTO plan_version (plan_id, number, status, created_by, agreed_at)
       SELECT ip.id, 1, 'AGREED', 'bench', (e.consented_on + (random() * 150)::int)::timestamptz
       FROM integrated_plan ip JOIN enrolment e ON e.young_adult_id = ip.young_adult_id""",
    """INSERT INTO practitioner (given_name, family_name, service, role)
       VALUES ('B', 'P', 'PRISON', 'POM'), ('B', 'P', 'PROBATION', 'COM'),
              ('B', 'P', 'LEAVING_CARE', 'PERSONAL_ADVISER')""",
    """INSERT INTO meeting (young_adult_id, kind, held_on)
       SELECT young_adult_id, k, identified_on + (random() * 180)::int FROM enrolment
       CROSS JOIN (VALUES ('INTEGRATED_PLANNING'), ('THREE_WAY'), ('REVIEW'), ('LIFELONG_LINKS')) AS m (k)
       WHERE random() < 0.5""",
    """INSERT INTO meeting_attendee (meeting_id, practitioner_id)
       SELECT m.id, p.id FROM meeting m CROSS JOIN practitioner p WHERE m.kind = 'THREE_WAY' AND random() < 0.8""",
    """INSERT INTO recall_event (custody_episode_id, recalled_on)
       SELECT id, actual_release_date + (random() * 300)::int FROM custody_episode WHERE random() < 0.2""",
    """INSERT INTO outcome_observation (young_adult_id, custody_episode_id, time_point, observed_on, accommodation,
                                       in_education_training_employment, network_contacts_last_30_days)
       SELECT ce.young_adult_id, ce.id, tp, ce.actual_release_date + off,
              CASE WHEN random() < 0.6 THEN 'SETTLED' ELSE 'TEMPORARY' END, random() < 0.4, (random() * 6)::int
       FROM custody_episode ce
       CROSS JOIN (VALUES ('RELEASE_DAY', 0), ('MONTH_3', 91), ('MONTH_6', 182), ('MONTH_12', 365)) AS t (tp, off)""",
    """INSERT INTO lifelong_links_case (young_adult_id, referred_on)
       SELECT young_adult_id, identified_on + 20 FROM enrolment WHERE random() < 0.4""",
    """INSERT INTO lifelong_links_stage_change (case_id, stage, entered_on, changed_by)
       SELECT id, 'PLAN_AGREED', referred_on + 120, 'bench' FROM lifelong_links_case WHERE random() < 0.6""",
    """INSERT INTO lifelong_links_objective (case_id, description, met, assessed_on)
       SELECT c.id, 'objective', random() < 0.6, c.referred_on + 150
       FROM lifelong_links_case c, generate_series(1, 3)""",
    """INSERT INTO network_member (young_adult_id, case_id, given_name, relationship, known_before, status, created_at)
       SELECT c.young_adult_id, c.id, 'Kim', 'RELATIVE', g <= 4, CASE WHEN random() < 0.4 THEN 'COMMITTED'
              ELSE 'IDENTIFIED' END, (c.referred_on + g * 5)::timestamptz
       FROM lifelong_links_case c, generate_series(1, 12) g""",
    """INSERT INTO network_member_status_change (member_id, status, changed_on, changed_by)
       SELECT id, 'COMMITTED', created_at::date + 30, 'bench' FROM network_member WHERE status = 'COMMITTED'""",
]


async def seed(admin: asyncpg.Connection, schema: str, young_adults: int) -> None:
    async with admin.transaction():
        await admin.execute(f'SET LOCAL search_path = "{schema}"')
        await admin.executemany("INSERT INTO site (code, name, kind) VALUES ($1, $2, $3)", list(SITES))
        for statement in SEED:
            await (admin.execute(statement, young_adults) if "$1" in statement else admin.execute(statement))


async def timed(label: str, runs: int, action: Callable[[], Awaitable[object]]) -> float:
    samples = []
    for _ in range(runs):
        started = time.perf_counter()
        await action()
        samples.append(time.perf_counter() - started)
    median = statistics.median(samples)
    print(f"  {label:<62} {median * 1000:10.1f} ms" + (f"  (median of {runs})" if runs > 1 else ""))
    return median


ANALYST = Principal("bench-analyst", Role.NATIONAL_ANALYST)
CHANGE = "UPDATE enrolment SET consented_on = coalesce(consented_on, referred_on) + 1 WHERE young_adult_id = " \
         "(SELECT young_adult_id FROM enrolment ORDER BY young_adult_id LIMIT 1)"


@asynccontextmanager
async def national(db: Database, pool: asyncpg.Pool) -> AsyncIterator[Statements]:
    """What a national analyst's request runs its query in: the request path's own unit of work
    (service.kernel.work), on the connection the request's Gate acquired (its grant read on it is the request's
    authentication, not counted here), through its national session: BEGIN and the national role in one round trip,
    the statement, COMMIT and the pool's reset in one."""
    work = UnitOfWork.begin(ANALYST, db, pool, "bench", clock.today(), held=await pool.acquire())
    try:
        yield work.national()
    except BaseException:
        await work.end(commit=False)
        raise
    await work.end(commit=True)


@asynccontextmanager
async def hand_rolled(pool: asyncpg.Pool, role: str) -> AsyncIterator[asyncpg.Connection]:
    """How earlier runs measured a national query: a read-only transaction of its own and the role set by a
    statement of its own, the pool's reset on release (five round trips where the request path makes three)."""
    async with pool.acquire() as conn, conn.transaction(readonly=True):
        await conn.fetchrow("SELECT set_config('role', $1, true), set_config('search_path', 'control', true)", role)
        yield conn


# What the dashboard sends for a table by tenant: the published operation (graphql/operations/national/).
COMPARISON = (PUBLISHED_OPERATIONS / "national" / "DashboardComparison.graphql").read_text()


async def graphql(db: Database, running: AsyncExitStack) -> Callable[[str, str, str], Awaitable[object]]:
    """A national query end to end in the service: a national analyst's token, POST /graphql into the ASGI app as
    uvicorn hands it over (the middleware, the Gate, the unit of work, the resolvers, the platform trail, the JSON
    written), less the network and any HTTP client. The app runs as the server runs it (its lifespan: the start-up
    heap frozen, the collector's threshold set) until ``running`` closes, and is asked once before it is timed, for
    another table: the document is parsed and the pool warm, as in a running service. The answer is checked
    without decoding it, which is the client's work."""
    subject = "bench-national-analyst"
    await grant(db.engine, subject=subject, role=Role.NATIONAL_ANALYST)
    token = DevIssuer(db.settings).issue(subject, None)
    app = create_app(db)
    await running.enter_async_context(app.router.lifespan_context(app))
    headers = [(b"content-type", b"application/json"), (b"authorization", f"Bearer {token}".encode())]

    async def ask(metric: str, grain: str, period: str) -> None:
        body = orjson.dumps({"query": COMPARISON, "variables": {"m": metric, "g": grain, "p": period}})
        status, answer = await asgi_post(app, "/graphql", body, headers)
        assert status == 200, answer[:500]
        assert answer.startswith(b'{"data":{"nationalMetric":{'), answer[:500]
        assert b'"errors"' not in answer, answer[:500]

    await ask("referrals", "YEAR", "2024-01-01")
    return ask


async def measure(db: Database, admin: asyncpg.Connection, tenants: list[Tenant], runs: int,
                  runs_changed: int, running: AsyncExitStack, publish_runs: int) -> dict[str, float]:
    """Every figure at the current number of tenants."""
    pool = await db.open_pool()
    n = len(tenants)
    out: dict[str, float] = {}
    print(f"{n} tenants:")
    out["full"] = await timed("full refresh (every tenant recomputed, every metric published)", 1,
                              lambda: service.refresh_all(pool, full=True))
    out["publish_one"] = await timed("publish one rate metric (take-up) from nothing: disclosure, store",
                                     publish_runs,
                                     lambda: publication.publish(pool, [service.metric("take_up")], rebuild=True))
    out["publish_count"] = await timed("publish one count metric (referrals) from nothing", publish_runs,
                                       lambda: publication.publish(pool, [service.metric("referrals")], rebuild=True))
    rows = await admin.fetchval("SELECT count(*) FROM control.metric_rollup")
    figures = await admin.fetchval("SELECT count(*) FROM control.national_figure")
    print(f"  rollup rows {rows}, published figures {figures}")
    role = db.settings.national_role
    policy = DisclosurePolicy()

    async def take_up(p: DisclosurePolicy = policy) -> None:
        async with national(db, pool) as session:  # one unit of work, as a request has
            await service.national_table(session, role, ANALYST, "take_up", "QUARTER", dt.date(2024, 1, 1),
                                         "TENANT", None, p)

    async def referrals() -> None:
        async with national(db, pool) as session:
            await service.national_table(session, role, ANALYST, "referrals", "MONTH", dt.date(2024, 3, 1), "TENANT",
                                         None, policy)

    async def take_up_read_whole() -> None:
        service._TABLES.clear()  # the table read and made again, as every query did before tables were kept
        await take_up()

    async def take_up_hand_rolled() -> None:
        async with hand_rolled(pool, role) as conn:
            await service.national_table(conn, role, ANALYST, "take_up", "QUARTER", dt.date(2024, 1, 1), "TENANT",
                                         None, policy)

    async def statements_only() -> None:
        async with national(db, pool) as session:
            await repository.tenant_table(session, "take_up", "QUARTER", dt.date(2024, 1, 1))

    service._TABLES.clear()
    out["first"] = await timed("national query, first after the refresh: take-up by tenant, a quarter", 1, take_up)
    out["first_count"] = await timed("national query, first: referrals by tenant, a month", 1, referrals)
    out["warm"] = await timed("national query, warm: take-up by tenant, a quarter", runs, take_up)
    out["warm_count"] = await timed("national query, warm: referrals by tenant, a month", runs, referrals)
    out["warm_whole"] = await timed("  take-up read and made whole each time (no table kept)", runs,
                                    take_up_read_whole)
    out["warm_sql"] = await timed("    of which its unit of work and its statement (no Python view)", runs,
                                  statements_only)
    out["warm_hand"] = await timed("  take-up in a hand-rolled transaction (as earlier runs measured)", runs,
                                   take_up_hand_rolled)
    ask = await graphql(db, running)

    async def take_up_graphql() -> None:
        await ask("take_up", "QUARTER", "2024-01-01")

    service._TABLES.clear()  # as after a refresh: no table kept, nothing completed
    kept.forget()
    out["graphql_first"] = await timed("national query through GraphQL (the ASGI app), first after the refresh: "
                                       "take-up by tenant", 1, take_up_graphql)
    # More runs than the others: a request's few milliseconds swing with the machine's other work.
    out["graphql"] = await timed("national query through GraphQL (the ASGI app), warm: take-up by tenant",
                                 max(runs, 41), take_up_graphql)
    stricter = DisclosurePolicy(min_count=7)
    service._PATTERNS.clear()
    out["stricter"] = await timed("stricter policy (minCount 7), computed on request", 1,
                                  lambda: take_up(stricter))
    out["stricter_warm"] = await timed("stricter policy again (cached until the next refresh)", runs,
                                       lambda: take_up(stricter))
    step = max(1, n // 10)
    cycles: list[float] = []
    for cycle in range(runs_changed):
        changed = tenants[cycle % step:: step][:10]  # ten other tenants each cycle
        for t in changed:
            await admin.execute(f'SET search_path = "{t.schema}"; {CHANGE}; RESET search_path')
        for state in publication.STATES.values():  # count only what this refresh's publications do
            state.memo.solved = state.memo.reused = 0
        started = time.perf_counter()
        results = await service.refresh_all(pool)
        cycles.append(time.perf_counter() - started)
        assert sum(1 for r in results if not r.skipped) == len(changed)
        moved = sorted(set().union(*(r.changed for r in results)))
        solved = sum(state.memo.solved for state in publication.STATES.values())
        reused = sum(state.memo.reused for state in publication.STATES.values())
        print(f"  refresh with {len(changed)} tenants changed, cycle {cycle + 1}: {cycles[-1] * 1000:10.1f} ms"
              f"  ({len(moved)} metrics republished: {', '.join(moved)}; exact audits solved / recalled "
              f"{solved} / {reused})")
    out["incremental"] = statistics.median(cycles)
    out["incremental_max"] = max(cycles)
    print(f"  {'refresh with 10 tenants changed (the rest skipped): median, max':<62} "
          f"{out['incremental'] * 1000:10.1f} ms {out['incremental_max'] * 1000:10.1f} ms  (of {len(cycles)})")
    out["nothing"] = await timed("refresh with nothing changed", 1, lambda: service.refresh_all(pool))
    union = " UNION ALL ".join(f'SELECT referred_on, consented_on FROM "{t.schema}".enrolment' for t in tenants)
    naive = (f"SELECT count(*) AS referred, count(consented_on) AS consented FROM ({union}) e "
             "WHERE referred_on >= date '2024-01-01' AND referred_on < date '2024-04-01'")
    out["naive"] = await timed(f"reference: one cell by UNION ALL over {n} schemas (no consent rule, no "
                               "disclosure)", runs, lambda: admin.fetchrow(naive))
    return out


async def main(args: argparse.Namespace) -> None:
    server = args.database_url or os.environ.get("DATABASE_URL")
    if not server:
        raise SystemExit("set DATABASE_URL to a superuser URL (the bench makes and drops its own database)")
    sizes = sorted(int(s) for s in args.sizes.split(","))
    run = args.reuse.removeprefix("always_hope_bench_") if args.reuse else secrets.token_hex(3)
    name, prefix = f"always_hope_bench_{run}", f"ahb{run}"
    plain = make_url(server).set(drivername="postgresql")
    root = await asyncpg.connect(plain.render_as_string(False))
    if not args.reuse:
        await root.execute(f'CREATE DATABASE "{name}"')
    print(f"database {name}")
    url = plain.set(database=name).render_as_string(False)
    settings = Settings(database_url=url, role_prefix=prefix, reporting_refresh_seconds=0, rate_limit_principal=0,
                        rate_limit_tenant=0)
    if args.statement_timeout_ms is not None:
        settings = dataclasses.replace(settings, statement_timeout_ms=args.statement_timeout_ms)
    db = Database.connect(settings)
    results: dict[int, dict[str, float]] = {}
    running = AsyncExitStack()  # the apps measured through GraphQL, running until the end
    try:
        await migrate(db)
        admin = await asyncpg.connect(url)
        tenants: list[Tenant] = [t for t in await registry.all_tenants(admin) if t.slug.startswith("bench-")]
        for size in sizes:
            started = time.perf_counter()
            for i in range(len(tenants), size):
                kind = "COHORT" if i % 5 == 4 else "REGION"
                tenant = await create_tenant(db.engine, NewTenant(f"bench-{i:04d}", f"Bench {i}", kind),
                                             role_prefix=prefix, app_role=db.settings.app_role)
                await seed(admin, tenant.schema, args.young_adults)
                tenants.append(tenant)
            print(f"onboarded and seeded up to {size} tenants x {args.young_adults} young adults in "
                  f"{time.perf_counter() - started:.1f} s")
            results[size] = await measure(db, admin, tenants, args.runs, args.cycles, running, args.publish_runs)
        await admin.close()
    finally:
        await running.aclose()
        await db.close()
        if not (args.keep or args.reuse):
            await root.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            for (role_name,) in await root.fetch("SELECT rolname FROM pg_roles WHERE rolname LIKE $1",
                                                 f"{prefix}\\_%"):
                await root.execute(f'DROP ROLE IF EXISTS "{role_name}"')
        await root.close()
    base = sizes[0]
    print(f"\nscaling (per tenant, against {base} tenants; 1.00 = linear):")
    for key in ("full", "publish_one", "publish_count", "incremental", "naive"):
        ratio = {n: results[n][key] / results[base][key] / (n / base) for n in sizes}
        line = "  ".join(f"{n}: {results[n][key] * 1000 / n:7.2f} ms/tenant ({ratio[n]:.2f})" for n in sizes)
        print(f"  {key:<12} {line}")
    for key in ("first", "warm", "warm_whole", "warm_sql", "warm_hand", "first_count", "warm_count", "graphql_first",
                "graphql", "stricter"):
        print(f"  {key:<12} " + "  ".join(f"{n}: {results[n][key] * 1000:8.1f} ms" for n in sizes))


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="100,300,1000", help="numbers of tenants to measure at, in one run")
    parser.add_argument("--young-adults", type=int, default=100)
    parser.add_argument("--runs", type=int, default=5, help="repetitions of each warm query")
    parser.add_argument("--cycles", type=int, default=1,
                        help="refresh cycles with 10 tenants changed, ten other tenants each time (median and max)")
    parser.add_argument("--publish-runs", type=int, default=1,
                        help="repetitions of publishing one metric from nothing (their median)")
    parser.add_argument("--database-url", help="superuser URL; DATABASE_URL by default")
    parser.add_argument("--keep", action="store_true", help="keep the bench database and roles")
    parser.add_argument("--statement-timeout-ms", type=int,
                        help="the pools' statement timeout (the service's default otherwise): writing a whole metric's "
                             "figures on a loaded server can take longer than the default 5 s")
    parser.add_argument("--reuse", help="a database an earlier run kept (implies --keep): measure its tenants again")
    asyncio.run(main(parser.parse_args()))
