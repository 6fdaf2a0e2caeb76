"""SQL for custody episodes, licence conditions and recalls, each filtered by the caller's scope."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import date
from typing import Any

import asyncpg

from service.kernel.session import TenantSession
from service.kernel.visibility import Scope, visible_young_adult

KEY_DATES = ("sentence_start", "crd", "ard", "ped", "hdced", "sed", "led", "tused", "handover_date")
UPDATABLE = ("prison_site_id", "reception_date", "sentence_type", *KEY_DATES)
EPISODE_COLUMNS = (
    "c.id, c.young_adult_id, c.prison_site_id, c.reception_date, c.sentence_type, c.sentence_start, c.crd, c.ard, "
    "c.ped, c.hdced, c.sed, c.led, c.tused, c.handover_date, c.earliest_release_date, c.actual_release_date, "
    "c.release_type, c.version"
)
VISIBLE_EPISODE = visible_young_adult("c.young_adult_id", 2)
# Orders (over the alias {t}), shared with the declarations (model.py): total, so both executors list alike.
EPISODE_ORDER = "{t}.reception_date DESC, {t}.created_at DESC, {t}.id"
CONDITION_ORDER = "{t}.created_at, {t}.id"
RECALL_ORDER = "{t}.recalled_on, {t}.created_at, {t}.id"


async def episodes_for(session: TenantSession, young_adult_ids: Sequence[uuid.UUID], scope: Scope,
                       ) -> list[asyncpg.Record]:
    """Episodes of several young adults, most recent reception first."""
    return await session.fetch(
        f"SELECT {EPISODE_COLUMNS} FROM custody_episode c WHERE c.young_adult_id = ANY($1::uuid[]) "
        f"AND {VISIBLE_EPISODE} ORDER BY {EPISODE_ORDER.format(t='c')}",
        list(young_adult_ids), *scope.args)


async def episodes_by_id(session: TenantSession, ids: Sequence[uuid.UUID], scope: Scope) -> list[asyncpg.Record]:
    return await session.fetch(
        f"SELECT {EPISODE_COLUMNS} FROM custody_episode c WHERE c.id = ANY($1::uuid[]) AND {VISIBLE_EPISODE}",
        list(ids), *scope.args)


async def insert_episode(session: TenantSession, young_adult_id: uuid.UUID, values: dict[str, Any],
                         ) -> asyncpg.Record:
    names = sorted(values)
    row = await session.fetchrow(
        f"INSERT INTO custody_episode AS c (young_adult_id, {', '.join(names)}) "
        f"VALUES ($1, {', '.join(f'${i}' for i in range(2, len(names) + 2))}) RETURNING {EPISODE_COLUMNS}",
        young_adult_id, *(values[n] for n in names))
    assert row is not None
    return row


async def update_episode(session: TenantSession, episode_id: uuid.UUID, version: int, changes: dict[str, Any],
                         ) -> asyncpg.Record | None:
    """Apply ``changes`` if the stored version is ``version``; None when it is not."""
    assert changes
    assert set(changes) <= {*UPDATABLE, "actual_release_date", "release_type"}
    names = sorted(changes)
    assignments = ", ".join(f"{name} = ${i}" for i, name in enumerate(names, start=3))
    return await session.fetchrow(
        f"UPDATE custody_episode AS c SET {assignments}, version = version + 1, updated_at = now() "
        f"WHERE id = $1 AND version = $2 RETURNING {EPISODE_COLUMNS}",
        episode_id, version, *(changes[n] for n in names))


async def prison_exists(session: TenantSession, site_id: uuid.UUID) -> bool:
    return bool(await session.fetchval(
        "SELECT EXISTS (SELECT 1 FROM site WHERE id = $1 AND kind = 'PRISON')", site_id))


async def recalls_for(session: TenantSession, episode_ids: Sequence[uuid.UUID], scope: Scope,
                      ) -> list[asyncpg.Record]:
    return await session.fetch(
        "SELECT r.id, r.custody_episode_id, r.recalled_on, r.returned_to_custody_on, r.reason, r.version "
        "FROM recall_event r JOIN custody_episode c ON c.id = r.custody_episode_id "
        f"WHERE r.custody_episode_id = ANY($1::uuid[]) AND {VISIBLE_EPISODE} ORDER BY {RECALL_ORDER.format(t='r')}",
        list(episode_ids), *scope.args)


async def insert_recall(session: TenantSession, episode_id: uuid.UUID, recalled_on: date,
                        returned_on: date | None, reason: str | None) -> uuid.UUID:
    recall_id: uuid.UUID = await session.fetchval(
        "INSERT INTO recall_event (custody_episode_id, recalled_on, returned_to_custody_on, reason) "
        "VALUES ($1, $2, $3, $4) RETURNING id", episode_id, recalled_on, returned_on, reason)
    return recall_id


async def conditions_for(session: TenantSession, episode_ids: Sequence[uuid.UUID], scope: Scope,
                         ) -> list[asyncpg.Record]:
    return await session.fetch(
        "SELECT l.id, l.custody_episode_id, l.description, l.starts_on, l.ends_on, l.version "
        "FROM licence_condition l JOIN custody_episode c ON c.id = l.custody_episode_id "
        f"WHERE l.custody_episode_id = ANY($1::uuid[]) AND {VISIBLE_EPISODE} ORDER BY {CONDITION_ORDER.format(t='l')}",
        list(episode_ids), *scope.args)


async def insert_condition(session: TenantSession, episode_id: uuid.UUID, description: str,
                           starts_on: date | None, ends_on: date | None) -> uuid.UUID:
    condition_id: uuid.UUID = await session.fetchval(
        "INSERT INTO licence_condition (custody_episode_id, description, starts_on, ends_on) "
        "VALUES ($1, $2, $3, $4) RETURNING id", episode_id, description, starts_on, ends_on)
    return condition_id
