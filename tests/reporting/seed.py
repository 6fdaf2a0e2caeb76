"""Case data for reporting tests, written straight into a tenant schema as the superuser (the APIs that write these
tables live in other features). Every helper takes the schema and returns the new row's id."""

from __future__ import annotations

import datetime as dt
import uuid

import asyncpg

D = dt.date
JAN_2024 = D(2024, 1, 1)


async def delete_rollups(conn: asyncpg.Connection, where: str, *args: object) -> None:
    """Delete stored rollups ``where`` says, as the superuser, clearing what other tests left in a test's years, and
    move the digests of the tenants they were of, as a refresh storing their rows would: a publisher reads again
    only the tenants whose digests moved (publication.Sums)."""
    await conn.execute(
        f"WITH gone AS (DELETE FROM control.metric_rollup WHERE {where} RETURNING tenant_id, metric), "
        "moved AS (SELECT tenant_id, jsonb_object_agg(metric, gen_random_uuid()::text) AS digest FROM "
        "(SELECT DISTINCT tenant_id, metric FROM gone) g GROUP BY tenant_id) "
        "INSERT INTO control.metric_refresh (tenant_id, refreshed_at, as_of, rollup_rows, duration_ms, digest) "
        "SELECT tenant_id, now(), date '1900-01-01', 0, 0, digest FROM moved ON CONFLICT (tenant_id) DO UPDATE "
        "SET digest = control.metric_refresh.digest || excluded.digest", *args)


class Seeder:
    def __init__(self, conn: asyncpg.Connection, schema: str) -> None:
        self.conn = conn
        self.s = f'"{schema}"'
        self._practitioners: dict[str, uuid.UUID] = {}

    async def young_adult(self, site: str, *, identified: D = JAN_2024, referred: D | None = None,
                          consented: D | None = None) -> uuid.UUID:
        ya = uuid.uuid4()
        await self.conn.execute(
            f"INSERT INTO {self.s}.young_adult (id, given_name, family_name, date_of_birth, care_status) "
            "VALUES ($1, 'Sam', 'Example-Seed', '2003-05-01', 'RELEVANT')", ya)
        await self.enrol(ya, site, identified=identified, referred=referred, consented=consented)
        return ya

    async def enrol(self, ya: uuid.UUID, site: str, *, identified: D, referred: D | None = None,
                    consented: D | None = None) -> None:
        await self.conn.execute(
            f"INSERT INTO {self.s}.enrolment (young_adult_id, site_id, identified_on, referred_on, consented_on) "
            f"SELECT $1, id, $3, $4, $5 FROM {self.s}.site WHERE code = $2", ya, site, identified, referred, consented)

    async def consent(self, ya: uuid.UUID, granted: D, withdrawn: D | None = None,
                      member: uuid.UUID | None = None) -> None:
        await self.conn.execute(
            f"INSERT INTO {self.s}.consent (young_adult_id, network_member_id, purpose, granted_on, withdrawn_on, "
            "recorded_by) VALUES ($1, $2, 'AGGREGATE_REPORTING', $3, $4, 'seed')", ya, member, granted, withdrawn)

    async def release(self, ya: uuid.UUID, reception: D, released: D) -> uuid.UUID:
        return await self.conn.fetchval(  # type: ignore[no-any-return]
            f"INSERT INTO {self.s}.custody_episode (young_adult_id, reception_date, sentence_type, crd, "
            "actual_release_date, release_type) VALUES ($1, $2, 'DETERMINATE', $3, $3, 'CONDITIONAL') RETURNING id",
            ya, reception, released)

    async def agree_plan(self, ya: uuid.UUID, agreed: D) -> None:
        plan = await self.conn.fetchval(
            f"INSERT INTO {self.s}.integrated_plan (young_adult_id) VALUES ($1) "
            "ON CONFLICT (young_adult_id) DO UPDATE SET version = integrated_plan.version RETURNING id", ya)
        number = await self.conn.fetchval(
            f"SELECT coalesce(max(number), 0) + 1 FROM {self.s}.plan_version WHERE plan_id = $1", plan)
        await self.conn.execute(
            f"INSERT INTO {self.s}.plan_version (plan_id, number, status, created_by, agreed_at) "
            "VALUES ($1, $2, 'AGREED', 'seed', ($3::date + time '12:00') AT TIME ZONE 'Europe/London')",
            plan, number, agreed)

    async def practitioner(self, service: str) -> uuid.UUID:
        if service not in self._practitioners:
            role = {"PRISON": "POM", "PROBATION": "COM", "LEAVING_CARE": "PERSONAL_ADVISER",
                    "LIFELONG_LINKS": "LIFELONG_LINKS_COORDINATOR"}[service]
            self._practitioners[service] = await self.conn.fetchval(
                f"INSERT INTO {self.s}.practitioner (given_name, family_name, service, role) "
                "VALUES ('Pat', 'Example-Practitioner', $1, $2) RETURNING id", service, role)
        return self._practitioners[service]

    async def meeting(self, ya: uuid.UUID, kind: str, held: D, services: tuple[str, ...] = ()) -> uuid.UUID:
        meeting: uuid.UUID = await self.conn.fetchval(
            f"INSERT INTO {self.s}.meeting (young_adult_id, kind, held_on) VALUES ($1, $2, $3) RETURNING id",
            ya, kind, held)
        for service in services:
            await self.conn.execute(
                f"INSERT INTO {self.s}.meeting_attendee (meeting_id, practitioner_id) VALUES ($1, $2)",
                meeting, await self.practitioner(service))
        return meeting

    async def recall(self, episode: uuid.UUID, on: D) -> None:
        await self.conn.execute(
            f"INSERT INTO {self.s}.recall_event (custody_episode_id, recalled_on) VALUES ($1, $2)", episode, on)

    async def outcome(self, ya: uuid.UUID, episode: uuid.UUID, time_point: str, observed: D, *,
                      accommodation: str | None = None, ete: bool | None = None,
                      contacts: int | None = None) -> None:
        await self.conn.execute(
            f"INSERT INTO {self.s}.outcome_observation (young_adult_id, custody_episode_id, time_point, observed_on, "
            "accommodation, in_education_training_employment, network_contacts_last_30_days) "
            "VALUES ($1, $2, $3, $4, $5, $6, $7)", ya, episode, time_point, observed, accommodation, ete, contacts)

    async def links_case(self, ya: uuid.UUID, referred: D, plan_agreed: D | None = None) -> uuid.UUID:
        case: uuid.UUID = await self.conn.fetchval(
            f"INSERT INTO {self.s}.lifelong_links_case (young_adult_id, referred_on) VALUES ($1, $2) RETURNING id",
            ya, referred)
        if plan_agreed is not None:
            await self.conn.execute(
                f"INSERT INTO {self.s}.lifelong_links_stage_change (case_id, stage, entered_on, changed_by) "
                "VALUES ($1, 'PLAN_AGREED', $2, 'seed')", case, plan_agreed)
        return case

    async def member(self, ya: uuid.UUID, *, known_before: bool, identified: D, status: str = "IDENTIFIED",
                     committed: D | None = None, declined: D | None = None) -> uuid.UUID:
        member: uuid.UUID = await self.conn.fetchval(
            f"INSERT INTO {self.s}.network_member (young_adult_id, given_name, relationship, known_before, status, "
            "created_at) VALUES ($1, 'Kim', 'RELATIVE', $2, $3, ($4::date + time '12:00') AT TIME ZONE "
            "'Europe/London') RETURNING id", ya, known_before, status, identified)
        for change, on in (("COMMITTED", committed), ("DECLINED", declined)):
            if on is not None:
                await self.conn.execute(
                    f"INSERT INTO {self.s}.network_member_status_change (member_id, status, changed_on, changed_by) "
                    "VALUES ($1, $2, $3, 'seed')", member, change, on)
        return member

    async def objective(self, case: uuid.UUID, met: bool, assessed: D) -> None:
        await self.conn.execute(
            f"INSERT INTO {self.s}.lifelong_links_objective (case_id, description, met, assessed_on) "
            "VALUES ($1, 'An objective', $2, $3)", case, met, assessed)
