"""The migration runner: one transaction per tenant in worker processes, a failure stays with its tenant, a rerun
finishes the rest, and two runs never overlap."""

from __future__ import annotations

import asyncio
import os
import secrets
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import asyncpg
import pytest

from service.kernel.database import Database
from service.kernel.principal import Role
from service.kernel.tenancy import Tenant
from tenants import lifecycle, migrations, runner
from tenants.lifecycle import Transition
from tenants.provisioning import NewTenant, create_tenant
from tests.conftest import CallerFactory, TenantFactory

PROBE_REVISION = '''"""Test-only revision: a table the test can make one tenant already have."""
from alembic import op

revision = "t9001"
down_revision = "{head}"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("CREATE TABLE lifecycle_probe (id integer PRIMARY KEY)")


def downgrade() -> None:
    op.execute("DROP TABLE lifecycle_probe")
'''


async def cli(db: Database, *args: str) -> tuple[int, str, str]:
    """Run our own CLI against the test database; returns (exit code, stdout, stderr)."""
    assert db.settings.database_url is not None
    env = {**os.environ, "DATABASE_URL": db.settings.database_url, "COLUMNS": "200",
           "ALWAYS_HOPE_ROLE_PREFIX": db.settings.role_prefix, "ALWAYS_HOPE_DATA_DIR": str(db.settings.data_dir)}
    proc = await asyncio.create_subprocess_exec(sys.executable, "-m", "service", *args, env=env,
                                                stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    stdout, stderr = await asyncio.wait_for(proc.communicate(), timeout=120)
    assert proc.returncode is not None
    return proc.returncode, stdout.decode(), stderr.decode()


@pytest.fixture
async def three_tenants(db: Database) -> AsyncIterator[list[Tenant]]:
    """Tenants of this test only (the run is limited to their slugs); deleted afterwards, since they end up at a
    revision the real stream does not know."""
    tenants = [await create_tenant(db.engine, NewTenant(f"mig-{secrets.token_hex(4)}", "Migrated", "REGION"),
                                   role_prefix=db.settings.role_prefix, app_role=db.settings.app_role)
               for _ in range(3)]
    yield tenants
    for t in tenants:
        await lifecycle.transition(db.engine, t.slug, Transition.ARCHIVE, "test")
        await lifecycle.delete(db.engine, t.slug, confirm_slug=t.slug, actor="test")


async def test_a_failing_tenant_is_left_untouched_and_a_rerun_completes_it(
        db: Database, admin_conn: asyncpg.Connection, tmp_path: Path, three_tenants: list[Tenant]) -> None:
    head = migrations.head("tenant")
    (tmp_path / "t9001_probe.py").write_text(PROBE_REVISION.format(head=head))
    ok_a, ok_b, broken = three_tenants
    await admin_conn.execute(f'CREATE TABLE "{broken.schema}".lifecycle_probe (note text)')
    slugs = [t.slug for t in three_tenants]

    first = await runner.run(db.engine, db.admin_url, db.settings.app_role, jobs=2, slugs=slugs,
                             extra_locations=[tmp_path])
    by_slug = {r.slug: r for r in first.tenants}
    assert first.target == "t9001"
    for ok in (ok_a, ok_b):
        assert (by_slug[ok.slug].from_revision, by_slug[ok.slug].to_revision, by_slug[ok.slug].outcome) == (
            head, "t9001", "SUCCEEDED")
    failed = by_slug[broken.slug]
    assert (failed.from_revision, failed.to_revision, failed.outcome) == (head, head, "FAILED")
    assert failed.error is not None
    assert "42P07" in failed.error  # duplicate table

    # The failed tenant is untouched: its version, its registry row, and the object in its way.
    assert await admin_conn.fetchval(f'SELECT version_num FROM "{broken.schema}".alembic_version') == head
    assert await admin_conn.fetchval("SELECT schema_revision FROM control.tenant WHERE id = $1", broken.id) == head
    assert await admin_conn.fetchval(
        "SELECT count(*) FROM information_schema.columns WHERE table_schema = $1 AND table_name = 'lifecycle_probe'",
        broken.schema) == 1
    assert await admin_conn.fetchval(f'SELECT version_num FROM "{ok_a.schema}".alembic_version') == "t9001"
    recorded = await admin_conn.fetch("SELECT outcome, to_revision FROM control.tenant_migration "
                                      "WHERE tenant_id = $1", broken.id)
    assert [tuple(r) for r in recorded] == [("FAILED", head)]

    await admin_conn.execute(f'DROP TABLE "{broken.schema}".lifecycle_probe')
    second = await runner.run(db.engine, db.admin_url, db.settings.app_role, jobs=2, slugs=slugs,
                              extra_locations=[tmp_path])
    assert {r.slug: r.outcome for r in second.tenants} == {
        ok_a.slug: "UP_TO_DATE", ok_b.slug: "UP_TO_DATE", broken.slug: "SUCCEEDED"}
    assert await admin_conn.fetchval(f'SELECT version_num FROM "{broken.schema}".alembic_version') == "t9001"


async def test_two_runs_never_overlap_and_requests_are_served_meanwhile(
        db: Database, admin_conn: asyncpg.Connection, make_tenant: TenantFactory, login: CallerFactory) -> None:
    tenant = await make_tenant()
    user = await login(Role.TENANT_ADMIN, tenant)
    await admin_conn.fetchval("SELECT pg_advisory_lock(hashtext($1))", runner.LOCK_KEY)
    try:
        with pytest.raises(runner.MigrationInProgress):
            await runner.run(db.engine, db.admin_url, db.settings.app_role, wait=False)
        code, _, stderr = await cli(db, "migrate")
        assert code == 3
        assert "in progress" in stderr
        # While a migration holds the run lock, the service answers as usual.
        assert (await user.data("{ sites { code } }"))["sites"]
    finally:
        await admin_conn.fetchval("SELECT pg_advisory_unlock(hashtext($1))", runner.LOCK_KEY)


async def test_the_cli_migrates_and_reports_every_tenant(db: Database, make_tenant: TenantFactory) -> None:
    tenant = await make_tenant()
    code, stdout, stderr = await cli(db, "migrate", "--tenant", tenant.slug)
    assert code == 0, stderr
    assert tenant.slug in stdout
    assert "UP_TO_DATE" in stdout


async def test_a_tenant_whose_own_version_table_is_behind_is_migrated_whatever_the_registry_says(
        db: Database, admin_conn: asyncpg.Connection, tmp_path: Path, three_tenants: list[Tenant]) -> None:
    head = migrations.head("tenant")
    (tmp_path / "t9001_probe.py").write_text(PROBE_REVISION.format(head=head))
    slugs = [t.slug for t in three_tenants]
    first = await runner.run(db.engine, db.admin_url, db.settings.app_role, slugs=slugs, extra_locations=[tmp_path])
    assert {r.outcome for r in first.tenants} == {"SUCCEEDED"}
    # Someone takes one schema back by hand (a restore, a manual alembic downgrade); the registry still says t9001.
    behind = three_tenants[0]
    await admin_conn.execute(f'DROP TABLE "{behind.schema}".lifecycle_probe')
    await admin_conn.execute(f'UPDATE "{behind.schema}".alembic_version SET version_num = $1', head)
    assert await admin_conn.fetchval("SELECT schema_revision FROM control.tenant WHERE id = $1", behind.id) == "t9001"

    second = await runner.run(db.engine, db.admin_url, db.settings.app_role, slugs=slugs, extra_locations=[tmp_path])
    by_slug = {r.slug: r for r in second.tenants}
    assert (by_slug[behind.slug].from_revision, by_slug[behind.slug].outcome) == (head, "SUCCEEDED")
    assert {by_slug[t.slug].outcome for t in three_tenants[1:]} == {"UP_TO_DATE"}
    assert await admin_conn.fetchval(f'SELECT version_num FROM "{behind.schema}".alembic_version') == "t9001"
    assert await admin_conn.fetchval(f'SELECT count(*) FROM "{behind.schema}".lifecycle_probe') == 0
