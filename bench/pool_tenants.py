"""What many tenants cost the request pool's PostgreSQL processes: their memory, a tenant's first read on a
connection, and a read of another tenant than the connection's last.

    python bench/pool_tenants.py [--tenants 200] [--warm 20] [--requests 3000] [--clients 8]

Makes ``--tenants`` tenants (each a site, two young adults, one with a full record, and a prison practitioner).
Then, through the service in-process with a request pool of one connection, so that one PostgreSQL process serves
every request: for each tenant in turn, its practitioner reads the full record (`YoungAdultRecord`) ``1 + --warm``
times and updates an action (`SetPlanActionStatus`). Prints that process's memory as the tenants it has served
grow — what its memory contexts hold (pg_backend_memory_contexts) and its private memory (``Private_Dirty`` of
/proc/<pid>/smaps_rollup, which also counts pages of shared buffers no other process has mapped) — and its largest
contexts; the server CPU of a tenant's first read on the connection (cold: the tenant's relations, plans and
functions not yet in the process's caches) and of reads alternating between two tenants already warm, each beside
the warm reads of one tenant (the reference, measured in the same run). Last, ``--requests`` reads by tenants drawn
at random from ``--clients`` concurrent clients through a pool of 10 connections: server CPU per read and the
processes' memory. PostgreSQL must run on this machine (the embedded one, or DATABASE_URL's on localhost). See
deploy/SCALE-OUT.md, "What runs out first".
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import random
import statistics
import sys
import time
import uuid
from pathlib import Path
from typing import Any

import asyncpg
import orjson

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.caseload import RECORD, UPDATE_ACTION, fill_record, seed
from bench.harness import BenchDatabase, asgi_post, bench_database, cpu_seconds
from service.api.relay import to_global_id
from service.app.asgi import create_app
from service.app.auth import DevIssuer
from service.kernel.database import Database
from service.kernel.principal import Role, Service
from service.platform.grants import grant
from tenants.provisioning import NewTenant, create_tenant
from tenants.runner import migrate

REPORT_AT = (1, 10, 25, 50, 100, 200, 400, 600, 800, 1000)


def smaps_mib(pid: int, field: str) -> float:
    """One total of the process's /proc/<pid>/smaps_rollup, in MiB: ``Private_Dirty`` (which also counts pages of
    shared buffers no other process has mapped) or ``Anonymous`` (its heap alone: caches, plans)."""
    for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1]) / 1024
    raise SystemExit(f"no {field} in smaps_rollup: PostgreSQL must run on this machine")


async def post(app: Any, body: bytes, headers: list[tuple[bytes, bytes]]) -> Any:
    """One POST /graphql through the ASGI app, in-process; the answer, checked for errors."""
    _, sent = await asgi_post(app, "/graphql", body, headers)
    answer = orjson.loads(sent)
    assert "errors" not in answer, answer["errors"]
    return answer["data"]


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tenants", type=int, default=200)
    parser.add_argument("--warm", type=int, default=20)
    parser.add_argument("--requests", type=int, default=3000, help="record reads in the mixed phase (0: none)")
    parser.add_argument("--clients", type=int, default=8)
    args = parser.parse_args()
    async with bench_database("pooltenants", rate_limit_principal=0, rate_limit_tenant=0, pool_min_size=1,
                              pool_max_size=1) as bench:
        db = Database.connect(bench.settings)
        started = time.perf_counter()
        try:
            await migrate(db)
            tenants = []
            for i in range(args.tenants):
                slug = f"pool-{i:04d}"
                tenant = await create_tenant(db.engine, NewTenant(slug, f"Pool {i}", "REGION"),
                                             role_prefix=bench.run, app_role=bench.settings.app_role)
                site, young_adults, actions = await seed(bench.url, tenant.schema, 2)
                await fill_record(bench.url, tenant.schema, site, young_adults[0])
                await grant(db.engine, subject=f"pom-{slug}", role=Role.PRACTITIONER, tenant_slug=slug,
                            service=Service.PRISON, site_codes=["BSI"])
                tenants.append((slug, young_adults[0], actions[0]))
        finally:
            await db.close()
        print(f"{args.tenants} tenants made in {time.perf_counter() - started:.0f} s")
        admin = await asyncpg.connect(bench.url)
        try:  # this database's own grant, gone with it: the login role may read its own process's memory contexts
            await admin.execute(f'GRANT SELECT ON pg_backend_memory_contexts TO "{bench.settings.app_role}"; '
                                "GRANT EXECUTE ON FUNCTION pg_get_backend_memory_contexts() "
                                f'TO "{bench.settings.app_role}"')
        finally:
            await admin.close()

        issuer = DevIssuer(bench.settings)
        service_db = Database.connect(bench.settings)
        app = create_app(service_db)
        async with app.router.lifespan_context(app):
            pool = await service_db.open_pool()
            async with pool.acquire() as conn:
                pid = await conn.fetchval("SELECT pg_backend_pid()")
            cold, warm = [], []
            print(f"{'tenants served':>15} {'contexts MiB':>13} {'private MiB':>12}")
            for served, (slug, young_adult, action) in enumerate(tenants, 1):
                headers, record = record_request(issuer, (slug, young_adult, action))
                before = cpu_seconds([pid])
                await post(app, record, headers)
                first = cpu_seconds([pid])
                for _ in range(args.warm):
                    await post(app, record, headers)
                cold.append(first - before)
                warm.append((cpu_seconds([pid]) - first) / args.warm)
                update = orjson.dumps({"query": UPDATE_ACTION, "variables": {"input": {
                    "id": to_global_id("PlanAction", uuid.UUID(action)), "version": 1, "status": "IN_PROGRESS"}}})
                assert not (await post(app, update, headers))["setPlanActionStatus"]["errors"]
                async with pool.acquire() as conn:
                    assert await conn.fetchval("SELECT pg_backend_pid()") == pid, "the connection was replaced"
                    if served in REPORT_AT or served == len(tenants):
                        held = await conn.fetchval("SELECT sum(total_bytes) FROM pg_backend_memory_contexts")
                        private = smaps_mib(pid, "Private_Dirty")
                        print(f"{served:>15} {held / 2**20:>13.1f} {private:>12.1f}", flush=True)
                    if served == len(tenants):
                        contexts = await conn.fetch(
                            "SELECT name, count(*) AS n, sum(total_bytes) AS bytes FROM pg_backend_memory_contexts "
                            "GROUP BY name ORDER BY bytes DESC LIMIT 8")
            # Every tenant is warm on the connection now: reads that alternate between two of them, beside reads of
            # one (the warm figure above). A prepared statement's plan is made for one search path, so a tenant
            # other than the last one on the connection has it planned again.
            pair = [record_request(issuer, tenants[i]) for i in range(min(2, len(tenants)))]
            before = cpu_seconds([pid])
            for i in range(2 * args.warm):
                await post(app, pair[i % len(pair)][1], pair[i % len(pair)][0])
            alternating = (cpu_seconds([pid]) - before) / (2 * args.warm)
        print("the process's largest memory contexts at the end:")
        for row in contexts:
            print(f"  {row['name']:<24} {row['n']:>6} {row['bytes'] / 2**20:8.1f} MiB")
        # The clock ticks of /proc are 10 ms: each tenant's one cold read is rounded, their mean is not. The first
        # tenant's first read also warms what every tenant shares (the control plane): left out when there are others.
        rest = slice(1 if len(cold) > 1 else 0, None)
        print(f"server CPU of a record read, first for its tenant on the connection (cold): mean "
              f"{1000 * statistics.fmean(cold[rest]):.1f} ms; the next {args.warm} (warm, the reference): mean "
              f"{1000 * statistics.fmean(warm[rest]):.2f} ms; cold / warm = "
              f"{statistics.fmean(cold[rest]) / statistics.fmean(warm[rest]):.1f}x; reads alternating between two "
              f"warm tenants: {1000 * alternating:.2f} ms, {alternating / statistics.fmean(warm[rest]):.1f}x")
        if args.requests:
            await mixed(bench, tenants, issuer, args.requests, args.clients)


def record_request(issuer: DevIssuer, tenant: tuple[str, str, str]) -> tuple[list[tuple[bytes, bytes]], bytes]:
    """The headers (the tenant's practitioner's token) and body of a read of the tenant's full record."""
    slug, young_adult, _ = tenant
    return ([(b"authorization", f"Bearer {issuer.issue(f'pom-{slug}', slug)}".encode()),
             (b"content-type", b"application/json")],
            orjson.dumps({"query": RECORD, "variables": {"id": to_global_id("YoungAdult", uuid.UUID(young_adult))}}))


async def mixed(bench: BenchDatabase, tenants: list[tuple[str, str, str]], issuer: DevIssuer, requests: int,
                clients: int) -> None:
    """The mixed phase: ``requests`` record reads, each by a tenant drawn at random, from ``clients`` concurrent
    clients, through a fresh app whose request pool is 10 connections (the default); prints the server CPU of its
    connections per request, requests/s, and the private memory of its server processes."""
    settings = dataclasses.replace(bench.settings, pool_max_size=10, pool_min_size=1, reporting_refresh_seconds=0,
                                   transfer_handoff_seconds=0)
    rng = random.Random(7)  # the same draw for every run
    draw = [rng.randrange(len(tenants)) for _ in range(requests)]
    bodies = [record_request(issuer, tenant) for tenant in tenants]
    service_db = Database.connect(settings)
    app = create_app(service_db)
    admin = await asyncpg.connect(bench.url)

    async def backends() -> list[int]:
        return [r["pid"] for r in await admin.fetch(
            "SELECT pid FROM pg_stat_activity WHERE usename = $1 AND datname = current_database()",
            settings.app_role)]

    try:
        async with app.router.lifespan_context(app):
            await service_db.open_pool()
            before = {pid: cpu_seconds([pid]) for pid in await backends()}
            queue = iter(draw)

            async def client() -> None:
                for i in queue:
                    await post(app, bodies[i][1], bodies[i][0])

            started = time.perf_counter()
            await asyncio.gather(*(client() for _ in range(clients)))
            seconds = time.perf_counter() - started
            pids = await backends()
            cpu = sum(cpu_seconds([pid]) - before.get(pid, 0.0) for pid in pids)
            memory = sorted((smaps_mib(pid, "Anonymous") for pid in pids), reverse=True)
        print(f"mixed: {requests} record reads, each by one of the {len(tenants)} tenants drawn at random, {clients} "
              f"clients, a request pool of 10: server CPU {1000 * cpu / requests:.2f} ms a read, "
              f"{requests / seconds:.0f} reads/s; {len(pids)} server processes, private memory largest "
              f"{memory[0]:.1f} MiB, all {sum(memory):.1f} MiB")
    finally:
        await admin.close()
        await service_db.close()


if __name__ == "__main__":
    asyncio.run(main())
