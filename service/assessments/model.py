"""Declarations (service/api/model.py) of the assessments part of a young adult's record: snapshots (audited as
consulted) and the need found on each pathway."""

from __future__ import annotations

from service.api.model import Consulted, Many, One, TypeModel, cols, global_id

MODELS = (
    TypeModel("Assessment", "assessment", {
        "id": global_id("Assessment"),
        **cols(source="source", assessedOn="assessed_on", summary="summary", version="version"),
        "assessor": One("Practitioner", "{c}.id = {p}.assessor_id"),
        "needs": Many("AssessmentNeed", "{c}.assessment_id = {p}.id", "{c}.pathway"),
    }, consulted=Consulted("{t}.young_adult_id")),
    TypeModel("AssessmentNeed", "assessment_need", cols(pathway="pathway", level="level", note="note")),
)
