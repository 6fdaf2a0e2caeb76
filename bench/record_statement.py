"""Issue 13: the compiled `YoungAdultRecord` statement's PostgreSQL cost per execution, with and without its audit,
beside the hand-written reference's (bench/record_reference.py), on one connection.

    python bench/record_statement.py [--executions 2000] [--rounds 2] [--explain]

Seeds the tenant bench/caseload.py seeds and gives its first young adult the full record (caseload.fill_record),
ANALYZEs it, builds the statement the service runs for a prison practitioner's request (the compiled root itself,
with the generic plan the service forces), then on one connection runs each statement `--executions` times, as the
tenant's role, each in its own transaction rolled back, and prints the backend's CPU per execution (from /proc, so
the machine's other work is not counted), with the number of nodes in each statement's plan. Rounds alternate the
three so drift hits each. `--explain` prints each one's EXPLAIN (ANALYZE, VERBOSE, BUFFERS) first.

Uses DATABASE_URL when set (a superuser URL), else an embedded PostgreSQL in a temporary directory.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import json
import sys
import uuid
from pathlib import Path
from typing import Any, cast

import asyncpg

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.caseload import RECORD, fill_record, seeded_tenant
from bench.caseload_plans import per_execution
from bench.harness import bench_database
from bench.record_reference import SQL as REFERENCE
from service.api.relay import to_global_id
from service.app.compiled.compiler import compile_document
from service.app.compiled.roots import ROOTS, young_adult
from service.app.schema import MODELS, build_schema
from service.kernel import clock
from service.kernel.principal import Principal, Role, Service
from service.kernel.session import TenantSession


def nodes(plan: Any) -> int:
    """The nodes of an EXPLAIN (FORMAT JSON) plan, subplans and InitPlans included."""
    return 1 + sum(nodes(child) for child in plan.get("Plans", ()))


async def explained(conn: asyncpg.Connection, sql: str, args: list[Any], role: str, schema: str, generic: bool,
                    options: str) -> list[str]:
    """EXPLAIN ``options`` of the statement as the tenant's role, in a transaction rolled back (ANALYZE writes)."""
    transaction = conn.transaction()
    await transaction.start()
    try:
        await conn.execute(f'SET LOCAL ROLE "{role}"; SET LOCAL search_path = "{schema}"; SET LOCAL '
                           f"plan_cache_mode = {'force_generic_plan' if generic else 'auto'}")
        return [r[0] for r in await conn.fetch(f"EXPLAIN ({options}) {sql}", *args)]
    finally:
        await transaction.rollback()


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--executions", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--explain", action="store_true")
    args = parser.parse_args()

    async with bench_database("r") as bench:
        tenant, site = await seeded_tenant(bench, "bench-record", 100)
        admin = await asyncpg.connect(bench.url)
        try:
            first = await admin.fetchval(f'SELECT id FROM "{tenant.schema}".young_adult '
                                         "ORDER BY family_name, given_name, id LIMIT 1")
        finally:
            await admin.close()
        await fill_record(bench.url, tenant.schema, site, str(first))

        audited = compile_document(RECORD, build_schema()._schema, ROOTS, MODELS)
        bare = dataclasses.replace(audited, consults=(), disclosures=())
        principal = Principal(subject="bench-pom", role=Role.PRACTITIONER, tenant=tenant, service=Service.PRISON,
                              site_codes=frozenset({"BSI"}))
        # The record's root reads nothing before the statement (the statement works the caller's scope out).
        page = await young_adult(cast(TenantSession, None), principal,
                                 audited.argument_values({"id": to_global_id("YoungAdult", first)}))
        assert page is not None
        ours = [*page.params, principal.subject, principal.role.value, "bench", "YoungAdultRecord", "{}",
                clock.today(), *page.scope_params]
        cases: dict[str, tuple[str, list[Any], bool]] = {
            "ours": (audited.statement(page), ours, True),
            "ours without audit": (bare.statement(page), ours, True),
            "reference": (REFERENCE, [uuid.UUID(str(first))], False)}

        conn = await asyncpg.connect(bench.url, server_settings={"TimeZone": "UTC"})
        try:
            await conn.execute(f'ANALYZE; SET search_path = "{tenant.schema}"')
            counts = {}
            for name, (sql, values, generic) in cases.items():
                plan = json.loads((await explained(conn, sql, values, tenant.runtime_role, tenant.schema, generic,
                                                   "FORMAT JSON, COSTS OFF"))[0])
                counts[name] = nodes(plan[0]["Plan"])
                if args.explain:
                    print(f"\n--- {name} ---")
                    print("\n".join(await explained(conn, sql, values, tenant.runtime_role, tenant.schema, generic,
                                                    "ANALYZE, VERBOSE, BUFFERS")))
            prepared = {name: (await conn.prepare(sql), values, generic)
                        for name, (sql, values, generic) in cases.items()}
            figures: dict[str, list[float]] = {}
            for _ in range(args.rounds):
                for name, (statement, values, generic) in prepared.items():
                    figures.setdefault(name, []).append(await per_execution(
                        conn, statement, values, tenant.runtime_role, f'"{tenant.schema}"', args.executions,
                        generic))
        finally:
            await conn.close()
        print(f"\nrecord statement: a prison practitioner's YoungAdultRecord, {args.rounds} x {args.executions} "
              "executions each, PostgreSQL CPU per execution (rolled back)")
        for name, runs in figures.items():
            print(f"{name:<20} {' '.join(f'{ms:6.3f}' for ms in runs)} ms   plan nodes {counts[name]}")


if __name__ == "__main__":
    asyncio.run(main())
