"""Sites and young adults through GraphQL: scope, pagination, create/update with optimistic concurrency."""

from __future__ import annotations

from typing import Any

import pytest

from service.kernel.principal import Role, Service
from tests.conftest import Caller, CallerFactory, TenantFactory
from tests.messages import count_statements

CREATE = """
mutation($input: CreateYoungAdultInput!) {
  createYoungAdult(input: $input) { youngAdult { id version familyName prisonNumber } errors { code field message } }
}"""
UPDATE = """
mutation($input: UpdateYoungAdultInput!) {
  updateYoungAdult(input: $input) { youngAdult { id version familyName } errors { code field message } }
}"""
PAGE = """
query($site: ID!, $first: Int!, $after: String) {
  youngAdults(siteId: $site, first: $first, after: $after) {
    edges { cursor node { id familyName enrolments { status site { code } } } }
    pageInfo { hasNextPage endCursor }
  }
}"""


async def site_ids(caller: Caller) -> dict[str, str]:
    return {s["code"]: s["id"] for s in (await caller.data("{ sites { id code } }"))["sites"]}


def person(site: str, family: str, **extra: Any) -> dict[str, Any]:
    return {"siteId": site, "givenName": "Sam", "familyName": family, "dateOfBirth": "2003-04-05",
            "careStatus": "RELEVANT", **extra}


async def create(caller: Caller, site: str, family: str, **extra: Any) -> dict[str, Any]:
    payload = (await caller.data(CREATE, {"input": person(site, family, **extra)}))["createYoungAdult"]
    assert payload["errors"] == [], payload
    result: dict[str, Any] = payload["youngAdult"]
    return result


async def test_create_then_page_through_a_site(make_tenant: TenantFactory, login: CallerFactory) -> None:
    tenant = await make_tenant()
    pom = await login(Role.PRACTITIONER, tenant, service=Service.PRISON, sites=("BSI",))
    sites = await site_ids(pom)
    for family in ["Example-C", "Example-A", "Example-E", "Example-B", "Example-D"]:
        await create(pom, sites["BSI"], family)
    seen, after = [], None
    while True:
        page = (await pom.data(PAGE, {"site": sites["BSI"], "first": 2, "after": after}))["youngAdults"]
        seen += [e["node"]["familyName"] for e in page["edges"]]
        assert all(e["node"]["enrolments"] == [{"status": "IDENTIFIED", "site": {"code": "BSI"}}]
                   for e in page["edges"])
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["pageInfo"]["endCursor"]
    assert seen == ["Example-A", "Example-B", "Example-C", "Example-D", "Example-E"]


@pytest.mark.parametrize("first", [0, 101, -1])
async def test_page_size_is_capped(make_tenant: TenantFactory, login: CallerFactory, first: int) -> None:
    tenant = await make_tenant()
    admin = await login(Role.TENANT_ADMIN, tenant)
    sites = await site_ids(admin)
    body = await admin(PAGE, {"site": sites["BSI"], "first": first})
    assert body["errors"][0]["extensions"] == {"code": "INVALID", "field": "first"}
    assert "between 1 and 100" in body["errors"][0]["message"]


async def test_bad_cursor_is_refused(make_tenant: TenantFactory, login: CallerFactory) -> None:
    tenant = await make_tenant()
    admin = await login(Role.TENANT_ADMIN, tenant)
    body = await admin(PAGE, {"site": (await site_ids(admin))["BSI"], "first": 5, "after": "bogus"})
    assert body["errors"][0]["extensions"]["field"] == "after"


async def test_practitioner_sees_only_their_sites(make_tenant: TenantFactory, login: CallerFactory) -> None:
    tenant = await make_tenant()
    admin = await login(Role.TENANT_ADMIN, tenant)
    sites = await site_ids(admin)
    in_prison = await create(admin, sites["BSI"], "Example-Prison")
    pa = await login(Role.PRACTITIONER, tenant, service=Service.LEAVING_CARE, sites=("BRM-LC",))

    refused = await pa(PAGE, {"site": sites["BSI"], "first": 5})
    assert refused["errors"][0]["message"] == "No such site."
    node = await pa.data("query($id: ID!) { node(id: $id) { id } }", {"id": in_prison["id"]})
    assert node["node"] is None
    stale = await pa.data(UPDATE, {"input": {"id": in_prison["id"], "version": 1, "familyName": "Changed"}})
    assert stale["updateYoungAdult"]["errors"][0]["code"] == "NOT_FOUND"
    create_elsewhere = await pa.data(CREATE, {"input": person(sites["BSI"], "Example-Sneak")})
    assert create_elsewhere["createYoungAdult"]["errors"][0]["code"] == "NOT_FOUND"


async def test_stale_version_is_refused_as_data_and_loses_nothing(make_tenant: TenantFactory,
                                                                   login: CallerFactory) -> None:
    tenant = await make_tenant()
    first = await login(Role.PRACTITIONER, tenant, service=Service.PRISON, sites=("BSI",))
    second = await login(Role.PRACTITIONER, tenant, service=Service.PRISON, sites=("BSI",))
    created = await create(first, (await site_ids(first))["BSI"], "Example-Original")

    ok = (await first.data(UPDATE, {"input": {"id": created["id"], "version": 1, "familyName": "Example-First"}}))
    assert ok["updateYoungAdult"]["youngAdult"]["version"] == 2
    late = (await second.data(UPDATE, {"input": {"id": created["id"], "version": 1, "familyName": "Example-Late"}}))
    assert late["updateYoungAdult"] == {"youngAdult": None, "errors": [
        {"code": "STALE_VERSION", "field": "version",
         "message": "This record was changed by someone else since you read it; reload it and try again."}]}
    now = await second.data("query($id: ID!) { node(id: $id) { ... on YoungAdult { familyName version } } }",
                            {"id": created["id"]})
    assert now["node"] == {"familyName": "Example-First", "version": 2}


@pytest.mark.parametrize(("change", "field"), [
    ({"prisonNumber": "12345"}, "prisonNumber"),
    ({"probationCrn": "CRN"}, "probationCrn"),
    ({"dateOfBirth": "2999-01-01"}, "dateOfBirth"),
    ({"familyName": "   "}, "familyName"),
    ({"entitlementEndAge": 30}, "entitlementEndAge"),
])
async def test_invalid_fields_are_refused_with_the_field_named(make_tenant: TenantFactory, login: CallerFactory,
                                                               change: dict[str, Any], field: str) -> None:
    tenant = await make_tenant()
    admin = await login(Role.TENANT_ADMIN, tenant)
    payload = (await admin.data(CREATE, {"input": person((await site_ids(admin))["BSI"], "Example-X", **change)}))
    assert payload["createYoungAdult"]["youngAdult"] is None
    assert [(e["code"], e["field"]) for e in payload["createYoungAdult"]["errors"]] == [("INVALID", field)]


async def test_duplicate_prison_number_is_a_conflict_and_writes_nothing(make_tenant: TenantFactory,
                                                                        login: CallerFactory) -> None:
    tenant = await make_tenant()
    admin = await login(Role.TENANT_ADMIN, tenant)
    site = (await site_ids(admin))["BSI"]
    await create(admin, site, "Example-One", prisonNumber="A1234BC")
    dup = (await admin.data(CREATE, {"input": person(site, "Example-Two", prisonNumber="a1234bc")}))
    assert dup["createYoungAdult"]["errors"][0]["code"] == "CONFLICT"
    page = (await admin.data(PAGE, {"site": site, "first": 10}))["youngAdults"]["edges"]
    assert [e["node"]["familyName"] for e in page] == ["Example-One"]


async def test_statements_per_page_do_not_grow_with_page_size(make_tenant: TenantFactory, login: CallerFactory,
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    tenant = await make_tenant()
    admin = await login(Role.TENANT_ADMIN, tenant)
    site = (await site_ids(admin))["BSI"]
    for i in range(12):
        await create(admin, site, f"Example-{i:02d}")

    counts = count_statements(monkeypatch)
    for first in (2, 12):
        counts.clear()
        page = (await admin.data(PAGE, {"site": site, "first": first}))["youngAdults"]["edges"]
        assert len(page) == first
        by_size = counts[0]
        if first == 2:
            small = by_size
    assert by_size == small, (small, by_size)
