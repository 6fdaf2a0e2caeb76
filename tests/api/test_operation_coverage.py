"""Every root field of Query and Mutation is used by a published operation, or listed with its reason in
graphql/not-for-front-ends.txt; operations are grouped by audience; trusted-documents mode accepts exactly them.

The coverage check walks the schema's root fields, so a field added later without an operation fails it."""

from __future__ import annotations

import hashlib
import secrets
from pathlib import Path
from typing import Any

import httpx
import pytest
from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    InlineFragmentNode,
    OperationDefinitionNode,
    OperationType,
    SelectionSetNode,
    parse,
)

from service.api.trusted import TrustedDocumentsError, published_operations
from service.app.auth import DevIssuer
from service.app.schema import schema
from service.kernel.principal import Role, Service
from tests.conftest import Caller, CallerFactory, ClientFactory, TenantFactory
from tests.operations import ADMINISTRATION, OPERATIONS, Operations, document

AUDIENCES = ("everyone", "practitioners", "tenant-admin", "platform-admin", "national")
NOT_FOR_FRONT_ENDS = OPERATIONS.parent / "not-for-front-ends.txt"


def root_fields(ast: DocumentNode) -> set[str]:
    """The Query.x / Mutation.x fields an operation document selects at its root (through fragments too)."""
    fragments = {d.name.value: d for d in ast.definitions if isinstance(d, FragmentDefinitionNode)}

    def walk(selections: SelectionSetNode, root: str) -> set[str]:
        found: set[str] = set()
        for s in selections.selections:
            if isinstance(s, FieldNode) and not s.name.value.startswith("__"):
                found.add(f"{root}.{s.name.value}")
            elif isinstance(s, InlineFragmentNode):
                found |= walk(s.selection_set, root)
            elif isinstance(s, FragmentSpreadNode):
                found |= walk(fragments[s.name.value].selection_set, root)
        return found

    used: set[str] = set()
    for d in ast.definitions:
        if isinstance(d, OperationDefinitionNode):
            used |= walk(d.selection_set, "Mutation" if d.operation is OperationType.MUTATION else "Query")
    return used


def listed() -> dict[str, str]:
    out = {}
    for line in NOT_FOR_FRONT_ENDS.read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            name, _, reason = line.partition(" ")
            out[name] = reason.strip()
    return out


def test_every_root_field_is_published_or_listed_as_not_for_front_ends() -> None:
    gql = schema._schema
    assert gql.query_type is not None
    assert gql.mutation_type is not None
    fields = {f"Query.{n}" for n in gql.query_type.fields} | {f"Mutation.{n}" for n in gql.mutation_type.fields}
    published: set[str] = set()
    for path in published_operations(OPERATIONS).values():
        published |= root_fields(parse(path.read_text()))
    exempt = listed()

    assert sorted(fields - published - set(exempt)) == [], \
        "root fields with no published operation (publish one, or list it with a reason in not-for-front-ends.txt)"
    assert sorted(set(exempt) - fields) == [], "listed fields that the schema does not have"
    assert sorted(set(exempt) & published) == [], "listed as not for front-ends, yet published: take it off the list"
    assert all(len(reason) > 20 for reason in exempt.values()), "every listed field says why"


def test_the_walk_sees_fields_behind_fragments() -> None:
    ast = parse("query A { ...F } fragment F on Query { me { role } ... on Query { tenants { slug } } }")
    assert root_fields(ast) == {"Query.me", "Query.tenants"}


def test_operations_are_grouped_by_audience_under_unique_names() -> None:
    paths = sorted(OPERATIONS.rglob("*.graphql"))
    outside = [str(p.relative_to(OPERATIONS)) for p in paths if p.parent.parent != OPERATIONS
               or p.parent.name not in AUDIENCES]
    assert outside == [], f"every operation lives in one audience folder {AUDIENCES}"
    assert len(published_operations(OPERATIONS)) == len(paths)


def test_two_operations_with_one_name_are_refused(tmp_path: Path) -> None:
    for folder in ("practitioners", "tenant-admin"):
        (tmp_path / folder).mkdir()
        (tmp_path / folder / "Sites.graphql").write_text("query Sites { sites { code } }\n")
    with pytest.raises(TrustedDocumentsError, match="already published"):
        published_operations(tmp_path)


async def post(client: httpx.AsyncClient, token: str, body: dict[str, Any]) -> httpx.Response:
    return await client.post("/graphql", json=body, headers={"Authorization": f"Bearer {token}"})


def untrusted(response: httpx.Response) -> bool:
    return response.status_code == 400 and \
        response.json()["errors"][0]["extensions"]["code"] == "PERSISTED_QUERY_NOT_FOUND"


async def test_trusted_mode_accepts_exactly_the_published_operations(
        client_with: ClientFactory, make_tenant: TenantFactory, login: CallerFactory) -> None:
    trusted = await client_with(trusted_documents=True)
    token = (await login(Role.TENANT_ADMIN, await make_tenant())).token
    for name, path in published_operations(OPERATIONS).items():
        text = path.read_text()
        by_id = await post(trusted, token, {"documentId": hashlib.sha256(text.encode()).hexdigest()})
        assert not untrusted(by_id), name
        assert not untrusted(await post(trusted, token, {"query": text})), name
        # The same operation, one character off, is not published.
        assert untrusted(await post(trusted, token, {"query": text.rstrip() + " \n"})), name
    for field in listed():  # the deliberately unpublished fields cannot be reached at all
        root, _, name = field.partition(".")
        query = f"{'mutation' if root == 'Mutation' else 'query'} {{ {name} }}"
        assert untrusted(await post(trusted, token, {"query": query})), field


def trusted_caller(client: httpx.AsyncClient, caller: Caller) -> Caller:
    return Caller(client, caller.token)


async def test_administrators_work_through_published_operations_in_trusted_mode(
        client_with: ClientFactory, make_tenant: TenantFactory, login: CallerFactory, issuer: DevIssuer) -> None:
    trusted = await client_with(trusted_documents=True)
    ops = Operations()
    platform = trusted_caller(trusted, await login(Role.PLATFORM_ADMIN))
    slug = f"ne-{secrets.token_hex(4)}"
    admin_subject = f"admin-{slug}"
    onboard = {"slug": slug, "name": "North East", "kind": "REGION", "ruleTemplate": "defaults",
               "sites": [{"code": "DUR", "name": "HMP Durham", "kind": "PRISON"}],
               "admins": [{"subject": admin_subject}]}
    # By document id, as a production front-end sends it.
    response = await post(trusted, platform.token, {
        "documentId": hashlib.sha256(document("OnboardTenant").encode()).hexdigest(), "variables": {"input": onboard}})
    ops.ran.add("OnboardTenant")
    done = response.json()["data"]["onboardTenant"]
    assert done["errors"] == []
    assert done["tenant"]["status"] == "ACTIVE"
    assert {s["action"] for s in done["steps"]} >= {"CREATE_TENANT", "ADD_SITE", "GRANT_ADMIN", "ACTIVATE"}
    again = await ops.ok(platform, "OnboardTenant", onboard)
    assert {s["outcome"] for s in again["steps"]} == {"ALREADY_DONE"}

    assert slug in {t["slug"] for t in (await ops.data(platform, "Tenants"))["tenants"]}
    assert "defaults" in {t["name"] for t in (await ops.data(platform, "RuleTemplates"))["ruleTemplates"]}
    await ops.ok(platform, "AddTenantSites", {"slug": slug, "sites": [
        {"code": "NE-LC", "name": "Newcastle leaving care", "kind": "LEAVING_CARE"}]})
    assert {s["code"] for s in (await ops.data(platform, "TenantSites", {"slug": slug}))["tenantSites"]} == \
        {"DUR", "NE-LC"}
    await ops.ok(platform, "GrantTenantAdmin", {"slug": slug, "subject": f"second-{slug}"})
    checklist = (await ops.data(platform, "OnboardingChecklist", {"slug": slug}))["onboardingChecklist"]
    assert "PRACTITIONER" in checklist["missing"]

    admin = Caller(trusted, issuer.issue(admin_subject, slug))  # onboarding granted the role
    me = (await ops.data(admin, "Me"))["me"]
    assert (me["role"], me["tenant"]) == ("TENANT_ADMIN", slug)
    site = (await ops.ok(admin, "AddSite", {"code": "NE-PDU", "name": "Newcastle PDU", "kind": "PROBATION"}))["site"]
    site = (await ops.ok(admin, "RenameSite", {"id": site["id"], "version": site["version"],
                                               "name": "Newcastle probation"}))["site"]
    assert (await ops.ok(admin, "CloseSite", {"id": site["id"], "version": site["version"]}))["site"]["closed"]
    await ops.ok(admin, "GrantRole", {"subject": f"pom-{slug}", "role": "PRACTITIONER", "service": "PRISON",
                                      "siteCodes": ["DUR"]})
    await ops.ok(admin, "RevokeRole", {"subject": f"pom-{slug}"})
    users = {u["subject"]: u for u in (await ops.data(admin, "TenantUsers"))["tenantUsers"]}
    assert users[f"pom-{slug}"]["active"] is False
    refreshed = await ops.ok(admin, "RefreshReporting", {})
    assert [r["tenant"] for r in refreshed["refreshed"]] == [slug]
    await ops.data(admin, "OwnTenantMetric", {"metric": "referrals", "grain": "MONTH", "periodStart": "2024-01-01"})
    await ops.data(admin, "OwnTenantSeries", {"metric": "referrals", "grain": "MONTH", "from": "2024-01-01",
                                              "to": "2024-03-01"})

    everywhere = (await ops.data(platform, "RefreshAllReporting", {"input": {"tenant": slug}}))["refreshReporting"]
    assert everywhere["errors"] == []
    assert [r["tenant"] for r in everywhere["refreshed"]] == [slug]
    analyst = trusted_caller(trusted, await login(Role.NATIONAL_ANALYST))
    compared = await ops.data(analyst, "TenantComparison", {"metric": "referrals", "grain": "MONTH",
                                                           "from": "2024-01-01", "to": "2024-03-01",
                                                           "tenants": [slug]})
    assert [s["key"] for s in compared["tenantComparison"]] == [slug]

    for step, status in (("SuspendTenant", "SUSPENDED"), ("ReactivateTenant", "ACTIVE"),
                         ("ArchiveTenant", "ARCHIVED")):
        assert (await ops.ok(platform, step, {"slug": slug}))["tenant"]["status"] == status
    assert (await ops.ok(platform, "DeleteTenant", {"slug": slug, "confirmSlug": slug}))["outcome"] == "UPDATED"

    later = {**onboard, "slug": f"{slug}-w", "name": "Women's initiative", "kind": "COHORT", "activate": False}
    assert (await ops.ok(platform, "OnboardTenant", later))["tenant"]["status"] == "PROVISIONING"
    assert (await ops.ok(platform, "ActivateTenant", {"slug": later["slug"]}))["tenant"]["status"] == "ACTIVE"
    pa = trusted_caller(trusted, await login(Role.PRACTITIONER, await make_tenant(), service=Service.LEAVING_CARE,
                                             sites=("BRM-LC",)))
    assert (await ops.data(pa, "Me"))["me"]["service"] == "LEAVING_CARE"

    assert sorted(set(ADMINISTRATION) - ops.ran) == []

