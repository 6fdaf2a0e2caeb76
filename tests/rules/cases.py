"""Case data for due-item tests, written directly as the superuser: the strand APIs that record meetings, custody
and consent live on other branches. Every name is synthetic."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import date

import asyncpg

from service.kernel.tenancy import Tenant


async def young_adult(conn: asyncpg.Connection, tenant: Tenant, site_code: str, family: str, *,
                      identified_on: date, consented_on: date | None = None, reception: date | None = None,
                      release_by: date | None = None, handover: date | None = None, released: date | None = None,
                      reviews: Sequence[date] = (), consent_granted: date | None = None) -> uuid.UUID:
    s = f'"{tenant.schema}"'
    ya: uuid.UUID = await conn.fetchval(
        f"INSERT INTO {s}.young_adult (given_name, family_name, date_of_birth, care_status) "
        "VALUES ('Sam', $1, '2003-04-05', 'RELEVANT') RETURNING id", family)
    await conn.execute(
        f"INSERT INTO {s}.enrolment (young_adult_id, site_id, status, identified_on, consented_on) "
        f"SELECT $1, id, $3, $4, $5 FROM {s}.site WHERE code = $2",
        ya, site_code, "IDENTIFIED" if consented_on is None else "CONSENTED", identified_on, consented_on)
    if reception is not None:
        await conn.execute(
            f"INSERT INTO {s}.custody_episode (young_adult_id, reception_date, sentence_type, crd, handover_date, "
            "actual_release_date, release_type) VALUES ($1, $2, 'DETERMINATE', $3, $4, $5, $6)",
            ya, reception, release_by, handover, released, None if released is None else "CONDITIONAL")
    for held_on in reviews:
        await conn.execute(f"INSERT INTO {s}.meeting (young_adult_id, kind, held_on) VALUES ($1, 'REVIEW', $2)",
                           ya, held_on)
    if consent_granted is not None:
        await conn.execute(f"INSERT INTO {s}.consent (young_adult_id, purpose, granted_on, recorded_by) "
                           "VALUES ($1, 'PARTICIPATION', $2, 'test')", ya, consent_granted)
    return ya
