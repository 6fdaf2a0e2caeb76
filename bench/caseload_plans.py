"""Issue 13: the compiled caseload statement's PostgreSQL cost per execution with the plan PostgreSQL chooses and
with a generic plan forced, beside the reference's statement, for a large caseload at one site.

    python bench/caseload_plans.py [--young-adults 3000] [--first 10] [--executions 200] [--rounds 2]

A generic plan once made a practitioner's page among 3,000 young adults about ten times slower than a custom one;
this keeps that case measured. Seeds one tenant (bench/caseload.py's seed: every young adult at one site), ANALYZEs
it, builds the statement the service would run for a prison practitioner's page (the compiled root itself), then on
one connection runs each statement `--executions` times, as the tenant's role, each in its own transaction rolled
back, and prints the backend's CPU per execution (from /proc, so the machine's other work is not counted) and the
prepared statement's generic and custom plan counts. Rounds alternate the three so drift hits each.

Uses DATABASE_URL when set (a superuser URL), else an embedded PostgreSQL in a temporary directory.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import uuid
from pathlib import Path
from typing import Any, cast

import asyncpg

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.caseload import CASELOAD, seeded_tenant
from bench.harness import bench_database, cpu_seconds
from bench.reference_app import SQL as REFERENCE
from service.api.relay import to_global_id
from service.app.compiled.compiler import compile_document
from service.app.compiled.roots import ROOTS, caseload_page
from service.app.schema import MODELS, build_schema
from service.kernel import clock
from service.kernel.principal import Principal, Role, Service
from service.kernel.session import TenantSession


async def per_execution(conn: asyncpg.Connection, statement: asyncpg.prepared_stmt.PreparedStatement, args: list[Any],
                        role: str, schema: str, executions: int, generic: bool) -> float:
    """Backend CPU ms per execution, each in a transaction as the tenant's role, rolled back."""
    pid = await conn.fetchval("SELECT pg_backend_pid()")
    before = cpu_seconds([pid])  # the backend is on this machine (a local server)
    for _ in range(executions):
        transaction = conn.transaction()
        await transaction.start()
        await conn.execute(f"SET LOCAL ROLE {role}; SET LOCAL search_path = {schema}; SET LOCAL plan_cache_mode = "
                           f"{'force_generic_plan' if generic else 'auto'}")
        await statement.fetchval(*args)
        await transaction.rollback()
    return (cpu_seconds([pid]) - before) / executions * 1000


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--young-adults", type=int, default=3000)
    parser.add_argument("--first", type=int, default=10)
    parser.add_argument("--executions", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()

    async with bench_database("p") as bench:
        tenant, site = await seeded_tenant(bench, "bench-region", args.young_adults)

        operation = compile_document(CASELOAD, build_schema()._schema, ROOTS, MODELS)
        principal = Principal(subject="bench-pom", role=Role.PRACTITIONER, tenant=tenant, service=Service.PRISON,
                              site_codes=frozenset({"BSI"}))
        # The caseload root reads nothing before the statement (the statement works the caller's scope out).
        page = await caseload_page(cast(TenantSession, None), principal,
                                   operation.argument_values({"siteId": to_global_id("Site", uuid.UUID(site)),
                                                              "first": args.first}))
        assert page is not None
        ours = [*page.params, principal.subject, principal.role.value, "bench", "CaseloadPage", "{}",
                clock.today(), *page.scope_params]

        conn = await asyncpg.connect(bench.url)
        try:
            await conn.execute(f'ANALYZE; SET search_path = "{tenant.schema}"')
            statements = {"ours": (await conn.prepare(operation.statement(page)), ours),
                          "reference": (await conn.prepare(REFERENCE), [uuid.UUID(site), args.first])}
            figures: dict[str, list[float]] = {}
            for _ in range(args.rounds):
                for name, generic in (("ours, PostgreSQL's choice of plan", False), ("ours, generic plan", True),
                                      ("reference", False)):
                    statement, values = statements["reference" if name == "reference" else "ours"]
                    figures.setdefault(name, []).append(await per_execution(
                        conn, statement, values, tenant.runtime_role, tenant.schema, args.executions, generic))
            plans = await conn.fetch("SELECT generic_plans, custom_plans FROM pg_prepared_statements "
                                     "WHERE statement LIKE 'WITH caller%'")
        finally:
            await conn.close()
        print(f"\ncaseload plans: {args.young_adults} young adults at one site, a practitioner's page of {args.first}, "
              f"{args.rounds} x {args.executions} executions each, PostgreSQL CPU per execution")
        for name, runs in figures.items():
            print(f"{name:<36} {' '.join(f'{ms:6.2f}' for ms in runs)} ms")
        print(f"ours: {plans[0]['generic_plans']} generic and {plans[0]['custom_plans']} custom plans "
              "(PostgreSQL's choice; the forced rounds count as generic)")


if __name__ == "__main__":
    asyncio.run(main())
