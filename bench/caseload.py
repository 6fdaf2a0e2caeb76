"""Issue 9: the caseload page, our service beside a hand-written SQL reference, measured in the same run.

    python bench/caseload.py [--young-adults 100] [--seconds 10] [--rounds 2] [--concurrency 16] [--workers 1]

Seeds one tenant deterministically (young adults at one site, each with a plan of 5 goals x 3 actions and 8
network members), starts our service (uvicorn, `--workers` processes) and the reference app (bench/reference_app.py,
one process), then drives each with a closed loop of `--concurrency` clients on loopback, alternating targets
round by round so machine drift hits both. Every response is checked (status, no errors, item counts). Prints
requests/s, p50/p99, CPU ms per request of the server and of PostgreSQL (every postgres process, and the
target's own backends alone: the machine may be shared), and our ratio to the reference; then the
other scenarios and the service's resident memory: a young adult's full record (`YoungAdultRecord`, the first young
adult given a team, custody, an assessment, sign-offs and a meeting) beside its hand-written reference
(bench/record_reference.py, checked equal first), updating an action, the national report.

Uses DATABASE_URL when set (a superuser URL), else an embedded PostgreSQL in a temporary directory.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import ctypes
import datetime as dt
import itertools
import os
import random
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import orjson

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.harness import BenchDatabase, Result, Target, bench_database, children_of, closed_loop, rss_mb
from bench.record_reference import EXCLUDED, without
from service.api.relay import to_global_id
from service.api.trusted import published_operations
from service.app.auth import DevIssuer
from service.kernel import clock
from service.kernel.database import Database
from service.kernel.principal import Role, Service
from service.kernel.tenancy import Tenant
from service.platform.grants import grant
from tenants.provisioning import NewTenant, create_tenant
from tenants.runner import migrate

ROOT = Path(__file__).resolve().parent.parent
OPERATIONS = published_operations(ROOT / "graphql" / "operations")
CASELOAD = OPERATIONS["CaseloadPage"].read_text()
RECORD = OPERATIONS["YoungAdultRecord"].read_text()
UPDATE_ACTION = OPERATIONS["SetPlanActionStatus"].read_text()
NATIONAL = OPERATIONS["DashboardComparison"].read_text()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


async def seeded_tenant(bench: BenchDatabase, slug: str, count: int) -> tuple[Tenant, str]:
    """The bench database migrated, one region ``slug`` made in it and ``count`` young adults seeded (:func:`seed`):
    the tenant and its site's id, for the benches that read the database directly (audit_cost, caseload_plans)."""
    db = Database.connect(bench.settings)
    try:
        await migrate(db)
        tenant = await create_tenant(db.engine, NewTenant(slug, "Bench", "REGION"), role_prefix=bench.run,
                                     app_role=bench.settings.app_role)
    finally:
        await db.close()
    site, _, _ = await seed(bench.url, tenant.schema, count)
    return tenant, site


async def seed(admin_url: str, schema: str, count: int) -> tuple[str, list[str], list[str]]:
    """Young adults at BSI, deterministic; returns the site id, the young adults' ids and 200 actions' ids."""
    rng = random.Random(9)
    conn = await asyncpg.connect(admin_url)
    try:
        s = f'"{schema}"'
        site = await conn.fetchval(f"INSERT INTO {s}.site (code, name, kind) VALUES ('BSI', 'HMP Brinsford', "
                                   "'PRISON') RETURNING id")
        ids = []
        for i in range(count):
            ya = await conn.fetchval(
                f"INSERT INTO {s}.young_adult (given_name, family_name, date_of_birth, care_status, prison_number) "
                "VALUES ($1, $2, $3, 'RELEVANT', $4) RETURNING id", f"Sam{i}", f"Example-{i:04d}",
                dt.date(2002, 1, 1) + dt.timedelta(days=rng.randrange(2000)),
                f"Z{i:04d}AB")
            ids.append(str(ya))
            await conn.execute(f"INSERT INTO {s}.enrolment (young_adult_id, site_id) VALUES ($1, $2)", ya, site)
            plan = await conn.fetchval(f"INSERT INTO {s}.integrated_plan (young_adult_id) VALUES ($1) RETURNING id",
                                       ya)
            version = await conn.fetchval(f"INSERT INTO {s}.plan_version (plan_id, number, status, created_by) "
                                          "VALUES ($1, 1, 'AGREED', 'bench') RETURNING id", plan)
            await conn.execute(f"""
                WITH g AS (INSERT INTO {s}.plan_goal (plan_version_id, pathway, description, position)
                           SELECT $1, 'ACCOMMODATION', 'Somewhere settled to live on release, goal ' || n, n
                           FROM generate_series(1, 5) n RETURNING id)
                INSERT INTO {s}.plan_action (plan_goal_id, description, owner_service, due_on, position)
                SELECT g.id, 'Make the referral to the housing provider, step ' || n, 'LEAVING_CARE',
                       DATE '2027-01-01' + n, n FROM g, generate_series(1, 3) n""", version)
            await conn.execute(f"""
                INSERT INTO {s}.network_member (young_adult_id, given_name, relationship, known_before, status)
                SELECT $1, 'Member ' || n, 'RELATIVE', n % 2 = 0, 'AGREED' FROM generate_series(1, 8) n""", ya)
        actions = [str(r["id"]) for r in await conn.fetch(f"SELECT id FROM {s}.plan_action ORDER BY id LIMIT 200")]
        return str(site), ids, actions
    finally:
        await conn.close()


async def fill_record(admin_url: str, schema: str, site: str, young_adult: str) -> None:
    """Give the benchmarked young adult a full record: a team of three, status history, custody with a licence
    condition, an assessment, sign-offs, action owners and a meeting with practitioners and network members."""
    conn = await asyncpg.connect(admin_url)
    try:
        await conn.execute(f'SET search_path TO "{schema}"')
        async with conn.transaction():
            people = [await conn.fetchval(
                "INSERT INTO practitioner (given_name, family_name, service, role) VALUES ('Pat', $1, $2, $3) "
                "RETURNING id", f"Example-{role}", service, role)
                for service, role in (("PRISON", "POM"), ("PROBATION", "COM"), ("LEAVING_CARE", "PERSONAL_ADVISER"))]
            await conn.executemany("INSERT INTO practitioner_site (practitioner_id, site_id) VALUES ($1, $2)",
                                   [(p, uuid.UUID(site)) for p in people])
            await conn.executemany(
                "INSERT INTO team_member (young_adult_id, practitioner_id, team_role) VALUES ($1, $2, $3)",
                [(uuid.UUID(young_adult), p, r) for p, r in zip(people, ("OFFENDER_MANAGER",
                                                                         "COMMUNITY_OFFENDER_MANAGER",
                                                                         "PERSONAL_ADVISER"), strict=True)])
            await conn.execute(
                "INSERT INTO enrolment_status_change (enrolment_id, status, changed_on, changed_by) "
                "SELECT e.id, s, current_date - 30 + n::int, 'bench' FROM enrolment e, "
                "unnest(ARRAY['REFERRED', 'CONSENTED', 'ACTIVE']) WITH ORDINALITY AS x(s, n) "
                "WHERE e.young_adult_id = $1", uuid.UUID(young_adult))
            episode = await conn.fetchval(
                "INSERT INTO custody_episode (young_adult_id, prison_site_id, reception_date, sentence_type, "
                "sentence_start, crd, ard, sed, led, tused) VALUES ($1, $2, current_date - 200, 'DETERMINATE', "
                "current_date - 200, current_date + 20, current_date + 30, current_date + 200, current_date + 200, "
                "current_date + 565) RETURNING id", uuid.UUID(young_adult), uuid.UUID(site))
            await conn.execute("INSERT INTO licence_condition (custody_episode_id, description, starts_on) "
                               "VALUES ($1, 'Reside at the approved address', current_date + 20)", episode)
            assessment = await conn.fetchval(
                "INSERT INTO assessment (young_adult_id, source, assessed_on, assessor_id, summary) "
                "VALUES ($1, 'LA_NEEDS_ASSESSMENT', current_date - 20, $2, 'Needs a tenancy on release.') "
                "RETURNING id", uuid.UUID(young_adult), people[2])
            await conn.execute("INSERT INTO assessment_need (assessment_id, pathway, level) VALUES "
                               "($1, 'ACCOMMODATION', 'HIGH'), ($1, 'HEALTH', 'LOW')", assessment)
            version = await conn.fetchval(
                "SELECT v.id FROM plan_version v JOIN integrated_plan p ON p.id = v.plan_id "
                "WHERE p.young_adult_id = $1", uuid.UUID(young_adult))
            await conn.executemany(
                "INSERT INTO plan_signoff (plan_version_id, service, practitioner_id, signed_by, signed_at) "
                "VALUES ($1, $2, $3, 'bench', now() - make_interval(mins => $4))",  # distinct: ties order freely
                [(version, s, p, 3 - i) for i, (s, p) in enumerate(zip(("PRISON", "PROBATION", "LEAVING_CARE"),
                                                                        people, strict=True))])
            await conn.execute("UPDATE plan_version SET agreed_at = now() WHERE id = $1", version)
            await conn.execute("UPDATE plan_action a SET owner_id = $2 FROM plan_goal g "
                               "WHERE g.id = a.plan_goal_id AND g.plan_version_id = $1", version, people[2])
            meeting = await conn.fetchval(
                "INSERT INTO meeting (young_adult_id, kind, held_on, outcome, agreed_plan_version_id) "
                "VALUES ($1, 'PRE_RELEASE', current_date, 'Housing confirmed.', $2) RETURNING id",
                uuid.UUID(young_adult), version)
            await conn.execute(
                "INSERT INTO meeting_attendee (meeting_id, practitioner_id) SELECT $1, unnest($2::uuid[])",
                meeting, people)
            await conn.execute(
                "INSERT INTO meeting_attendee (meeting_id, network_member_id) SELECT $1, m.id FROM network_member m "
                "WHERE m.young_adult_id = $2 ORDER BY m.created_at, m.id LIMIT 2", meeting, uuid.UUID(young_adult))
    finally:
        await conn.close()


def _die_with_parent() -> None:
    """In the child: be sent SIGTERM when the benchmark dies, however it dies (Linux prctl PR_SET_PDEATHSIG)."""
    ctypes.CDLL("libc.so.6").prctl(1, signal.SIGTERM)


def start(cmd: list[str], env: dict[str, str], port: int, log: Path) -> subprocess.Popen[bytes]:
    proc = subprocess.Popen(cmd, env=env, stdout=log.open("wb"), stderr=subprocess.STDOUT,
                            preexec_fn=_die_with_parent)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return proc
        except OSError:
            if proc.poll() is not None:
                raise SystemExit(f"{cmd[0]} exited: {log.read_text()[-2000:]}") from None
            time.sleep(0.2)
    raise SystemExit(f"{cmd} did not start")


def page_check(size: int) -> Callable[[Any], None]:
    def check(body: Any) -> None:
        assert "errors" not in body, body.get("errors")
        edges = body["data"]["caseload"]["edges"]
        assert len(edges) == size, len(edges)
        node = edges[0]["node"]
        plan = node["plan"]["currentVersion"]["goals"]
        assert (len(plan), len(plan[0]["actions"]), len(node["networkMembers"])) == (5, 3, 8)
    return check


def record_check(body: Any) -> None:
    assert "errors" not in body, body.get("errors")
    record = body["data"]["youngAdult"]
    assert (len(record["team"]), len(record["meetings"][0]["attendees"]),
            len(record["plan"]["currentVersion"]["goals"])) == (3, 5, 5)


def differ(ours: Any, theirs: Any, path: str = "") -> Any:
    """(path, ours, theirs) for each place two JSON values differ."""
    if isinstance(ours, dict) and isinstance(theirs, dict):
        for k in sorted(ours.keys() | theirs.keys()):
            yield from differ(ours.get(k, "<absent>"), theirs.get(k, "<absent>"), f"{path}.{k}")
    elif isinstance(ours, list) and isinstance(theirs, list) and len(ours) == len(theirs):
        for i, (a, b) in enumerate(zip(ours, theirs, strict=True)):
            yield from differ(a, b, f"{path}[{i}]")
    elif ours != theirs:
        yield path, ours, theirs


def ok_check(body: Any) -> None:
    assert "errors" not in body, body.get("errors")


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--young-adults", type=int, default=100)
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--sizes", default="10,50,100")
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]

    async with bench_database("b", rate_limit_principal=0, rate_limit_tenant=0) as bench:
        settings, run, data_dir, plain_url = bench.settings, bench.run, bench.data_dir, bench.url
        assert settings.database_url is not None
        procs: list[subprocess.Popen[bytes]] = []
        try:
            db = Database.connect(settings)
            await migrate(db)
            tenant = await create_tenant(db.engine, NewTenant("bench-region", "Bench", "REGION"), role_prefix=run,
                                         app_role=settings.app_role)
            site, young_adults, actions = await seed(plain_url, tenant.schema, max([*sizes, args.young_adults]))
            await fill_record(plain_url, tenant.schema, site, young_adults[0])
            await grant(db.engine, subject="bench-pom", role=Role.PRACTITIONER, tenant_slug="bench-region",
                        service=Service.PRISON, site_codes=["BSI"])
            await grant(db.engine, subject="bench-platform", role=Role.PLATFORM_ADMIN)
            await grant(db.engine, subject="bench-analyst", role=Role.NATIONAL_ANALYST)
            await db.close()
            token = DevIssuer(settings).issue("bench-pom", "bench-region")
            site_gid = to_global_id("Site", uuid.UUID(site))

            env = {**os.environ, "DATABASE_URL": settings.database_url, "ALWAYS_HOPE_DATA_DIR": str(data_dir),
                   "ALWAYS_HOPE_ROLE_PREFIX": run, "ALWAYS_HOPE_RATE_LIMIT_PRINCIPAL": "0",
                   "ALWAYS_HOPE_RATE_LIMIT_TENANT": "0", "ALWAYS_HOPE_LOG_LEVEL": "WARNING",
                   "PYTHONPATH": str(ROOT)}
            ours_port, ref_port = free_port(), free_port()
            ours = start([sys.executable, "-m", "uvicorn", "--factory", "bench.app_factory:app", "--port",
                          str(ours_port), "--workers", str(args.workers), "--no-access-log", "--log-level", "warning"],
                         env, ours_port, data_dir / "ours.log")
            procs.append(ours)
            ref = start([sys.executable, "-m", "uvicorn", "bench.reference_app:app", "--port", str(ref_port),
                         "--no-access-log", "--log-level", "warning"],
                        {**env, "REFERENCE_DSN": plain_url, "REFERENCE_SCHEMA": tenant.schema}, ref_port,
                        data_dir / "reference.log")
            procs.append(ref)
            auth = {"Authorization": f"Bearer {token}"}

            results: dict[str, list[Result]] = {}
            for size in sizes:
                ours_t = Target(f"ours caseload {size}", f"http://127.0.0.1:{ours_port}/graphql",
                                orjson.dumps({"query": CASELOAD, "variables": {"siteId": site_gid, "first": size}}),
                                page_check(size), auth, lambda: children_of(ours.pid))
                ref_t = Target(f"reference caseload {size}", f"http://127.0.0.1:{ref_port}/caseload",
                               orjson.dumps({"site": site, "first": size}), page_check(size), {},
                               lambda: children_of(ref.pid))
                async with httpx.AsyncClient() as client:
                    warm = await client.post(ours_t.url, content=ours_t.body,
                                             headers={**auth, "Content-Type": "application/json"})
                assert warm.headers.get("x-executed-by") == "compiled", "the caseload page must take the compiled path"
                for _ in range(args.rounds):
                    for target in (ours_t, ref_t):
                        results.setdefault(target.name, []).append(
                            await closed_loop(target, args.concurrency, args.seconds))

            # A young adult's full record (bench/record_reference.py), ours beside the reference, alternating rounds.
            record_id = to_global_id("YoungAdult", uuid.UUID(young_adults[0]))
            record = Target("ours young adult record", f"http://127.0.0.1:{ours_port}/graphql",
                            orjson.dumps({"query": RECORD, "variables": {"id": record_id}}), record_check, auth,
                            lambda: children_of(ours.pid))
            record_ref = Target("reference young adult record", f"http://127.0.0.1:{ref_port}/record",
                                orjson.dumps({"id": young_adults[0]}), record_check, {}, lambda: children_of(ref.pid))
            async with httpx.AsyncClient() as client:
                replies = [await client.post(t.url, content=t.body,
                                             headers={**t.headers, "Content-Type": "application/json"})
                           for t in (record, record_ref)]
            assert replies[0].headers.get("x-executed-by") == "compiled", "the record must take the compiled path"
            answers = [r.json() for r in replies]
            differences = list(differ(without(answers[0]["data"], EXCLUDED), without(answers[1]["data"], EXCLUDED)))
            assert not differences, \
                f"the record reference disagrees with ours (path, ours, reference): {differences[:5]}"
            for _ in range(args.rounds):
                for target in (record, record_ref):
                    results.setdefault(target.name, []).append(
                        await closed_loop(target, args.concurrency, args.seconds))

            # A mutation: set an action's status, each request on the next action with the version last seen.
            versions = dict.fromkeys(actions, 1)
            order = iter(itertools.cycle(actions))
            statuses = iter(itertools.cycle(["IN_PROGRESS", "DONE", "BLOCKED", "NOT_STARTED"]))

            def next_update() -> bytes:
                action = next(order)
                return orjson.dumps({"query": UPDATE_ACTION, "variables": {"input": {
                    "id": to_global_id("PlanAction", uuid.UUID(action)), "version": versions[action],
                    "status": next(statuses)}}})

            def updated(body: Any) -> None:
                payload = body["data"]["setPlanActionStatus"]
                assert payload["errors"] == [], payload["errors"]
                for goal in payload["planVersion"]["goals"]:
                    for action in goal["actions"]:
                        raw = base64.urlsafe_b64decode(action["id"]).decode().split(":", 1)[1]
                        if raw in versions:
                            versions[raw] = max(versions[raw], action["version"])

            mutation = Target("ours update an action", f"http://127.0.0.1:{ours_port}/graphql", next_update, updated,
                              auth, lambda: children_of(ours.pid))
            results[mutation.name] = [await closed_loop(mutation, args.concurrency, args.seconds)]

            # The national report: refresh the rollups, then a national analyst's tenant comparison.
            admin_token = DevIssuer(settings).issue("bench-platform", None)
            analyst_token = DevIssuer(settings).issue("bench-analyst", None)
            async with httpx.AsyncClient(timeout=120) as client:
                refreshed = await client.post(
                    f"http://127.0.0.1:{ours_port}/graphql", headers={"Authorization": f"Bearer {admin_token}"},
                    json={"query": "mutation { refreshReporting(input: {}) "
                                   "{ refreshed { tenant } errors { message } } }"})
                assert refreshed.json()["data"]["refreshReporting"]["errors"] == [], refreshed.text
            month = clock.today().replace(day=1).isoformat()
            national = Target("ours national report", f"http://127.0.0.1:{ours_port}/graphql",
                              orjson.dumps({"query": NATIONAL,
                                            "variables": {"m": "referrals", "g": "MONTH", "p": month}}),
                              ok_check, {"Authorization": f"Bearer {analyst_token}"}, lambda: children_of(ours.pid))
            results[national.name] = [await closed_loop(national, args.concurrency, args.seconds)]

            print(f"\ncaseload benchmark: {args.young_adults} young adults seeded, concurrency {args.concurrency}, "
                  f"{args.rounds} x {args.seconds:.0f} s per target, {args.workers} worker(s)")
            for name, runs in results.items():
                merged = Result(name, sum(r.requests for r in runs), sum(r.errors for r in runs),
                                sum(r.seconds for r in runs), [x for r in runs for x in r.latencies],
                                sum(r.server_cpu for r in runs), sum(r.postgres_cpu for r in runs),
                                runs[0].bytes_per_response, sum(r.backends_cpu for r in runs))
                results[name] = [merged]
                print(merged.row())
            for size in sizes:
                o, r = results[f"ours caseload {size}"][0], results[f"reference caseload {size}"][0]
                print(f"caseload {size}: ours / reference throughput = {o.rps / r.rps:.2f}x; "
                      f"p99 / p50 = {o.percentile(99) / o.percentile(50):.2f}")
            o, r = results["ours young adult record"][0], results["reference young adult record"][0]
            print(f"young adult record: ours / reference throughput = {o.rps / r.rps:.2f}x; "
                  f"p99 / p50 = {o.percentile(99) / o.percentile(50):.2f}")
            for name in ("ours update an action", "ours national report"):
                o = results[name][0]
                print(f"{name.removeprefix('ours ')}: p99 / p50 = {o.percentile(99) / o.percentile(50):.2f}")
            rss = sum(rss_mb(pid) for pid in children_of(ours.pid)[1:] or [ours.pid])
            print(f"service resident memory after the run: {rss:.0f} MB "
                  f"({'worker processes' if args.workers > 1 else 'the one process'})")
        finally:
            for log in ("ours.log", "reference.log"):
                text = (data_dir / log).read_text() if (data_dir / log).exists() else ""
                if "Traceback" in text:
                    print(f"--- {log} (last lines) ---\n{text[-3000:]}")
            for proc in procs:
                proc.send_signal(signal.SIGINT)
            for proc in procs:
                try:
                    proc.wait(20)
                except subprocess.TimeoutExpired:
                    proc.kill()


if __name__ == "__main__":
    asyncio.run(main())
