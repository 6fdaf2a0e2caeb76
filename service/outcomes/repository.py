"""SQL for outcome check-ins (the ``outcome_observation`` table), filtered by the caller's scope."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import date
from typing import Any

import asyncpg

from service.kernel.session import TenantSession
from service.kernel.visibility import Scope, visible_young_adult

COLUMNS = ("o.id, o.young_adult_id, o.custody_episode_id, o.time_point, o.observed_on, o.accommodation, "
           "o.in_education_training_employment, o.recalled, o.network_contacts_last_30_days, o.version")
VISIBLE = visible_young_adult("o.young_adult_id", 2)
VALUES = ("accommodation", "in_education_training_employment", "recalled", "network_contacts_last_30_days")


async def latest_episode(session: TenantSession, young_adult_id: uuid.UUID) -> asyncpg.Record | None:
    """The young adult's latest custody episode: the one their due items follow (service.rules.repository.FACTS)."""
    return await session.fetchrow(
        "SELECT c.id, c.actual_release_date FROM custody_episode c WHERE c.young_adult_id = $1 "
        "ORDER BY c.reception_date DESC, c.created_at DESC LIMIT 1", young_adult_id)


async def insert_check_in(session: TenantSession, young_adult_id: uuid.UUID, episode_id: uuid.UUID,
                          time_point: str, observed_on: date, values: dict[str, Any]) -> asyncpg.Record | None:
    """The check-in, or None when the episode already has one at this time point (one per time point)."""
    return await session.fetchrow(
        "INSERT INTO outcome_observation AS o (young_adult_id, custody_episode_id, time_point, observed_on, "
        "accommodation, in_education_training_employment, recalled, network_contacts_last_30_days) "
        "VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (custody_episode_id, time_point) DO NOTHING "
        f"RETURNING {COLUMNS}", young_adult_id, episode_id, time_point, observed_on,
        *(values.get(name) for name in VALUES))


async def check_ins_for(session: TenantSession, young_adult_ids: Sequence[uuid.UUID], scope: Scope,
                        ) -> list[asyncpg.Record]:
    """Check-ins of several young adults, oldest first."""
    return await session.fetch(
        f"SELECT {COLUMNS} FROM outcome_observation o WHERE o.young_adult_id = ANY($1::uuid[]) AND {VISIBLE} "
        "ORDER BY o.observed_on, o.created_at", list(young_adult_ids), *scope.args)


async def check_ins_by_id(session: TenantSession, ids: Sequence[uuid.UUID], scope: Scope) -> list[asyncpg.Record]:
    return await session.fetch(f"SELECT {COLUMNS} FROM outcome_observation o WHERE o.id = ANY($1::uuid[]) "
                               f"AND {VISIBLE}", list(ids), *scope.args)
