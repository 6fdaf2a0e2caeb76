"""Declarations (service/api/model.py) of the integrated plan: the plan, its versions, goals and actions."""

from __future__ import annotations

from service.api.model import Consulted, Many, One, Scalar, TypeModel, col, cols, global_id

_LATEST = "SELECT v.id FROM plan_version v WHERE v.plan_id = {p}.id"
_OF_VERSION = "SELECT ip.young_adult_id FROM plan_version v JOIN integrated_plan ip ON ip.id = v.plan_id"

MODELS = (
    TypeModel("IntegratedPlan", "integrated_plan", {
        "id": global_id("IntegratedPlan"), "version": col("version"),
        # the open draft, else the latest (versions are numbered upwards)
        "currentVersion": One("PlanVersion",
                              f"{{c}}.id = ({_LATEST} ORDER BY v.status = 'DRAFT' DESC, v.number DESC LIMIT 1)"),
        "agreedVersion": One("PlanVersion",
                             f"{{c}}.id = ({_LATEST} AND v.status = 'AGREED' ORDER BY v.number DESC LIMIT 1)"),
        "versions": Many("PlanVersion", "{c}.plan_id = {p}.id", "{c}.number DESC"),
    }, consulted=Consulted("{t}.young_adult_id")),
    TypeModel("PlanVersion", "plan_version", {
        "id": global_id("PlanVersion"), **cols(number="number", status="status", version="version"),
        "goals": Many("PlanGoal", "{c}.plan_version_id = {p}.id", "{c}.position, {c}.created_at"),
    }, consulted=Consulted("(SELECT ip.young_adult_id FROM integrated_plan ip WHERE ip.id = {t}.plan_id)")),
    TypeModel("PlanGoal", "plan_goal", {
        "id": global_id("PlanGoal"), "lineageId": Scalar("{t}.lineage_id::text"),
        **cols(pathway="pathway", description="description", position="position", version="version"),
        "actions": Many("PlanAction", "{c}.plan_goal_id = {p}.id", "{c}.position, {c}.created_at"),
    }, consulted=Consulted(f"({_OF_VERSION} WHERE v.id = {{t}}.plan_version_id)", covered_by_parent=True)),
    TypeModel("PlanAction", "plan_action", {
        "id": global_id("PlanAction"), "lineageId": Scalar("{t}.lineage_id::text"),
        **cols(description="description", ownerService="owner_service", dueOn="due_on", status="status",
               position="position", version="version"),
    }, consulted=Consulted(f"({_OF_VERSION} JOIN plan_goal g ON g.plan_version_id = v.id "
                           "WHERE g.id = {t}.plan_goal_id)", covered_by_parent=True)),
)
