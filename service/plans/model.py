"""Declarations (service/api/model.py) of the integrated plan: the plan, its versions, goals, actions and sign-offs.

A version's required and missing services need the practice rules in force at the young adult's governing site
(Python, read once per request): the statement selects their inputs and the functions below compute them, with the
rules of :mod:`service.plans.service` the resolvers use too."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from service.api.model import Computed, Consulted, Many, One, Scalar, TypeModel, col, cols, global_id, timestamp
from service.kernel.work import UnitOfWork
from service.plans import service as plans
from service.plans.repository import SIGNOFF_ORDER
from service.rules.loaders import rule_book, rules_at_site
from service.rules.repository import governing_site_code

_OF_VERSION = "SELECT ip.young_adult_id FROM plan_version v JOIN integrated_plan ip ON ip.id = v.plan_id"
_VERSION_OF = "(SELECT ip.young_adult_id FROM integrated_plan ip WHERE ip.id = {t}.plan_id)"
# the inputs of the rules in force for the version's young adult: their governing site today (worked out once per
# young adult shown, however many of their versions and fields need it)
_SITE = governing_site_code("{young_adult}", "{today}")
_SIGNED = "ARRAY(SELECT s.service FROM plan_signoff s WHERE s.plan_version_id = {t}.id)"


async def _required(work: UnitOfWork, inputs: Mapping[str, Any]) -> list[str]:
    return list(plans.required_services(await rules_at_site(work, inputs["site"])))


async def _missing(work: UnitOfWork, inputs: Mapping[str, Any]) -> list[str]:
    return list(plans.missing_services(await rules_at_site(work, inputs["site"]), inputs["signed"]))


MODELS = (
    TypeModel("IntegratedPlan", "integrated_plan", {
        "id": global_id("IntegratedPlan"), "version": col("version"),
        # the open draft, else the latest (versions are numbered upwards)
        "currentVersion": One("PlanVersion", "{c}.plan_id = {p}.id",
                              order="{c}.status = 'DRAFT' DESC, {c}.number DESC"),
        "agreedVersion": One("PlanVersion", "{c}.plan_id = {p}.id AND {c}.status = 'AGREED'",
                             order="{c}.number DESC"),
        "versions": Many("PlanVersion", "{c}.plan_id = {p}.id", "{c}.number DESC"),
    }, consulted=Consulted("{t}.young_adult_id")),
    TypeModel("PlanVersion", "plan_version", {
        "id": global_id("PlanVersion"), **cols(number="number", status="status", version="version"),
        "agreedAt": timestamp("agreed_at"), "createdAt": timestamp("created_at"),
        "goals": Many("PlanGoal", "{c}.plan_version_id = {p}.id", "{c}.position, {c}.created_at"),
        "signoffs": Many("PlanSignoff", "{c}.plan_version_id = {p}.id", SIGNOFF_ORDER.format(t="{c}")),
        "requiredServices": Computed({"site": _SITE}, _required, rule_book),
        "missingServices": Computed({"site": _SITE, "signed": _SIGNED}, _missing, rule_book),
    }, consulted=Consulted(_VERSION_OF)),
    TypeModel("PlanSignoff", "plan_signoff", {
        "service": col("service"), "signedAt": timestamp("signed_at"),
        "practitioner": One("Practitioner", "{c}.id = {p}.practitioner_id"),
    }),
    TypeModel("PlanGoal", "plan_goal", {
        "id": global_id("PlanGoal"), "lineageId": Scalar("{t}.lineage_id::text"),
        **cols(pathway="pathway", description="description", position="position", version="version"),
        "actions": Many("PlanAction", "{c}.plan_goal_id = {p}.id", "{c}.position, {c}.created_at"),
    }, consulted=Consulted(f"({_OF_VERSION} WHERE v.id = {{t}}.plan_version_id)", covered_by_parent=True)),
    TypeModel("PlanAction", "plan_action", {
        "id": global_id("PlanAction"), "lineageId": Scalar("{t}.lineage_id::text"),
        **cols(description="description", ownerService="owner_service", dueOn="due_on", status="status",
               position="position", version="version"),
        "owner": One("Practitioner", "{c}.id = {p}.owner_id"),
    }, consulted=Consulted(f"({_OF_VERSION} JOIN plan_goal g ON g.plan_version_id = v.id "
                           "WHERE g.id = {t}.plan_goal_id)", covered_by_parent=True)),
)
