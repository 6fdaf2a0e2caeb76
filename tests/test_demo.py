"""The demo data reads as the programme would have recorded it, each step on its own day."""

from __future__ import annotations

import asyncpg

from service.demo import DEMO_TENANTS, seed_demo
from service.kernel.database import Database


async def test_each_demo_plan_is_started_signed_and_agreed_on_its_planning_day(
        db: Database, admin_conn: asyncpg.Connection) -> None:
    """The service stamps these with the database's clock; a replay that left them so would show every plan agreed
    on the day the demo was seeded, after most young adults' release (timeline, plan metrics)."""
    await seed_demo(db)  # a no-op when an earlier test has seeded the demo already
    zone = db.settings.time_zone
    for slug in DEMO_TENANTS:
        schema = await admin_conn.fetchval("SELECT schema_name FROM control.tenant WHERE slug = $1", slug)
        rows = await admin_conn.fetch(f"""
            SELECT (v.created_at AT TIME ZONE $1)::date AS started_on, (v.agreed_at AT TIME ZONE $1)::date AS agreed_on,
                   ARRAY(SELECT DISTINCT (s.signed_at AT TIME ZONE $1)::date FROM "{schema}".plan_signoff s
                         WHERE s.plan_version_id = v.id) AS signed_on,
                   (SELECT min(m.held_on) FROM "{schema}".meeting m
                    WHERE m.young_adult_id = p.young_adult_id AND m.kind = 'INTEGRATED_PLANNING') AS planned_on
            FROM "{schema}".plan_version v JOIN "{schema}".integrated_plan p ON p.id = v.plan_id
            WHERE v.status = 'AGREED'""", zone)
        assert len(rows) >= 10, slug
        for row in rows:
            assert row["started_on"] == row["agreed_on"] == row["planned_on"], (slug, dict(row))
            assert row["signed_on"] == [row["planned_on"]], (slug, dict(row))
