"""The hand-off between tenants under stress: two runs at once make one copy, a record that moved away still exports
and restores (the schema's owner writes it as it is), and the closed record refuses writes from the runtime role."""

from __future__ import annotations

import asyncio
import secrets

import asyncpg
import pytest

from service.kernel.database import Database
from service.kernel.principal import Role
from service.moves import handoff
from tenants.provisioning import NewTenant, create_tenant
from tests.conftest import CallerFactory, TenantFactory
from tests.operations import Operations
from tests.records.casework import TODAY, young_adult
from tests.tenants.test_lifecycle import export_text, restore_text


async def test_two_hand_offs_at_once_make_one_copy_and_the_closed_record_restores(
        make_tenant: TenantFactory, login: CallerFactory, db: Database, admin_conn: asyncpg.Connection) -> None:
    ops = Operations()
    sending = await make_tenant("west-midlands")
    receiving = await make_tenant("womens-initiative", kind="COHORT", sites=(("EWI", "HMP Eastwood Park", "PRISON"),))
    admin, other_admin = await login(Role.TENANT_ADMIN, sending), await login(Role.TENANT_ADMIN, receiving)
    sites = {s["code"]: s["id"] for s in (await ops.data(admin, "Sites"))["sites"]}
    ya = (await ops.ok(admin, "CreateYoungAdult", young_adult(sites["BSI"], "Example-Race")))["youngAdult"]["id"]
    asked = (await ops.ok(admin, "RequestTenantTransfer", {"youngAdultId": ya, "toTenant": receiving.slug,
                                                            "consentedOn": TODAY.isoformat()}))["tenantTransfer"]
    await ops.ok(other_admin, "AcceptTenantTransfer", {"id": asked["id"], "version": asked["version"],
                                                       "siteCode": "EWI"})

    pool = await db.open_jobs_pool()
    await asyncio.gather(handoff.run_pending(pool), handoff.run_pending(pool), handoff.run_pending(pool))
    await handoff.run_pending(pool)  # whatever raced, the next run finishes it
    copies = await admin_conn.fetchval(f'SELECT count(*) FROM "{receiving.schema}".young_adult')
    assert copies == 1
    assert await admin_conn.fetchval(f'SELECT count(*) FROM "{receiving.schema}".enrolment') == 1
    state = await admin_conn.fetchval("SELECT state FROM control.tenant_transfer WHERE from_tenant_id = $1",
                                      sending.id)
    assert state == "COMPLETED"

    # The sending tenant, with its closed record, exports and restores as it is.
    manifest, lines = await export_text(db, sending.slug)
    target = await create_tenant(db.engine, NewTenant(f"dst-{secrets.token_hex(4)}", "Restored", "REGION"),
                                 role_prefix=db.settings.role_prefix, app_role=db.settings.app_role)
    await restore_text(db, target.slug, "\n".join(lines) + "\n")
    again, restored = await export_text(db, target.slug)
    assert again["tables"] == manifest["tables"]
    assert restored[1:] == lines[1:]
    moved_to = await admin_conn.fetchval(f'SELECT moved_to FROM "{target.schema}".young_adult')
    assert moved_to == receiving.name

    # …and is still closed to the runtime role there.
    async with admin_conn.transaction():
        await admin_conn.execute(f'SET LOCAL ROLE "{target.runtime_role}"')
        await admin_conn.execute(f'SET LOCAL search_path TO "{target.schema}"')
        with pytest.raises(asyncpg.PostgresError) as refused:
            await admin_conn.execute("UPDATE young_adult SET la_reference = 'LA-2'")
    assert refused.value.sqlstate == "AH017"
