"""Onboard N tenants, migrate them all, and print what it costs, beside a reference measured in the same run.

    DATABASE_URL=postgresql://postgres@127.0.0.1:5432/postgres python bench/onboard.py --tenants 500 --jobs 4

Works in a database of its own (created and dropped; --keep keeps it) with a role prefix of its own. Prints:

* onboarding (tenant from a rule template, two sites, an administrator, activation — the platform's own
  onboarding function) per tenant: mean, median, 95th percentile, slowest; and the total;
* a migration of every tenant by the runner (`always-hope migrate`), using a benchmark-only revision that adds a
  column and an index to one table, per tenant and in total;
* the catalog: pg_class rows and pg_database_size before and after; the roles in the cluster at the start and
  the end (roles are cluster-wide: another database's tenants are in the shared catalogs both sides write);
* the reference: the same tables created N times in bare schemas (CREATE TABLE … LIKE … INCLUDING ALL: no roles,
  no grants, no alembic), its time and its catalog growth, and our mean over the reference's;
* the CPU each side cost per tenant, on the server (the bench database's backends, from /proc when the server runs
  on this machine; a backend the pool closes during a block is read as it closes) and in this process: on a
  loaded machine wall-clock times mostly measure the wait for a core, and these say whose work it is.

The two are measured in alternating blocks of --block tenants (ours, then as many bare schemas), so that both see
the same load on a shared machine and the same catalog size; pg_class rows and pg_database_size are read at every
block's edges, so each side's catalog growth is its own.
"""

from __future__ import annotations

import argparse
import asyncio
import secrets
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import asyncpg
from sqlalchemy import event, make_url
from sqlalchemy.ext.asyncio import AsyncEngine

from service.kernel.database import Database
from service.kernel.settings import Settings
from service.platform.onboarding import Onboarding, onboard
from service.tenant_admin.service import SiteSpec
from tenants import migrations, runner
from tenants.runner import migrate

BENCH_REVISION = '''"""Benchmark-only revision: a column and an index on one table."""
from alembic import op

revision = "t9900"
down_revision = "{head}"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("ALTER TABLE site ADD COLUMN bench_note text")
    op.execute("CREATE INDEX site_bench_note ON site (bench_note)")


def downgrade() -> None:
    op.execute("DROP INDEX site_bench_note")
    op.execute("ALTER TABLE site DROP COLUMN bench_note")
'''


def summary(label: str, seconds: list[float], total: float) -> None:
    ordered = sorted(seconds)
    p95 = ordered[max(0, int(len(ordered) * 0.95) - 1)]
    mean = statistics.mean(seconds)
    print(f"{label}: {len(seconds)} tenants in {total:.1f} s — per tenant mean {mean * 1000:.0f} ms, "
          f"median {statistics.median(seconds) * 1000:.0f} ms, p95 {p95 * 1000:.0f} ms, "
          f"slowest {ordered[-1] * 1000:.0f} ms")


async def catalog(conn: asyncpg.Connection) -> tuple[int, int]:
    classes = await conn.fetchval("SELECT count(*) FROM pg_class")
    size = await conn.fetchval("SELECT pg_database_size(current_database())")
    return int(classes), int(size)


def show_catalog(label: str, before: tuple[int, int], after: tuple[int, int], n: int) -> None:
    classes, size = after[0] - before[0], after[1] - before[1]
    print(f"{label}: +{classes} pg_class rows ({classes / n:.0f} per tenant), "
          f"+{size / 2**20:.1f} MiB ({size / n / 2**10:.0f} KiB per tenant); now {after[0]} rows, "
          f"{after[1] / 2**20:.1f} MiB")


def _backend_cpu(pid: int) -> float | None:
    """CPU seconds this backend has run so far (Linux /proc: the server on this machine), or None."""
    try:
        return int(Path(f"/proc/{pid}/schedstat").read_text().split()[0]) / 1e9
    except (OSError, ValueError, IndexError):
        return None


class ServerCpu:
    """CPU seconds the benchmark database's backends have run so far, those since closed included: provisioning
    closes its connection every so many creations (tenants.provisioning.CREATIONS_PER_CONNECTION), and a backend
    gone from /proc would take its CPU with it. Each backend's latest figure is kept; the onboarding engine's
    connections are read once more as the pool closes them (``watch``)."""

    def __init__(self) -> None:
        self.seen: dict[int, float] = {}
        self.blind = False  # /proc could not say (the server is not on this machine)

    def read(self, pid: int) -> None:
        cpu = _backend_cpu(pid)
        if cpu is None:
            self.blind = True
        else:
            self.seen[pid] = cpu

    def watch(self, engine: AsyncEngine) -> None:
        def closing(dbapi_connection: Any, *_: Any) -> None:
            self.read(dbapi_connection.driver_connection.get_server_pid())

        for name in ("invalidate", "close", "close_detached"):
            event.listen(engine.sync_engine.pool, name, closing)

    async def total(self, conn: asyncpg.Connection) -> float | None:
        for r in await conn.fetch("SELECT pid FROM pg_stat_activity WHERE datname = current_database()"):
            self.read(r["pid"])
        return None if self.blind else sum(self.seen.values())


def spent(total: dict[str, float | None], side: str, before: tuple[float | None, float],
          after: tuple[float | None, float]) -> None:
    """Add one block's CPU (server, this process) to ``side``'s totals; a server figure missing once stays None."""
    server, so_far = (after[0] - before[0]) if after[0] is not None and before[0] is not None else None, \
        total[side + " server"]
    total[side + " server"] = None if server is None or so_far is None else so_far + server
    total[side + " client"] = (total[side + " client"] or 0.0) + after[1] - before[1]


async def reference_tables(conn: asyncpg.Connection, template_schema: str) -> list[str]:
    return [r["relname"] for r in await conn.fetch(
        "SELECT c.relname FROM pg_class c JOIN pg_namespace s ON s.oid = c.relnamespace "
        "WHERE s.nspname = $1 AND c.relkind = 'r' AND c.relname <> 'alembic_version' ORDER BY c.relname",
        template_schema)]


async def reference(conn: asyncpg.Connection, template_schema: str, tables: list[str], numbers: range) -> list[float]:
    """The same tables in bare schemas: what the catalog costs without roles, grants and alembic."""
    seconds = []
    for i in numbers:
        t0 = time.perf_counter()
        async with conn.transaction():
            await conn.execute(f"CREATE SCHEMA ref_{i}")
            for table in tables:
                await conn.execute(f'CREATE TABLE ref_{i}."{table}" (LIKE "{template_schema}"."{table}" INCLUDING ALL)')
        seconds.append(time.perf_counter() - t0)
    return seconds


def grown(total: list[int], before: tuple[int, int], after: tuple[int, int]) -> None:
    total[0] += after[0] - before[0]
    total[1] += after[1] - before[1]


async def main(n: int, jobs: int, keep: bool, server_url: str, block: int) -> None:
    run = secrets.token_hex(3)
    name = f"always_hope_bench_{run}"
    plain = make_url(server_url).set(drivername="postgresql")
    admin = await asyncpg.connect(plain.render_as_string(hide_password=False))
    await admin.execute(f'CREATE DATABASE "{name}"')
    url = make_url(server_url).set(database=name).render_as_string(hide_password=False)
    db = Database.connect(Settings(database_url=url, role_prefix=f"ahb{run}",
                                   data_dir=Path(tempfile.mkdtemp(prefix="always-hope-bench-"))))
    conn = await asyncpg.connect(plain.set(database=name).render_as_string(hide_password=False))
    server_cpu = ServerCpu()
    server_cpu.watch(db.engine)
    try:
        await migrate(db)
        start = await catalog(conn)
        print(f"empty platform: {start[0]} pg_class rows, {start[1] / 2**20:.1f} MiB; "
              f"{await conn.fetchval('SELECT count(*) FROM pg_roles')} roles in the cluster (roles are shared by "
              "every database on the server, other runs' included)")

        seconds: list[float] = []
        ref_seconds: list[float] = []
        ours_growth, ref_growth = [0, 0], [0, 0]
        cpu: dict[str, float | None] = dict.fromkeys(("ours server", "ours client", "ref server", "ref client"), 0.0)
        tables: list[str] = []
        for first in range(0, n, block):
            numbers = range(first, min(n, first + block))
            before = await catalog(conn)
            cpu_before = (await server_cpu.total(conn), time.process_time())
            for i in numbers:
                t0 = time.perf_counter()
                result = await onboard(db, Onboarding(
                    f"bench-{i:05d}", f"Bench region {i}", "REGION", "defaults",
                    (SiteSpec("PRISON1", "A prison", "PRISON"),
                     SiteSpec("LC1", "A leaving-care service", "LEAVING_CARE")),
                    (("bench-admin", "Bench admin"),)), actor="bench")
                assert result.error is None, result.error
                seconds.append(time.perf_counter() - t0)
            cpu_between = (await server_cpu.total(conn), time.process_time())
            spent(cpu, "ours", cpu_before, cpu_between)
            between = await catalog(conn)
            grown(ours_growth, before, between)
            tables = tables or await reference_tables(conn, "t_bench_00000")
            cpu_between = (await server_cpu.total(conn), time.process_time())
            ref_seconds += await reference(conn, "t_bench_00000", tables, numbers)
            spent(cpu, "ref", cpu_between, (await server_cpu.total(conn), time.process_time()))
            grown(ref_growth, between, await catalog(conn))
        summary("onboarding", seconds, sum(seconds))
        onboarded = await catalog(conn)
        classes, size = ours_growth
        print(f"catalog after onboarding: +{classes} pg_class rows ({classes / n:.0f} per tenant), "
              f"+{size / 2**20:.1f} MiB ({size / n / 2**10:.0f} KiB per tenant); now {onboarded[0]} rows, "
              f"{onboarded[1] / 2**20:.1f} MiB with the reference's schemas")

        with tempfile.TemporaryDirectory() as extra:
            (Path(extra) / "t9900_bench.py").write_text(BENCH_REVISION.format(head=migrations.head("tenant")))
            started = time.perf_counter()
            result = await runner.run(db.engine, db.admin_url, db.settings.app_role, jobs=jobs,
                                      extra_locations=[Path(extra)])
            total = time.perf_counter() - started
        assert not result.failed, result.failed
        summary(f"migration to {result.target} with {jobs} worker processes",
                [r.seconds for r in result.tenants], total)
        migrated = await catalog(conn)
        show_catalog("catalog after migration", onboarded, migrated, n)

        elapsed, (classes, size) = sum(ref_seconds), ref_growth
        print(f"reference (same tables in {n} bare schemas, no roles/grants/alembic): {elapsed:.1f} s "
              f"({elapsed / n * 1000:.0f} ms per schema), +{classes} pg_class rows ({classes / n:.0f} per schema), "
              f"+{size / 2**20:.1f} MiB ({size / n / 2**10:.0f} KiB per schema)")
        summary("reference", ref_seconds, elapsed)
        print(f"onboarding / reference (means, alternating blocks of {block}): "
              f"{statistics.mean(seconds) / statistics.mean(ref_seconds):.2f}x")
        shown = {k: "n/a" if v is None else f"{v / n * 1000:.1f} ms" for k, v in cpu.items()}
        ratio = "n/a" if cpu["ours server"] is None or not cpu["ref server"] \
            else f"{cpu['ours server'] / cpu['ref server']:.2f}x"
        print(f"CPU per tenant: ours {shown['ours server']} on the server + {shown['ours client']} here; reference "
              f"{shown['ref server']} + {shown['ref client']}; server CPU, ours / reference: {ratio}")
        roles = await conn.fetchval("SELECT count(*) FROM pg_roles WHERE rolname LIKE $1", f"ahb{run}\\_%")
        print(f"roles created: {roles} (two per tenant, plus the application role); "
              f"{await conn.fetchval('SELECT count(*) FROM pg_roles')} roles in the cluster")
    finally:
        await conn.close()
        await db.close()
        if not keep:
            await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            for (role,) in await admin.fetch("SELECT rolname FROM pg_roles WHERE rolname LIKE $1", f"ahb{run}\\_%"):
                await admin.execute(f'DROP ROLE IF EXISTS "{role}"')
        await admin.close()


if __name__ == "__main__":
    import os

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tenants", type=int, default=500)
    parser.add_argument("--jobs", type=int, default=4, help="migration worker processes")
    parser.add_argument("--keep", action="store_true", help="keep the benchmark database and roles")
    parser.add_argument("--block", type=int, default=25, help="tenants per block (ours, then the reference's)")
    args = parser.parse_args()
    server = os.environ.get("DATABASE_URL")
    if not server:
        raise SystemExit("Set DATABASE_URL to a superuser URL on the server to measure.")
    asyncio.run(main(args.tenants, args.jobs, args.keep, server, args.block))
