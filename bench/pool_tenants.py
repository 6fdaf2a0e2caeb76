"""One request-pool connection serving many tenants: its server process's memory, and what a tenant it has not
served before costs it.

    python bench/pool_tenants.py [--tenants 200] [--warm 20]

Makes ``--tenants`` tenants (each a site, two young adults, one with a full record, and a prison practitioner),
then drives the service in-process with a request pool of one connection, so that one PostgreSQL process serves
every request: for each tenant in turn, its practitioner reads the full record (`YoungAdultRecord`) and updates an
action (`SetPlanActionStatus`). Prints that process's memory as the tenants it has served grow — what its memory
contexts hold (pg_backend_memory_contexts) and its private memory (``Private_Dirty`` of /proc/<pid>/smaps_rollup,
which also counts pages of shared buffers no other process has mapped) — its largest contexts at the end, and the
server CPU of a record read that is the first for its tenant on the connection (cold: the tenant's relations, plans
and functions are not in the process's caches yet) beside the next ``--warm`` reads of the same record (the
reference, measured in the same run). PostgreSQL must run on this machine (the embedded one, or DATABASE_URL's on
localhost). See deploy/SCALE-OUT.md, "What runs out first".
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import time
import uuid
from pathlib import Path
from typing import Any

import asyncpg
import orjson
import psutil

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.caseload import RECORD, UPDATE_ACTION, fill_record, seed
from bench.harness import bench_database
from service.api.relay import to_global_id
from service.app.asgi import create_app
from service.app.auth import DevIssuer
from service.kernel.database import Database
from service.kernel.principal import Role, Service
from service.platform.grants import grant
from tenants.provisioning import NewTenant, create_tenant
from tenants.runner import migrate

REPORT_AT = (1, 10, 25, 50, 100, 200, 400, 600, 800, 1000)


def private_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
        if line.startswith("Private_Dirty:"):
            return int(line.split()[1]) / 1024
    raise SystemExit("no Private_Dirty in smaps_rollup: PostgreSQL must run on this machine")


def server_cpu(pid: int) -> float:
    times = psutil.Process(pid).cpu_times()
    return times.user + times.system


async def post(app: Any, body: bytes, headers: list[tuple[bytes, bytes]]) -> Any:
    """One POST /graphql through the ASGI app, in-process; the answer, checked for errors."""
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": body, "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    await app({"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "POST",
               "scheme": "http", "path": "/graphql", "raw_path": b"/graphql", "query_string": b"",
               "root_path": "", "headers": headers, "client": ("127.0.0.1", 1), "server": ("127.0.0.1", 80),
               "state": {}}, receive, send)
    answer = orjson.loads(b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body"))
    assert "errors" not in answer, answer["errors"]
    return answer["data"]


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tenants", type=int, default=200)
    parser.add_argument("--warm", type=int, default=20)
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
                headers = [(b"authorization", f"Bearer {issuer.issue(f'pom-{slug}', slug)}".encode()),
                           (b"content-type", b"application/json")]
                record = orjson.dumps({"query": RECORD, "variables": {
                    "id": to_global_id("YoungAdult", uuid.UUID(young_adult))}})
                before = server_cpu(pid)
                await post(app, record, headers)
                first = server_cpu(pid)
                for _ in range(args.warm):
                    await post(app, record, headers)
                cold.append(first - before)
                warm.append((server_cpu(pid) - first) / args.warm)
                update = orjson.dumps({"query": UPDATE_ACTION, "variables": {"input": {
                    "id": to_global_id("PlanAction", uuid.UUID(action)), "version": 1, "status": "IN_PROGRESS"}}})
                assert not (await post(app, update, headers))["setPlanActionStatus"]["errors"]
                async with pool.acquire() as conn:
                    assert await conn.fetchval("SELECT pg_backend_pid()") == pid, "the connection was replaced"
                    if served in REPORT_AT or served == len(tenants):
                        held = await conn.fetchval("SELECT sum(total_bytes) FROM pg_backend_memory_contexts")
                        print(f"{served:>15} {held / 2**20:>13.1f} {private_mib(pid):>12.1f}", flush=True)
                    if served == len(tenants):
                        contexts = await conn.fetch(
                            "SELECT name, count(*) AS n, sum(total_bytes) AS bytes FROM pg_backend_memory_contexts "
                            "GROUP BY name ORDER BY bytes DESC LIMIT 8")
        print("the process's largest memory contexts at the end:")
        for row in contexts:
            print(f"  {row['name']:<24} {row['n']:>6} {row['bytes'] / 2**20:8.1f} MiB")
        # The clock ticks of /proc are 10 ms: each tenant's one cold read is rounded, their mean is not.
        print(f"server CPU of a record read, first for its tenant on the connection (cold): mean "
              f"{1000 * statistics.fmean(cold[1:]):.1f} ms; the next {args.warm} (warm, the reference): mean "
              f"{1000 * statistics.fmean(warm[1:]):.2f} ms; cold / warm = "
              f"{statistics.fmean(cold[1:]) / statistics.fmean(warm[1:]):.1f}x")


if __name__ == "__main__":
    asyncio.run(main())
