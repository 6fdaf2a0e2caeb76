"""The practice-rule catalogue: every rule a site may set, its type, unit, default, allowed range and any statutory
limit (DESIGN.md §5). The catalogue is code, not data: a rule's meaning is what the due-item engine does with it.

Rule values are JSON: an integer, a {"min", "max"} pair of integers, or a list of allowed names. ``check`` is the one
validator; it explains a refusal by naming the rule and the limit, never by echoing anything but the number given.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import Any

from service.kernel.domain import OutcomeTimePoint, values
from service.kernel.principal import Service

CARE_STATUSES = ("ELIGIBLE", "RELEVANT", "FORMER_RELEVANT", "QUALIFYING", "OTHER_CARE_EXPERIENCED")
SERVICES = values(Service)
OUTCOME_TIME_POINTS = values(OutcomeTimePoint)


class HandoverItem(enum.StrEnum):
    """What a release handover can confirm; the handover_checklist rule picks which must be confirmed."""

    ACCOMMODATION_CONFIRMED = "ACCOMMODATION_CONFIRMED"
    FIRST_APPOINTMENT_BOOKED = "FIRST_APPOINTMENT_BOOKED"
    LICENCE_CONDITIONS_SHARED = "LICENCE_CONDITIONS_SHARED"
    NETWORK_TOLD = "NETWORK_TOLD"
    PERSONAL_ADVISER_INTRODUCED = "PERSONAL_ADVISER_INTRODUCED"
    GP_REGISTERED = "GP_REGISTERED"


HANDOVER_CHECKLIST_ITEMS = tuple(i.value for i in HandoverItem)


class RuleType(enum.StrEnum):
    INTEGER = "INTEGER"
    INTEGER_RANGE = "INTEGER_RANGE"  # {"min": int, "max": int}, min <= max, both within the rule's bounds
    CHOICE_SET = "CHOICE_SET"  # a list of distinct names from allowed_values


class RuleUnit(enum.StrEnum):
    YEARS = "YEARS"
    MONTHS = "MONTHS"
    WEEKS = "WEEKS"
    DAYS = "DAYS"
    WORKING_DAYS = "WORKING_DAYS"
    PEOPLE = "PEOPLE"
    NONE = "NONE"


@dataclass(frozen=True, slots=True)
class RuleDefinition:
    name: str
    type: RuleType
    unit: RuleUnit
    default: Any
    explanation: str
    minimum: int | None = None  # INTEGER and INTEGER_RANGE bounds; CHOICE_SET: fewest names
    maximum: int | None = None
    allowed_values: tuple[str, ...] = field(default_factory=tuple)
    statutory_maximum: int | None = None
    statutory_basis: str | None = None


def _int(name: str, unit: RuleUnit, default: int, low: int, high: int, explanation: str, *,
         statutory_maximum: int | None = None, statutory_basis: str | None = None) -> RuleDefinition:
    return RuleDefinition(name, RuleType.INTEGER, unit, default, explanation, low, high,
                          statutory_maximum=statutory_maximum, statutory_basis=statutory_basis)


def _choices(name: str, allowed: tuple[str, ...], default: tuple[str, ...], explanation: str,
             fewest: int = 1) -> RuleDefinition:
    return RuleDefinition(name, RuleType.CHOICE_SET, RuleUnit.NONE, list(default), explanation, fewest,
                          len(allowed), allowed_values=allowed)


CATALOGUE: tuple[RuleDefinition, ...] = (
    RuleDefinition("eligible_age_range", RuleType.INTEGER_RANGE, RuleUnit.YEARS, {"min": 18, "max": 25},
                   "Ages (inclusive) at referral that the site accepts into the programme.", 16, 30),
    _choices("accepted_care_statuses", CARE_STATUSES, CARE_STATUSES,
             "Care statuses the site accepts: statutory care leavers only, or any care experience."),
    _int("min_months_to_release_at_referral", RuleUnit.MONTHS, 6, 0, 24,
         "Least time between referral and the earliest release date for the work to be done in custody."),
    _int("first_planning_meeting_working_days", RuleUnit.WORKING_DAYS, 20, 1, 60,
         "The first integrated-planning meeting is due this many working days (Monday–Friday) after consent."),
    _int("plan_review_interval_weeks", RuleUnit.WEEKS, 13, 2, 26,
         "In custody the integrated plan is reviewed at least this often (from the last review or agreement).",
         statutory_maximum=26,
         statutory_basis="the pathway plan must be reviewed at least every 6 months (26 weeks)"),
    _int("pre_release_meeting_weeks", RuleUnit.WEEKS, 12, 2, 26,
         "The pre-release meeting is due this many weeks before the earliest release date."),
    _int("handover_alert_weeks", RuleUnit.WEEKS, 4, 1, 12,
         "The prison-to-probation handover shows as due soon this many weeks before the handover date."),
    _choices("handover_checklist", HANDOVER_CHECKLIST_ITEMS, HANDOVER_CHECKLIST_ITEMS[:4],
             "Items a release handover must confirm before the handover counts as done."),
    _int("post_release_weekly_review_weeks", RuleUnit.WEEKS, 4, 0, 12,
         "After release the plan is reviewed weekly for this many weeks, then monthly until licence end."),
    _int("pa_visit_interval_weeks", RuleUnit.WEEKS, 8, 1, 26,
         "In custody the personal adviser meets the young adult at least this often."),
    _choices("plan_signoff_services", SERVICES, ("PRISON", "PROBATION", "LEAVING_CARE"),
             "Services whose sign-off of a plan version makes it agreed."),
    _choices("network_vetting_services", SERVICES, ("PROBATION", "LEAVING_CARE"),
             "Services that must clear a network member before the member is contacted."),
    _int("committed_network_members_before_release", RuleUnit.PEOPLE, 3, 0, 20,
         "Committed network members wanted by the earliest release date."),
    _int("lifelong_links_referral_days", RuleUnit.DAYS, 28, 1, 180,
         "The Lifelong Links referral is due this many days after the young adult consents to take part."),
    _int("coordinator_caseload_cap", RuleUnit.PEOPLE, 10, 1, 30,
         "Most open Lifelong Links cases one coordinator holds."),
    _int("consent_reconfirmation_months", RuleUnit.MONTHS, 12, 1, 24,
         "Consent to take part is reconfirmed at release and at least this often."),
    _choices("outcome_time_points", OUTCOME_TIME_POINTS, OUTCOME_TIME_POINTS,
             "Outcome check-ins recorded after release: on release day and at +3, +6 and +12 months."),
    _int("record_retention_years", RuleUnit.YEARS, 6, 1, 25,
         "Years a young adult's record is kept after they exit the programme."),
    _int("due_soon_days", RuleUnit.DAYS, 14, 1, 60,
         "An open item shows as due soon this many days before its due date."),
)

BY_NAME: dict[str, RuleDefinition] = {r.name: r for r in CATALOGUE}
DEFAULTS: dict[str, Any] = {r.name: r.default for r in CATALOGUE}

_UNIT_WORDS = {RuleUnit.YEARS: "years", RuleUnit.MONTHS: "months", RuleUnit.WEEKS: "weeks", RuleUnit.DAYS: "days",
               RuleUnit.WORKING_DAYS: "working days", RuleUnit.PEOPLE: "people", RuleUnit.NONE: ""}


def _with_unit(rule: RuleDefinition, n: int) -> str:
    return f"{n} {_UNIT_WORDS[rule.unit]}".rstrip()


def _check_integer(rule: RuleDefinition, value: Any, what: str = "") -> str | None:
    if not isinstance(value, int) or isinstance(value, bool):
        return f"{rule.name}{what} must be a whole number of {_UNIT_WORDS[rule.unit]}."
    if rule.statutory_maximum is not None and value > rule.statutory_maximum:
        return (f"{rule.name} cannot be {_with_unit(rule, value)}: the statutory limit is "
                f"{_with_unit(rule, rule.statutory_maximum)} ({rule.statutory_basis}).")
    assert rule.minimum is not None
    assert rule.maximum is not None
    if not rule.minimum <= value <= rule.maximum:
        return (f"{rule.name}{what} must be between {rule.minimum} and {_with_unit(rule, rule.maximum)}; "
                f"got {value}.")
    return None


def check(name: str, value: Any) -> str | None:
    """Why ``value`` is not acceptable for the rule ``name``, or None when it is."""
    rule = BY_NAME.get(name)
    if rule is None:
        return f"There is no practice rule named {name[:60]!r}; see ruleCatalogue."
    if rule.type is RuleType.INTEGER:
        return _check_integer(rule, value)
    if rule.type is RuleType.INTEGER_RANGE:
        if not isinstance(value, dict) or set(value) != {"min", "max"}:
            return f"{rule.name} must be an object with exactly the keys min and max."
        for key in ("min", "max"):
            problem = _check_integer(rule, value[key], f".{key}")
            if problem:
                return problem
        if value["min"] > value["max"]:
            return f"{rule.name}: min must not be greater than max."
        return None
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        return f"{rule.name} must be a list of names from: {', '.join(rule.allowed_values)}."
    unknown = [v for v in value if v not in rule.allowed_values]
    if unknown:
        return f"{rule.name} allows only: {', '.join(rule.allowed_values)}."
    if len(set(value)) != len(value):
        return f"{rule.name} must not name a value twice."
    if rule.minimum is not None and len(value) < rule.minimum:
        return f"{rule.name} needs at least {rule.minimum} of: {', '.join(rule.allowed_values)}."
    return None


def normalise(name: str, value: Any) -> Any:
    """The stored form of a valid value: choice sets in catalogue order, so equal sets compare equal."""
    rule = BY_NAME[name]
    if rule.type is RuleType.CHOICE_SET:
        return [v for v in rule.allowed_values if v in value]
    return value


def _integer_schema(rule: RuleDefinition) -> dict[str, Any]:
    high = rule.maximum if rule.statutory_maximum is None else min(rule.maximum or 0, rule.statutory_maximum)
    return {"type": "integer", "minimum": rule.minimum, "maximum": high}


def json_schema() -> dict[str, Any]:
    """The catalogue as a JSON Schema (draft 2020-12) document describing one complete set of rule values."""
    properties: dict[str, Any] = {}
    for rule in CATALOGUE:
        if rule.type is RuleType.INTEGER:
            prop = _integer_schema(rule)
        elif rule.type is RuleType.INTEGER_RANGE:
            prop = {"type": "object", "additionalProperties": False, "required": ["min", "max"],
                    "properties": {"min": _integer_schema(rule), "max": _integer_schema(rule)}}
        else:
            prop = {"type": "array", "uniqueItems": True, "minItems": rule.minimum,
                    "items": {"type": "string", "enum": list(rule.allowed_values)}}
        prop.update({"title": rule.name, "description": rule.explanation, "default": rule.default,
                     "x-unit": rule.unit.value})
        if rule.statutory_maximum is not None:
            prop["x-statutory-maximum"] = rule.statutory_maximum
            prop["x-statutory-basis"] = rule.statutory_basis
        properties[rule.name] = prop
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": "https://always-hope.invalid/rules/schema.json",
        "title": "Always Hope practice rules",
        "description": "The practice rules in force at one site. Every property is optional in a change; "
                       "an omitted rule keeps the value of the level above (tenant, then default).",
        "type": "object",
        "additionalProperties": False,
        "properties": properties,
    }
