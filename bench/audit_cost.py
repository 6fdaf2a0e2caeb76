"""Issue 13: what auditing costs a compiled caseload page, measured in PostgreSQL, beside the same statement without
its audit INSERT (the reference, same run, same data).

    python bench/audit_cost.py [--young-adults 100] [--sizes 10,50,100] [--repeat 30]

Seeds the tenant bench/caseload.py seeds (each young adult with a plan of 5 goals x 3 actions and 8 network
members), compiles graphql/operations/CaseloadPage.graphql with the service's compiler, and runs its statement for
a tenant administrator's page inside a tenant transaction that is rolled back each time, alternating with and
without the audit INSERT. Prints the median server-side time of each (clock_timestamp around the statement, so
no network or Python in it), the difference, the events and subjects one page writes, and the same for the rows
the old one-row-per-subject trail would have written.

Uses DATABASE_URL when set (a superuser URL), else an embedded PostgreSQL in a temporary directory.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import statistics
import sys
import uuid
from pathlib import Path

import asyncpg

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.caseload import CASELOAD, seeded_tenant
from bench.harness import bench_database
from service.app.compiled.compiler import Page, compile_document
from service.app.compiled.roots import ROOTS
from service.app.schema import MODELS, schema
from service.kernel import clock
from service.kernel.visibility import Scope
from service.records import repository as records


async def timed(conn: asyncpg.Connection, schema_name: str, runtime_role: str, sql: str, args: list[object],
                ) -> float:
    """Milliseconds the statement took on the server, in a transaction rolled back afterwards."""
    tx = conn.transaction()
    await tx.start()
    try:
        await conn.execute(f'SET LOCAL ROLE "{runtime_role}"')
        await conn.execute(f'SET LOCAL search_path = "{schema_name}"')
        start = await conn.fetchval("SELECT clock_timestamp()")
        await conn.fetchval(sql, *args)
        end = await conn.fetchval("SELECT clock_timestamp()")
    finally:
        await tx.rollback()
    return float((end - start).total_seconds() * 1000)


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--young-adults", type=int, default=100)
    parser.add_argument("--sizes", default="10,50,100")
    parser.add_argument("--repeat", type=int, default=30)
    parser.add_argument("--explain", type=int, default=0, help="print EXPLAIN ANALYZE of this page size's statement")
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]

    async with bench_database("a") as bench:
        tenant, site = await seeded_tenant(bench, "bench-audit", max([*sizes, args.young_adults]))
        audited = compile_document(CASELOAD, schema._schema, ROOTS, MODELS)
        unaudited = dataclasses.replace(audited, consults=())
        conn = await asyncpg.connect(bench.url)
        try:
            print(f"\naudit cost of a compiled caseload page (PostgreSQL time, median of {args.repeat}, "
                  "rolled back)")
            for size in sizes:
                sql, params = records.caseload_query(Scope(None), records.CaseloadFilter(site_id=uuid.UUID(site)),
                                                     records.CaseloadOrder.NAME, None, size + 1)
                page = Page(sql, params, size, Scope(None))
                extra = ["bench-admin", "TENANT_ADMIN", f"req-{size}", "CaseloadPage", "{}", clock.today(),
                         *Scope(None).args]
                with_audit, without = [], []
                bare = unaudited.statement(page)  # its scope CTE types the audit's parameters, unused without it
                for _ in range(args.repeat):
                    with_audit.append(await timed(conn, tenant.schema, tenant.runtime_role,
                                                  audited.statement(page), [*params, *extra]))
                    without.append(await timed(conn, tenant.schema, tenant.runtime_role, bare, [*params, *extra]))
                a, b = statistics.median(with_audit), statistics.median(without)
                # What one page writes now, and what the one-row-per-subject trail wrote for the same subjects.
                tx = conn.transaction()
                await tx.start()
                try:
                    await conn.execute(f'SET LOCAL ROLE "{tenant.runtime_role}"')
                    await conn.execute(f'SET LOCAL search_path = "{tenant.schema}"')
                    await conn.fetchval(audited.statement(page), *params, *extra)
                    events, subjects = await conn.fetchrow(
                        "SELECT count(*), coalesce(sum(cardinality(subject_ids)), 0) FROM audit_event")
                finally:
                    await tx.rollback()
                if size == args.explain:
                    tx = conn.transaction()
                    await tx.start()
                    try:
                        await conn.execute(f'SET LOCAL ROLE "{tenant.runtime_role}"')
                        await conn.execute(f'SET LOCAL search_path = "{tenant.schema}"')
                        plan = await conn.fetch("EXPLAIN (ANALYZE, COSTS OFF) " + audited.statement(page),
                                                *params, *extra)
                        print("\n".join(r[0] for r in plan))
                    finally:
                        await tx.rollback()
                print(f"page of {size:3d}: with audit {a:6.2f} ms, without {b:6.2f} ms, audit {a - b:5.2f} ms "
                      f"({(a - b) / a * 100:4.1f} %); writes {events} events listing {subjects} subjects "
                      f"(the old trail: {subjects} rows)")
        finally:
            await conn.close()

if __name__ == "__main__":
    asyncio.run(main())
