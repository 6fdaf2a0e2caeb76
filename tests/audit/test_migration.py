"""t0008 (after t0007) carries the one-row-per-subject trail over to one event per request, action and
type, and back; t0009 gives each subject its own type (one event per request and action), and back."""

from __future__ import annotations

import uuid

import asyncpg
import pytest
from alembic import command
from sqlalchemy import Connection, text

from service.kernel.database import Database
from tenants import migrations
from tests.conftest import TenantFactory


def _downgrade(connection: Connection, schema: str, owner: str, runtime: str, target: str) -> None:
    connection.execute(text("SELECT set_config('role', :r, true), set_config('search_path', :s, true), "
                            "set_config('always_hope.runtime_role', :rt, true)"),
                       {"r": owner, "s": schema, "rt": runtime})
    command.downgrade(migrations.make_config("tenant", connection, schema), target)


async def test_existing_rows_are_carried_over_and_back(db: Database, make_tenant: TenantFactory,
                                                       admin_conn: asyncpg.Connection) -> None:
    tenant = await make_tenant()
    owner = await admin_conn.fetchval("SELECT owner_role FROM control.tenant WHERE id = $1", tenant.id)
    async with migrations.ALEMBIC_LOCK, db.engine.begin() as conn:
        await conn.run_sync(_downgrade, tenant.schema, owner, tenant.runtime_role, "t0007")
    s = f'"{tenant.schema}".audit_event'
    ya, other, plan = sorted(uuid.uuid4() for _ in range(3))
    old = [  # (actor, action, subject_type, subject, young adult, fields, request)
        ("pom", "CREATE", "YoungAdult", ya, ya, ["given_name"], "r1"),
        ("pom", "CONSULT", "YoungAdult", other, other, [], "r2"),
        ("pom", "CONSULT", "YoungAdult", ya, ya, [], "r2"),
        ("pom", "CONSULT", "IntegratedPlan", plan, ya, [], "r2"),
        ("pa", "DISCLOSE", "NetworkMember", plan, None, ["phone"], "r3"),
    ]
    await admin_conn.executemany(
        f"INSERT INTO {s} (actor_subject, actor_role, action, subject_type, subject_id, young_adult_id, fields, "
        "request_id) VALUES ($1, 'PRACTITIONER', $2, $3, $4, $5, $6, $7)", old)
    before = await admin_conn.fetch(f"SELECT * FROM {s} ORDER BY id")

    async with migrations.ALEMBIC_LOCK, db.engine.begin() as conn:
        await conn.run_sync(lambda c: migrations.upgrade_tenant_schema(c, tenant.schema, owner, tenant.runtime_role,
                                                                       "t0008"))
    events = await admin_conn.fetch(
        f"SELECT id, occurred_at, actor_subject, action, subject_type, subject_ids, young_adult_ids, fields, "
        f"request_id, operation FROM {s} ORDER BY id")
    assert [(e["actor_subject"], e["action"], e["subject_type"], e["subject_ids"], e["young_adult_ids"],
             e["fields"], e["request_id"], e["operation"]) for e in events] == [
        ("pom", "CREATE", "YoungAdult", [ya], [ya], ["given_name"], "r1", None),
        ("pom", "CONSULT", "YoungAdult", [ya, other], [ya, other], [], "r2", None),
        ("pom", "CONSULT", "IntegratedPlan", [plan], [ya], [], "r2", None),
        ("pa", "DISCLOSE", "NetworkMember", [plan], [None], ["phone"], "r3", None),
    ]
    assert [e["id"] for e in events] == [before[0]["id"], before[1]["id"], before[3]["id"], before[4]["id"]]
    assert events[1]["occurred_at"] == min(before[1]["occurred_at"], before[2]["occurred_at"])
    # New events continue after the carried ones.
    assert await admin_conn.fetchval(
        f"INSERT INTO {s} (actor_subject, actor_role, action, subject_type, subject_ids, young_adult_ids, "
        "request_id) VALUES ('x', 'x', 'EXPORT', 'Tenant', ARRAY[gen_random_uuid()], '{NULL}', 'r') RETURNING id"
    ) == before[-1]["id"] + 1

    # And back: one row per subject again (the carried rows, and the new one).
    async with migrations.ALEMBIC_LOCK, db.engine.begin() as conn:
        await conn.run_sync(_downgrade, tenant.schema, owner, tenant.runtime_role, "t0007")
    rows = await admin_conn.fetch(f"SELECT actor_subject, action, subject_type, subject_id, young_adult_id, fields, "
                                  f"request_id FROM {s} WHERE action <> 'EXPORT' ORDER BY id")
    assert sorted(tuple(r) for r in rows) == sorted(old)
    async with migrations.ALEMBIC_LOCK, db.engine.begin() as conn:
        await conn.run_sync(lambda c: migrations.upgrade_tenant_schema(c, tenant.schema, owner, tenant.runtime_role))


async def test_events_keep_their_ids_and_rows_when_each_subject_gets_its_type(
        db: Database, make_tenant: TenantFactory, admin_conn: asyncpg.Connection) -> None:
    """t0009: an event of t0008 lists subjects of its one type; it is carried over as it is (its id, time and the
    keys of its rows, event id and position, unchanged), its type given to each subject. Back down, an event listing
    several types becomes one per type, the first keeping the event's id."""
    tenant = await make_tenant()
    owner = await admin_conn.fetchval("SELECT owner_role FROM control.tenant WHERE id = $1", tenant.id)
    async with migrations.ALEMBIC_LOCK, db.engine.begin() as conn:
        await conn.run_sync(_downgrade, tenant.schema, owner, tenant.runtime_role, "t0008")
    s = f'"{tenant.schema}".audit_event'
    ya, other, plan = sorted(uuid.uuid4() for _ in range(3))
    old = [  # (action, subject_type, subjects, young adults, fields, request)
        ("CONSULT", "YoungAdult", [ya, other], [ya, other], [], "r1"),
        ("CONSULT", "IntegratedPlan", [plan], [ya], [], "r1"),
        ("DISCLOSE", "NetworkMember", [plan], [None], ["phone"], "r2"),
    ]
    await admin_conn.executemany(
        f"INSERT INTO {s} (actor_subject, actor_role, action, subject_type, subject_ids, young_adult_ids, fields, "
        "request_id) VALUES ('pom', 'PRACTITIONER', $1, $2, $3, $4, $5, $6)", old)
    before = await admin_conn.fetch(f"SELECT id, occurred_at FROM {s} ORDER BY id")

    async with migrations.ALEMBIC_LOCK, db.engine.begin() as conn:
        await conn.run_sync(lambda c: migrations.upgrade_tenant_schema(c, tenant.schema, owner, tenant.runtime_role))
    events = await admin_conn.fetch(f"SELECT id, occurred_at, action, subject_types, subject_ids, young_adult_ids, "
                                    f"fields, request_id FROM {s} ORDER BY id")
    assert [(e["id"], e["occurred_at"]) for e in events] == [(b["id"], b["occurred_at"]) for b in before]
    assert [(e["action"], e["subject_types"], e["subject_ids"], e["young_adult_ids"], e["fields"], e["request_id"])
            for e in events] == [(action, [kind] * len(ids), ids, yas, fields, request)
                                 for action, kind, ids, yas, fields, request in old]
    # A new event lists subjects of several types; the runtime role still may not change one.
    mixed = await admin_conn.fetchval(
        f"INSERT INTO {s} (actor_subject, actor_role, action, subject_types, subject_ids, young_adult_ids, "
        "request_id) VALUES ('pom', 'PRACTITIONER', 'CONSULT', '{YoungAdult,IntegratedPlan,YoungAdult}', $1, $2, "
        "'r3') RETURNING id", [ya, plan, other], [ya, ya, other])
    with pytest.raises(asyncpg.CheckViolationError):
        await admin_conn.execute(
            f"INSERT INTO {s} (actor_subject, actor_role, action, subject_types, subject_ids, young_adult_ids, "
            "request_id) VALUES ('pom', 'PRACTITIONER', 'CONSULT', '{YoungAdult}', $1, $1, 'r4')", [ya, other])
    async with admin_conn.transaction():
        await admin_conn.execute(f"SET LOCAL ROLE {tenant.runtime_role}")
        with pytest.raises(asyncpg.InsufficientPrivilegeError):
            await admin_conn.execute(f"UPDATE {s} SET subject_types = subject_types WHERE id = $1", mixed)

    async with migrations.ALEMBIC_LOCK, db.engine.begin() as conn:
        await conn.run_sync(_downgrade, tenant.schema, owner, tenant.runtime_role, "t0008")
    rows = await admin_conn.fetch(f"SELECT id, action, subject_type, subject_ids, young_adult_ids, fields, request_id "
                                  f"FROM {s} ORDER BY id")
    assert [tuple(r)[1:] for r in rows] == [
        *old, ("CONSULT", "YoungAdult", [ya, other], [ya, other], [], "r3"),
        ("CONSULT", "IntegratedPlan", [plan], [ya], [], "r3")]
    assert [r["id"] for r in rows][:4] == [*(b["id"] for b in before), mixed]
    async with migrations.ALEMBIC_LOCK, db.engine.begin() as conn:
        await conn.run_sync(lambda c: migrations.upgrade_tenant_schema(c, tenant.schema, owner, tenant.runtime_role))
