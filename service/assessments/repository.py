"""SQL for assessment snapshots and their needs per pathway, filtered by the caller's scope."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import date

import asyncpg

from service.kernel.session import TenantSession
from service.kernel.visibility import Scope, visible_young_adult

COLUMNS = "a.id, a.young_adult_id, a.source, a.assessed_on, a.assessor_id, a.summary, a.version"
VISIBLE = visible_young_adult("a.young_adult_id", 2)
# Orders (over the alias {t}), shared with the declarations (model.py): total, so both executors list alike.
ASSESSMENT_ORDER = "{t}.assessed_on DESC, {t}.created_at DESC, {t}.id"


async def assessments_for(session: TenantSession, young_adult_ids: Sequence[uuid.UUID], scope: Scope,
                          ) -> list[asyncpg.Record]:
    """Assessments of several young adults, most recent first."""
    return await session.fetch(
        f"SELECT {COLUMNS} FROM assessment a WHERE a.young_adult_id = ANY($1::uuid[]) AND {VISIBLE} "
        f"ORDER BY {ASSESSMENT_ORDER.format(t='a')}", list(young_adult_ids), *scope.args)


async def assessments_by_id(session: TenantSession, ids: Sequence[uuid.UUID], scope: Scope) -> list[asyncpg.Record]:
    return await session.fetch(f"SELECT {COLUMNS} FROM assessment a WHERE a.id = ANY($1::uuid[]) AND {VISIBLE}",
                               list(ids), *scope.args)


async def needs_for(session: TenantSession, assessment_ids: Sequence[uuid.UUID], scope: Scope,
                    ) -> list[asyncpg.Record]:
    return await session.fetch(
        "SELECT n.assessment_id, n.pathway, n.level, n.note FROM assessment_need n "
        f"JOIN assessment a ON a.id = n.assessment_id WHERE n.assessment_id = ANY($1::uuid[]) AND {VISIBLE} "
        "ORDER BY n.pathway", list(assessment_ids), *scope.args)


async def insert_assessment(session: TenantSession, young_adult_id: uuid.UUID, source: str, assessed_on: date,
                            assessor_id: uuid.UUID | None, summary: str | None,
                            needs: Sequence[tuple[str, str, str | None]]) -> asyncpg.Record:
    """The assessment and its needs, in one statement."""
    row = await session.fetchrow(
        "WITH a AS (INSERT INTO assessment (young_adult_id, source, assessed_on, assessor_id, summary) "
        "           VALUES ($1, $2, $3, $4, $5) "
        "           RETURNING id, young_adult_id, source, assessed_on, assessor_id, summary, version), "
        "n AS (INSERT INTO assessment_need (assessment_id, pathway, level, note) "
        "      SELECT a.id, x.pathway, x.level, x.note FROM a, unnest($6::text[], $7::text[], $8::text[]) "
        "      AS x (pathway, level, note)) "
        f"SELECT {COLUMNS} FROM a",
        young_adult_id, source, assessed_on, assessor_id, summary, [n[0] for n in needs], [n[1] for n in needs],
        [n[2] for n in needs])
    assert row is not None
    return row
