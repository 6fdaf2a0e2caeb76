"""The named operations a regional front-end uses (graphql/operations/*.graphql), run from tests so they cannot rot:
every run is recorded, and tests/test_operations.py checks that each file was run and valid."""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

from service.api.trusted import published_operations
from tests.conftest import Caller

OPERATIONS = Path(__file__).resolve().parent.parent / "graphql" / "operations"


def names() -> list[str]:
    return list(published_operations(OPERATIONS))


# Operations whose own feature suites run every one of them (tests/network/world.py checks the Network and Consent
# files; tests/rules/test_published_operations.py the practice-rule ones; tests/api/test_compiled.py CaseloadPage;
# tests/reporting/test_dashboard_operations.py the dashboard's; tests/tenant_admin/test_bring_in.py
# BringInPractitioner; tests/audit/test_audit_queries.py AuditEvents, AuditEventsCsv and PlatformAuditTrail;
# tests/moves/test_moves.py the moves').
# The walk in tests/test_operations.py runs the rest; tests/api/test_operation_coverage.py runs the administrators'
# and the national team's (ADMINISTRATION).
# Run by tests/api/test_operation_coverage.py, through trusted documents.
ADMINISTRATION = (
    "Me", "Tenants", "RuleTemplates", "OnboardTenant", "AddTenantSites", "TenantSites", "GrantTenantAdmin",
    "OnboardingChecklist", "ActivateTenant", "SuspendTenant", "ReactivateTenant", "ArchiveTenant", "DeleteTenant",
    "RefreshAllReporting", "AddSite", "RenameSite", "CloseSite", "GrantRole", "RevokeRole", "TenantUsers",
    "RefreshReporting", "OwnTenantMetric", "OwnTenantSeries", "TenantComparison")
RUN_BY_FEATURE_SUITES = ("Network", "Consent", "CaseloadPage", "Dashboard", "RuleCatalogue", "PracticeRules",
                         "PracticeRuleHistory", "PreviewPracticeRuleChanges", "ChangePracticeRules", "DueCaseload",
                         "SiteCompliance", "BringInPractitioner", "AuditEvents", "PlatformAuditTrail",
                         "TransferSite", "RecordHandover", "RequestTenantTransfer", "WithdrawTenantTransfer",
                         "AcceptTenantTransfer", "DeclineTenantTransfer", "TenantTransfers", "YoungAdultMoves",
                         "RecordOutcomeCheckIn", "MyWork", *ADMINISTRATION)


@cache
def document(name: str) -> str:
    return published_operations(OPERATIONS)[name].read_text()


class Operations:
    """Runs named operations as a caller and remembers which ran."""

    def __init__(self) -> None:
        self.ran: set[str] = set()

    async def data(self, caller: Caller, name: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
        """The operation's data; fails on any GraphQL error."""
        self.ran.add(name)
        return await caller.data(document(name), variables)

    async def ok(self, caller: Caller, name: str, input_: dict[str, Any]) -> dict[str, Any]:
        """Run a mutation (one `input`) and return its payload, failing if the payload carries errors."""
        payload = await self.payload(caller, name, input_)
        assert payload["errors"] == [], (name, payload["errors"])
        return payload

    async def payload(self, caller: Caller, name: str, input_: dict[str, Any]) -> dict[str, Any]:
        data = await self.data(caller, name, {"input": input_})
        payload: dict[str, Any] = data[name[0].lower() + name[1:]]
        return payload

    async def raw(self, caller: Caller, name: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
        """The whole response body (data and errors), for callers expected to be refused."""
        self.ran.add(name)
        return await caller(document(name), variables)
