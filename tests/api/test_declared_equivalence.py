"""Equivalence, generated from the declarations: for every declared field, a small document around it runs through
both executors for several callers on awkward data, and the JSON and the audit events must be identical.

The documents reach each declared type from the compiled root (the caseload's young adults) by the first path of
declared relations, selecting ``id`` on the way and the field under test at the end. They are published to the
compiled app as its operations, so each one is compiled (checked) and the other app resolves it field by field.
"""

from __future__ import annotations

import datetime as dt
from collections import deque
from collections.abc import Mapping
from pathlib import Path

import asyncpg
import httpx
import pytest

from service.api.model import Many, One
from service.api.relay import to_global_id
from service.app.schema import MODELS
from service.kernel.principal import Role, Service
from tests.api.test_compiled import seed
from tests.conftest import CallerFactory, ClientFactory, TenantFactory

ROOT = "YoungAdult"


def paths() -> dict[str, list[str]]:
    """Each declared type reachable from the root, with the first path of relation fields that reaches it."""
    found: dict[str, list[str]] = {ROOT: []}
    queue = deque([ROOT])
    while queue:
        type_name = queue.popleft()
        for name, spec in MODELS[type_name].fields.items():
            if isinstance(spec, Many | One) and spec.type_name not in found:
                found[spec.type_name] = [*found[type_name], name]
                queue.append(spec.type_name)
    return found


def documents() -> dict[str, str]:
    """Operation name -> document, one per declared field of every reachable type."""
    out = {}
    for type_name, path in paths().items():
        for name, spec in MODELS[type_name].fields.items():
            leaf = f"{name} {{ id }}" if isinstance(spec, Many | One) else name
            body = leaf if name == "id" else f"id {leaf}"
            for step in reversed(path):
                body = f"id {step} {{ {body} }}"
            operation = f"Probe_{type_name}_{name}"
            out[operation] = (f"query {operation}($siteId: ID!, $first: Int!) {{ caseload(filter: {{siteId: $siteId}}, "
                              f"first: $first) {{ edges {{ cursor node {{ {body} }} }} "
                              "pageInfo { hasNextPage endCursor } } }\n")
    return out


def test_every_declared_field_gets_a_document() -> None:
    """Nothing declared escapes the generated comparison (a type no path reaches would be declared and unused)."""
    reached = paths()
    compiled_types = {m.name for m in MODELS.values() if m.table is not None}
    assert set(reached) == compiled_types
    assert len(documents()) == sum(len(MODELS[t].fields) for t in reached)


async def awkward(admin: asyncpg.Connection, schema: str) -> None:
    """Beyond seed(): a leap-day birth with a 21 end age, a plan with no versions, an agreed version with no goals
    beside a draft, a young adult with no plan, enrolled at two sites, and a closed site."""
    s = f'"{schema}"'
    await admin.execute(f"INSERT INTO {s}.site (code, name, kind, closed_at) VALUES ('OLD', 'Closed', 'PRISON', now())")
    births = ((dt.date(2004, 2, 29), 21), (dt.date(2000, 2, 29), 25), (dt.date(2003, 3, 1), 21))
    for i, (born, age) in enumerate(births):
        ya = await admin.fetchval(
            f"INSERT INTO {s}.young_adult (given_name, family_name, date_of_birth, care_status, entitlement_end_age) "
            "VALUES ('Leap', $1, $2, 'QUALIFYING', $3) RETURNING id", f"Awkward-{i}", born, age)
        for code in ("BSI", "OLD")[: 1 + (i == 2)]:
            await admin.execute(f"INSERT INTO {s}.enrolment (young_adult_id, site_id, status, referred_on) "
                                f"SELECT $1, id, 'REFERRED', DATE '2026-01-31' FROM {s}.site WHERE code = $2", ya, code)
        if i == 0:
            await admin.execute(f"INSERT INTO {s}.integrated_plan (young_adult_id) VALUES ($1)", ya)
        elif i == 1:
            plan = await admin.fetchval(f"INSERT INTO {s}.integrated_plan (young_adult_id) VALUES ($1) RETURNING id",
                                        ya)
            await admin.execute(f"INSERT INTO {s}.plan_version (plan_id, number, status, created_by) VALUES "
                                "($1, 1, 'SUPERSEDED', 'x'), ($1, 2, 'AGREED', 'x'), ($1, 3, 'DRAFT', 'x')", plan)


async def callers(admin: asyncpg.Connection, schema: str, login: CallerFactory,
                  tenant: object) -> dict[str, str]:
    """Tokens: a practitioner on the restricted record's team, one at the same site off its team, one elsewhere
    whose only way in is that team, a Lifelong Links coordinator at the site, and a tenant administrator."""
    s = f'"{schema}"'
    restricted = await admin.fetchval(f"SELECT id FROM {s}.young_adult WHERE access_restricted")
    out = {}
    for name, service, site in (("site", Service.PRISON, "BSI"), ("off_team", Service.PRISON, "BSI"),
                                ("team_elsewhere", Service.LEAVING_CARE, "BRM-LC"),
                                ("coordinator", Service.LIFELONG_LINKS, "BSI")):
        subject = f"{name}-{schema[-8:]}"
        out[name] = (await login(Role.PRACTITIONER, tenant, service=service, sites=(site,), subject=subject)).token
        if name in ("site", "team_elsewhere"):
            practitioner = await admin.fetchval(
                f"INSERT INTO {s}.practitioner (subject, given_name, family_name, service, role) "
                "VALUES ($1, 'P', 'Example', $2, 'POM') RETURNING id", subject, service.value)
            await admin.execute(f"INSERT INTO {s}.team_member (young_adult_id, practitioner_id, team_role) "
                                "VALUES ($1, $2, $3)", restricted, practitioner,
                                "OFFENDER_MANAGER" if name == "site" else "PERSONAL_ADVISER")
    out["admin"] = (await login(Role.TENANT_ADMIN, tenant)).token
    return out


async def run(client: httpx.AsyncClient, token: str, query: str, variables: Mapping[str, object],
              admin: asyncpg.Connection, schema: str) -> tuple[object, list[tuple[object, ...]], str | None]:
    response = await client.post("/graphql", json={"query": query, "variables": variables},
                                 headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 200, response.text
    rows = await admin.fetch(
        f'SELECT action, subject_type, subject_ids, young_adult_ids, fields, operation FROM "{schema}".audit_event '
        "WHERE request_id = $1", response.headers["x-request-id"])
    return response.json(), sorted(tuple(r) for r in rows), response.headers.get("x-executed-by")


@pytest.fixture
async def published(tmp_path: Path) -> Path:
    for operation, text in documents().items():
        (tmp_path / f"{operation}.graphql").write_text(text)
    return tmp_path


async def test_both_executors_agree_on_every_declared_field(
        make_tenant: TenantFactory, login: CallerFactory, admin_conn: asyncpg.Connection,
        client_with: ClientFactory, published: Path) -> None:
    tenant = await make_tenant()
    await seed(admin_conn, tenant.schema, "BSI", 6, restricted=2)
    await awkward(admin_conn, tenant.schema)
    tokens = await callers(admin_conn, tenant.schema, login, tenant)
    compiled = await client_with(operations_dir=published)
    plain = await client_with(operations_dir=published, compiled_documents=False)
    site = to_global_id("Site", await admin_conn.fetchval(
        f'SELECT id FROM "{tenant.schema}".site WHERE code = $1', "BSI"))
    shown: dict[str, set[int]] = {}
    for operation, text in documents().items():
        for who, token in tokens.items():
            for first in (4, 50) if who == "admin" else (50,):  # a short page too: cursors and hasNextPage
                variables = {"siteId": site, "first": first}
                ours, our_audit, executed = await run(compiled, token, text, variables, admin_conn, tenant.schema)
                theirs, their_audit, _ = await run(plain, token, text, variables, admin_conn, tenant.schema)
                assert executed == "compiled", operation
                assert ours == theirs, (operation, who, first)
                assert our_audit == their_audit, (operation, who, first)
                shown.setdefault(who, set()).add(len(ours["data"]["caseload"]["edges"]))  # type: ignore[index]
    # The callers see different records (so the comparison covers visibility, not one view five times).
    assert shown["admin"] == {4, 9}
    assert shown["site"] == {9}
    assert shown["off_team"] == {8}
    assert shown["team_elsewhere"] == {1}
