"""A new tenant is onboarded in the transaction that creates it: everything commits together or nothing is left."""

from __future__ import annotations

import json
import secrets

import asyncpg
import pytest

from service.kernel.database import Database
from service.platform.onboarding import Action, Item, Onboarding, onboard
from service.tenant_admin.service import SiteSpec
from tenants import lifecycle
from tenants.lifecycle import Outcome
from tenants.slugs import TenantNames
from tests.messages import count_messages


def north_east(slug: str, admin: str) -> Onboarding:
    return Onboarding(slug, "North East", "REGION", "west-midlands-pilot",
                      (SiteSpec("DUR", "HMP Durham", "PRISON"), SiteSpec("NE-LC", "Newcastle leaving care",
                                                                         "LEAVING_CARE")),
                      ((admin, "First admin"),))


async def traces(admin: asyncpg.Connection, slug: str, prefix: str) -> dict[str, int]:
    """Everything onboarding writes, counted: the registry row, its events, rules and grants, the schema, the roles."""
    names = TenantNames.for_slug(slug, prefix)
    return {
        "tenant": await admin.fetchval("SELECT count(*) FROM control.tenant WHERE slug = $1", slug),
        "events": await admin.fetchval("SELECT count(*) FROM control.tenant_event WHERE slug = $1", slug),
        "rules": await admin.fetchval("SELECT count(*) FROM control.rule_change r JOIN control.tenant t "
                                      "ON t.id = r.tenant_id WHERE t.slug = $1", slug),
        "grants": await admin.fetchval("SELECT count(*) FROM control.app_user u JOIN control.tenant t "
                                       "ON t.id = u.tenant_id WHERE t.slug = $1", slug),
        "schema": await admin.fetchval("SELECT count(*) FROM pg_namespace WHERE nspname = $1", names.schema),
        "roles": await admin.fetchval("SELECT count(*) FROM pg_roles WHERE rolname = ANY($1::text[])",
                                      [names.owner_role, names.runtime_role]),
    }


async def test_a_new_tenant_is_onboarded_in_one_transaction(db: Database, admin_conn: asyncpg.Connection,
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    slug, admin = f"one-{secrets.token_hex(4)}", f"admin-{secrets.token_hex(4)}"
    sent = count_messages(monkeypatch)
    result = await onboard(db, north_east(slug, admin), actor="platform-admin")
    assert result.error is None
    # One transaction commits, however many steps (each step committed on its own before: eight COMMITs). (The
    # engine's pre-ping is a BEGIN and ROLLBACK of its own.)
    assert sent.count("COMMIT;") == 1
    assert [(s.action, s.target, s.outcome) for s in result.steps] == [
        (Action.CREATE_TENANT, slug, Outcome.CREATED), (Action.APPLY_RULE_TEMPLATE, "west-midlands-pilot",
                                                        Outcome.CREATED),
        (Action.ADD_SITE, "DUR", Outcome.CREATED), (Action.ADD_SITE, "NE-LC", Outcome.CREATED),
        (Action.GRANT_ADMIN, admin, Outcome.CREATED), (Action.ACTIVATE, slug, Outcome.UPDATED)]
    assert result.tenant is not None
    assert result.tenant.status == "ACTIVE"
    assert {e.item for e in result.checklist if not e.done} == {
        Item.PRACTITIONER, Item.PROBATION_SITE, Item.LIFELONG_LINKS_SITE}

    # What it stored is what the steps say, read back as any later request reads it.
    events = await admin_conn.fetch("SELECT action, from_status, to_status FROM control.tenant_event "
                                    "WHERE slug = $1 ORDER BY occurred_at, id", slug)
    assert [tuple(e.values()) for e in events] == [("PROVISIONED", None, "PROVISIONING"),
                                                   ("ACTIVATED", "PROVISIONING", "ACTIVE")]
    template = json.loads(await admin_conn.fetchval(
        "SELECT rule_values::text FROM control.rule_template WHERE name = 'west-midlands-pilot'"))
    stored = await admin_conn.fetch("SELECT site_code, rule, value::text FROM control.rule_change r "
                                    "JOIN control.tenant t ON t.id = r.tenant_id WHERE t.slug = $1", slug)
    assert {(r["site_code"], r["rule"]): json.loads(r["value"]) for r in stored} == {
        **{(None, rule): value for rule, value in template["tenant"].items()},
        **{(code, rule): value for code, rules in template["sites"].items() for rule, value in rules.items()}}
    grant = await admin_conn.fetchrow("SELECT role, active, display_name FROM control.app_user u "
                                      "JOIN control.tenant t ON t.id = u.tenant_id WHERE t.slug = $1", slug)
    assert grant is not None
    assert tuple(grant.values()) == ("TENANT_ADMIN", True, "First admin")
    schema = TenantNames.for_slug(slug, db.settings.role_prefix).schema
    sites = await admin_conn.fetch(f'SELECT code, kind FROM "{schema}".site ORDER BY code')
    assert [tuple(s.values()) for s in sites] == [("DUR", "PRISON"), ("NE-LC", "LEAVING_CARE")]

    # A rerun goes step by step and finds everything done.
    again = await onboard(db, north_east(slug, admin), actor="platform-admin")
    assert again.error is None
    assert {s.outcome for s in again.steps} == {Outcome.ALREADY_DONE}


async def test_a_failure_at_the_last_step_leaves_nothing_and_the_rerun_does_it_all(
        db: Database, admin_conn: asyncpg.Connection, monkeypatch: pytest.MonkeyPatch) -> None:
    slug, admin = f"gone-{secrets.token_hex(4)}", f"admin-{secrets.token_hex(4)}"
    recorded = lifecycle.record_event

    async def fail_on_activation(conn: object, tenant: object, action: str, *args: object) -> None:
        await recorded(conn, tenant, action, *args)  # type: ignore[arg-type]
        if action == "ACTIVATED":
            raise RuntimeError("the server went away after the activation was written")

    monkeypatch.setattr(lifecycle, "record_event", fail_on_activation)
    with pytest.raises(RuntimeError):
        await onboard(db, north_east(slug, admin), actor="platform-admin")
    assert await traces(admin_conn, slug, db.settings.role_prefix) == {
        "tenant": 0, "events": 0, "rules": 0, "grants": 0, "schema": 0, "roles": 0}

    monkeypatch.setattr(lifecycle, "record_event", recorded)
    result = await onboard(db, north_east(slug, admin), actor="platform-admin")
    assert result.error is None
    assert {s.outcome for s in result.steps} == {Outcome.CREATED, Outcome.UPDATED}
    assert await traces(admin_conn, slug, db.settings.role_prefix) == {
        "tenant": 1, "events": 2, "rules": result_rules(await admin_conn.fetchval(
            "SELECT rule_values::text FROM control.rule_template WHERE name = 'west-midlands-pilot'")),
        "grants": 1, "schema": 1, "roles": 2}


def result_rules(template: str) -> int:
    values = json.loads(template)
    return len(values["tenant"]) + sum(len(rules) for rules in values["sites"].values())
