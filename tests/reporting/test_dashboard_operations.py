"""The dashboard's queries are published operations, so it works where only trusted documents are accepted."""

from __future__ import annotations

import httpx

from service.api.trusted import published_operations
from service.kernel.principal import Role
from tests.conftest import CallerFactory, ClientFactory
from tests.operations import OPERATIONS, document

VARIABLES = {
    "DashboardCatalogue": {},
    "DashboardPeriods": {"g": "MONTH"},
    "DashboardHeadline": {"m": "referrals", "g": "MONTH", "p": "2019-01-01"},
    "DashboardSeries": {"m": "referrals", "g": "MONTH", "f": "2019-01-01", "t": "2019-06-01"},
    "DashboardComparison": {"m": "referrals", "g": "MONTH", "p": "2019-01-01"},
}


async def test_every_dashboard_operation_is_served_and_accepted_as_a_trusted_document(
        client_with: ClientFactory, login: CallerFactory) -> None:
    trusted = await client_with(trusted_documents=True)
    served = (await trusted.get("/dashboard/operations.json")).json()
    assert served == {name: path.read_text() for name, path in published_operations(OPERATIONS).items()
                      if name.startswith("Dashboard")}
    assert set(served) == set(VARIABLES)

    analyst = await login(Role.NATIONAL_ANALYST)
    headers = {"Authorization": f"Bearer {analyst.token}"}
    for name, variables in VARIABLES.items():
        response = await trusted.post("/graphql", json={"query": served[name], "variables": variables},
                                      headers=headers)
        assert response.status_code == 200, (name, response.text)
        assert "errors" not in response.json(), (name, response.json())
    refused = await trusted.post("/graphql", json={"query": "{ metricCatalogue { key } }"}, headers=headers)
    assert refused.json()["errors"][0]["extensions"]["code"] == "PERSISTED_QUERY_NOT_FOUND"
    assert document("DashboardPeriods") == served["DashboardPeriods"]


async def test_the_dashboard_page_loads_no_query_of_its_own(client: httpx.AsyncClient) -> None:
    script = (await client.get("/dashboard/static/dashboard.js")).text
    assert "query(" not in script
    assert "{ metricCatalogue" not in script
