"""The rule catalogue: every rule valid by its own definition, refusals that name the rule and the limit, the JSON
Schema document (validated with jsonschema), and templates that fit the catalogue."""

from __future__ import annotations

import json
from typing import Any

import asyncpg
import httpx
import jsonschema
import pytest
from graphql import parse, validate

from service.app.schema import schema
from service.kernel.principal import Role
from service.rules import catalogue
from tests.conftest import CallerFactory
from tests.operations import document
from tests.rules.test_published_operations import RULE_OPERATIONS

DESIGN_RULES = {  # DESIGN.md §5, one catalogue name per row of its table
    "eligible_age_range", "accepted_care_statuses", "min_months_to_release_at_referral",
    "first_planning_meeting_working_days", "plan_review_interval_weeks", "pre_release_meeting_weeks",
    "handover_alert_weeks", "post_release_weekly_review_weeks", "pa_visit_interval_weeks", "plan_signoff_services",
    "network_vetting_services", "committed_network_members_before_release", "lifelong_links_referral_days",
    "coordinator_caseload_cap", "consent_reconfirmation_months", "outcome_time_points", "record_retention_years",
}


def test_the_catalogue_covers_design_section_5_and_every_default_is_valid() -> None:
    assert set(catalogue.BY_NAME) >= DESIGN_RULES
    for rule in catalogue.CATALOGUE:
        assert catalogue.check(rule.name, rule.default) is None, rule.name
        assert rule.explanation.endswith("."), rule.name
        assert len(rule.explanation) < 120, rule.name


@pytest.mark.parametrize(("name", "value", "message"), [
    ("plan_review_interval_weeks", 27, "plan_review_interval_weeks cannot be 27 weeks: the statutory limit is "
                                       "26 weeks (the pathway plan must be reviewed at least every 6 months "
                                       "(26 weeks))."),
    ("plan_review_interval_weeks", 1, "plan_review_interval_weeks must be between 2 and 26 weeks; got 1."),
    ("coordinator_caseload_cap", 0, "coordinator_caseload_cap must be between 1 and 30 people; got 0."),
    ("coordinator_caseload_cap", "10", "coordinator_caseload_cap must be a whole number of people."),
    ("coordinator_caseload_cap", True, "coordinator_caseload_cap must be a whole number of people."),
    ("eligible_age_range", {"min": 15, "max": 25}, "eligible_age_range.min must be between 16 and 30 years; got 15."),
    ("eligible_age_range", [18, 25], "eligible_age_range must be an object with exactly the keys min and max."),
    ("plan_signoff_services", [], "plan_signoff_services needs at least 1 of: PRISON, PROBATION, LEAVING_CARE, "
                                  "LIFELONG_LINKS."),
    ("plan_signoff_services", ["PRISON", "PRISON"], "plan_signoff_services must not name a value twice."),
    ("outcome_time_points", "MONTH_3", "outcome_time_points must be a list of names from: RELEASE_DAY, MONTH_3, "
                                       "MONTH_6, MONTH_12."),
])
def test_refusals_name_the_rule_and_the_limit(name: str, value: Any, message: str) -> None:
    assert catalogue.check(name, value) == message


def test_choice_sets_are_stored_in_catalogue_order() -> None:
    assert catalogue.normalise("plan_signoff_services", ["LEAVING_CARE", "PRISON"]) == ["PRISON", "LEAVING_CARE"]


def test_the_json_schema_is_valid_and_agrees_with_the_validator() -> None:
    document = catalogue.json_schema()
    validator = jsonschema.Draft202012Validator
    validator.check_schema(document)
    validator(document).validate(catalogue.DEFAULTS)
    validator(document).validate({"plan_review_interval_weeks": 6})
    bad: dict[str, Any]
    for bad in ({"plan_review_interval_weeks": 27}, {"plan_review_interval_weeks": 1},
                {"accepted_care_statuses": ["ADOPTED"]}, {"eligible_age_range": {"min": 18}},
                {"no_such_rule": 1}, {"plan_signoff_services": []}):
        with pytest.raises(jsonschema.ValidationError):
            validator(document).validate(bad)
        [(name, value)] = bad.items()
        assert catalogue.check(name, value) is not None


async def test_the_schema_is_served_over_http_and_graphql(client: httpx.AsyncClient, login: CallerFactory) -> None:
    response = await client.get("/rules/schema.json")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/schema+json")
    assert response.json() == catalogue.json_schema()
    analyst = await login(Role.NATIONAL_ANALYST)
    data = await analyst.data("{ ruleCatalogueJsonSchema ruleCatalogue { name type unit default minimum maximum "
                              "allowedValues statutoryMaximum explanation } }")
    assert data["ruleCatalogueJsonSchema"] == catalogue.json_schema()
    review = next(r for r in data["ruleCatalogue"] if r["name"] == "plan_review_interval_weeks")
    assert review == {"name": "plan_review_interval_weeks", "type": "INTEGER", "unit": "WEEKS", "default": 13,
                      "minimum": 2, "maximum": 26, "allowedValues": [], "statutoryMaximum": 26,
                      "explanation": catalogue.BY_NAME["plan_review_interval_weeks"].explanation}


async def test_templates_fit_the_catalogue(admin_conn: asyncpg.Connection) -> None:
    rows = {r["name"]: json.loads(r["rule_values"])
            for r in await admin_conn.fetch("SELECT name, rule_values FROM control.rule_template")}
    assert rows["defaults"] == {"tenant": catalogue.DEFAULTS, "sites": {}}, "the migration froze today's defaults"
    pilot = rows["west-midlands-pilot"]
    assert pilot["sites"]["BRM-LC"] == {"min_months_to_release_at_referral": 6}
    assert pilot["sites"]["COV-LC"] == {"min_months_to_release_at_referral": 9}
    for values in rows.values():
        for settings in [values["tenant"], *values["sites"].values()]:
            for name, value in settings.items():
                assert catalogue.check(name, value) is None, name


def test_the_published_rule_operations_are_valid_against_the_schema() -> None:
    for name in RULE_OPERATIONS:
        source = document(name)
        assert validate(schema._schema, parse(source)) == [], name


def test_a_rule_books_values_are_worked_out_once_and_each_caller_gets_its_own_copy() -> None:
    """RuleBook.values remembers each site's values (a page asks once per young adult); a caller changing what it
    was given changes nothing another caller is given, and a book made with changes has its own values."""
    import datetime as dt

    from service.rules.service import ChangeBatch, RuleBook, RuleChange, Setting

    book = RuleBook({"coordinator_caseload_cap": Setting(12, dt.date(2026, 1, 1), "admin", "why")},
                    {"BSI": {"coordinator_caseload_cap": Setting(8, dt.date(2026, 1, 1), "admin", "why")}})
    first = book.values("BSI")
    assert first["coordinator_caseload_cap"] == 8
    assert book.values(None)["coordinator_caseload_cap"] == 12
    assert book.values("OTHER")["coordinator_caseload_cap"] == 12
    first["coordinator_caseload_cap"] = 99
    assert book.values("BSI")["coordinator_caseload_cap"] == 8
    assert book.values("BSI") == {e.rule: e.value for e in book.explain("BSI")}
    changed = book.with_changes(ChangeBatch(dt.date(2026, 2, 1), "why", (RuleChange("coordinator_caseload_cap",
                                                                                    "BSI", 5),)), "admin")
    assert (changed.values("BSI")["coordinator_caseload_cap"], book.values("BSI")["coordinator_caseload_cap"]) == (5, 8)
