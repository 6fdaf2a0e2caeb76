"""Rules for assessment snapshots: a known source, a past date, at most one need per pathway."""

from __future__ import annotations

import uuid
from datetime import date

import asyncpg

from service.assessments import repository
from service.kernel.audit import AuditAction, AuditEvent
from service.kernel.domain import Pathway, values
from service.kernel.errors import InvalidInput
from service.kernel.visibility import Actor
from service.people.service import require_young_adult, text

SOURCES = ("OASYS", "LA_NEEDS_ASSESSMENT", "PATHWAY_PLAN_REVIEW", "IMMEDIATE_NEEDS_SCREEN")
PATHWAYS = values(Pathway)
LEVELS = ("NONE", "LOW", "MEDIUM", "HIGH")


async def record_assessment(actor: Actor, young_adult_id: uuid.UUID | None, source: str, assessed_on: date,
                            summary: str | None, needs: list[tuple[str, str, str | None]], today: date,
                            ) -> asyncpg.Record:
    young_adult_id = await require_young_adult(actor, young_adult_id)
    if source not in SOURCES:
        raise InvalidInput(f"source must be one of {', '.join(SOURCES)}.", field="source")
    if assessed_on > today:
        raise InvalidInput("assessedOn must not be in the future.", field="assessed_on")
    pathways = [n[0] for n in needs]
    if len(set(pathways)) != len(pathways):
        raise InvalidInput("Give each pathway's need once.", field="needs")
    if any(p not in PATHWAYS for p in pathways) or any(n[1] not in LEVELS for n in needs):
        raise InvalidInput("Each need names a resettlement pathway and a level (NONE, LOW, MEDIUM, HIGH).",
                           field="needs")
    checked = [(p, level, text(note, "note", 2000)) for p, level, note in needs]
    row = await repository.insert_assessment(actor.session, young_adult_id, source, assessed_on,
                                             actor.scope.practitioner_id, text(summary, "summary", 4000), checked)
    await actor.audit([AuditEvent(AuditAction.CREATE, "Assessment", row["id"], young_adult_id,
                                  ("assessed_on", "needs", "source", "summary"))])
    return row
