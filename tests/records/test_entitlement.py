"""The entitlement end date: the birthday at the entitlement end age, 1 March for a 29 February birthday in a
common year. One definition (the generated column), read by both executors."""

from __future__ import annotations

import pytest

from service.kernel.principal import Role, Service
from tests.conftest import CallerFactory, TenantFactory

CREATE = ("mutation($i: CreateYoungAdultInput!) { createYoungAdult(input: $i) { "
          "youngAdult { id entitlementEndDate } errors { code } } }")
UPDATE = ("mutation($i: UpdateYoungAdultInput!) { updateYoungAdult(input: $i) { "
          "youngAdult { entitlementEndDate } errors { code } } }")


@pytest.mark.parametrize(("born", "age", "ends"), [
    ("2004-02-29", 21, "2025-03-01"), ("2004-02-29", 25, "2029-03-01"), ("2000-02-29", 21, "2021-03-01"),
    ("2003-03-01", 21, "2024-03-01"), ("2003-02-28", 25, "2028-02-28"), ("2003-12-31", 21, "2024-12-31"),
])
async def test_entitlement_end_date(make_tenant: TenantFactory, login: CallerFactory, born: str, age: int,
                                    ends: str) -> None:
    tenant = await make_tenant()
    pom = await login(Role.PRACTITIONER, tenant, service=Service.PRISON, sites=("BSI",))
    site = next(s["id"] for s in (await pom.data("{ sites { id code } }"))["sites"] if s["code"] == "BSI")
    created = (await pom.data(CREATE, {"i": {"siteId": site, "givenName": "Sam", "familyName": "Example",
                                             "dateOfBirth": born, "careStatus": "RELEVANT",
                                             "entitlementEndAge": age}}))["createYoungAdult"]["youngAdult"]
    assert created["entitlementEndDate"] == ends
    read = await pom.data("query($id: ID!) { youngAdult(id: $id) { entitlementEndDate } }", {"id": created["id"]})
    assert read["youngAdult"]["entitlementEndDate"] == ends
    # The date follows a change of the end age (the column is generated, never stale).
    other = 25 if age == 21 else 21
    changed = await pom.data(UPDATE, {"i": {"id": created["id"], "version": 1, "entitlementEndAge": other}})
    assert changed["updateYoungAdult"]["youngAdult"]["entitlementEndDate"][:4] == str(int(born[:4]) + other)
