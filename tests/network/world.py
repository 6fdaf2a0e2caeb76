"""A tenant set up for support-network tests, and a runner for the published operations in graphql/operations.

Sites, practitioner records (matched to the signed-in users by subject), the personal adviser's place on the team,
enrolments at other sites and integrated-plan goals are written as superuser: the APIs for them belong to other
features. Everything the network feature does is driven through GraphQL with the published operations.
"""

from __future__ import annotations

import datetime as dt
import secrets
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import asyncpg

from service.api.relay import from_global_id, to_global_id
from service.api.trusted import published_operations
from service.kernel import clock
from service.kernel.principal import Role, Service
from service.kernel.tenancy import Tenant
from tests.conftest import Caller, CallerFactory, TenantFactory

ROOT = Path(__file__).resolve().parents[2]
OPERATIONS = ROOT / "graphql" / "operations"
TODAY = clock.today()
SITES = (("BSI", "HMP Brinsford", "PRISON"), ("BRM-LC", "Birmingham leaving care", "LEAVING_CARE"),
         ("BHM-PDU", "Birmingham probation delivery unit", "PROBATION"),
         ("WM-LL", "West Midlands Lifelong Links service", "LIFELONG_LINKS"))
STAFF = {  # who: (service, site, practitioner role)
    "coordinator": (Service.LIFELONG_LINKS, "WM-LL", "LIFELONG_LINKS_COORDINATOR"),
    "pa": (Service.LEAVING_CARE, "BRM-LC", "PERSONAL_ADVISER"),
    "other_pa": (Service.LEAVING_CARE, "BRM-LC", "PERSONAL_ADVISER"),
    "com": (Service.PROBATION, "BHM-PDU", "COM"),
    "pom": (Service.PRISON, "BSI", "POM"),
}


def day(offset: int) -> str:
    return (TODAY + dt.timedelta(days=offset)).isoformat()


def raw_id(global_id: str) -> uuid.UUID:
    decoded = from_global_id(global_id)
    assert decoded is not None
    return decoded[1]


def operation_files() -> dict[str, str]:
    """The network and consent operations, by name (one named operation per file, named like the file)."""
    return {name: path.read_text() for name, path in published_operations(OPERATIONS).items()
            if name.startswith(("Network", "Consent"))}


@dataclass
class Operations:
    """Runs published operations by name and remembers which ran."""

    texts: dict[str, str] = field(default_factory=operation_files)
    used: set[str] = field(default_factory=set)

    async def raw(self, caller: Caller, name: str, variables: dict[str, Any]) -> dict[str, Any]:
        self.used.add(name)
        return await caller(self.texts[name], variables)

    async def __call__(self, caller: Caller, name: str, variables: dict[str, Any]) -> dict[str, Any]:
        self.used.add(name)
        return await caller.data(self.texts[name], variables)

    async def ok(self, caller: Caller, name: str, input_: dict[str, Any]) -> dict[str, Any]:
        """Run a mutation operation; assert it was accepted and return its payload's object."""
        data = await self(caller, name, {"input": input_})
        (payload,) = data.values()
        assert payload["errors"] == [], (name, payload["errors"])
        result = next(v for k, v in payload.items() if k != "errors")
        assert isinstance(result, dict)
        return result

    async def refused(self, caller: Caller, name: str, input_: dict[str, Any]) -> dict[str, Any]:
        """Run a mutation operation expected to be refused as data; return its single error."""
        data = await self(caller, name, {"input": input_})
        (payload,) = data.values()
        assert len(payload["errors"]) == 1, (name, payload)
        assert all(v is None for k, v in payload.items() if k != "errors")
        error: dict[str, Any] = payload["errors"][0]
        return error

    async def refusals(self, caller: Caller, name: str, input_: dict[str, Any]) -> list[tuple[str, str]]:
        """Run a mutation expected to be refused as data; every error's (code, message), in order."""
        data = await self(caller, name, {"input": input_})
        (payload,) = data.values()
        assert payload["errors"], (name, payload)
        assert all(v is None for k, v in payload.items() if k != "errors")
        return [(e["code"], e["message"]) for e in payload["errors"]]


@dataclass
class World:
    tenant: Tenant
    sites: dict[str, str]
    staff: dict[str, Caller]
    practitioners: dict[str, str]  # global ids
    subjects: dict[str, str]
    admin: Caller
    young_adult: str
    ops: Operations


async def build_world(make_tenant: TenantFactory, login: CallerFactory, admin_conn: asyncpg.Connection,
                      ops: Operations | None = None) -> World:
    tenant = await make_tenant(sites=SITES)
    schema = tenant.schema
    staff: dict[str, Caller] = {}
    practitioners: dict[str, str] = {}
    subjects: dict[str, str] = {}
    for who, (service, site, role) in STAFF.items():
        subject = subjects[who] = f"{who}-{secrets.token_hex(4)}"
        staff[who] = await login(Role.PRACTITIONER, tenant, service=service, sites=(site,), subject=subject)
        practitioner_id = await admin_conn.fetchval(
            f'INSERT INTO "{schema}".practitioner (subject, given_name, family_name, service, role) '
            "VALUES ($1, 'Sam', $2, $3, $4) RETURNING id", subject, f"Example-{who}", service.value, role)
        await admin_conn.execute(
            f'INSERT INTO "{schema}".practitioner_site (practitioner_id, site_id) '
            f'SELECT $1, id FROM "{schema}".site WHERE code = $2', practitioner_id, site)
        practitioners[who] = to_global_id("Practitioner", practitioner_id)
    subjects["tenant_admin"] = f"admin-{secrets.token_hex(4)}"
    admin = await login(Role.TENANT_ADMIN, tenant, subject=subjects["tenant_admin"])
    sites = {s["code"]: s["id"] for s in (await admin.data("{ sites { id code } }"))["sites"]}
    created = await staff["pom"].data(
        "mutation($i: CreateYoungAdultInput!) { createYoungAdult(input: $i) { youngAdult { id } errors { code } } }",
        {"i": {"siteId": sites["BSI"], "givenName": "Sam", "familyName": "Example-Network",
               "dateOfBirth": "2003-04-05", "careStatus": "RELEVANT"}})
    young_adult = created["createYoungAdult"]["youngAdult"]["id"]
    ya = raw_id(young_adult)
    await admin_conn.execute(
        f'INSERT INTO "{schema}".enrolment (young_adult_id, site_id) '
        f"SELECT $1, id FROM \"{schema}\".site WHERE code = ANY($2::text[])", ya, ["BRM-LC", "BHM-PDU"])
    await admin_conn.execute(
        f'INSERT INTO "{schema}".team_member (young_adult_id, practitioner_id, team_role) '
        "VALUES ($1, $2, 'PERSONAL_ADVISER')", ya, raw_id(practitioners["pa"]))
    return World(tenant, sites, staff, practitioners, subjects, admin, young_adult, ops or Operations())


async def plan_goal(admin_conn: asyncpg.Connection, world: World, description: str, action: str,
                    ) -> tuple[uuid.UUID, uuid.UUID]:
    """An integrated-plan goal with one action (written as superuser); returns their lineage ids."""
    schema = world.tenant.schema
    ya = raw_id(world.young_adult)
    plan = await admin_conn.fetchval(
        f'INSERT INTO "{schema}".integrated_plan (young_adult_id) VALUES ($1) '
        "ON CONFLICT (young_adult_id) DO UPDATE SET version = integrated_plan.version RETURNING id", ya)
    version = await admin_conn.fetchval(
        f'INSERT INTO "{schema}".plan_version (plan_id, number, created_by) VALUES ($1, 1, \'test\') '
        "ON CONFLICT (plan_id, number) DO UPDATE SET number = 1 RETURNING id", plan)
    goal = await admin_conn.fetchrow(
        f'INSERT INTO "{schema}".plan_goal (plan_version_id, pathway, description) '
        "VALUES ($1, 'ACCOMMODATION', $2) RETURNING id, lineage_id", version, description)
    assert goal is not None
    action_lineage = await admin_conn.fetchval(
        f'INSERT INTO "{schema}".plan_action (plan_goal_id, description, owner_service) '
        "VALUES ($1, $2, 'LEAVING_CARE') RETURNING lineage_id", goal["id"], action)
    return goal["lineage_id"], action_lineage


async def open_case(world: World, referred: int = -60) -> dict[str, Any]:
    return await world.ops.ok(world.staff["pa"], "NetworkReferToLifelongLinks", {
        "youngAdultId": world.young_adult, "siteId": world.sites["WM-LL"],
        "coordinatorId": world.practitioners["coordinator"], "referredOn": day(referred)})


async def add_member(world: World, case_id: str, *, given: str = "Pat", relationship: str = "RELATIVE",
                     known_before: bool = False, identified: int = -50, **contact: str) -> dict[str, Any]:
    return await world.ops.ok(world.staff["coordinator"], "NetworkAddMember", {
        "caseId": case_id, "givenName": given, "familyName": "Example-Member", "relationship": relationship,
        "knownBefore": known_before, "identifiedOn": day(identified), **contact})


async def move(world: World, who: str, member: dict[str, Any], status: str, when: int) -> dict[str, Any]:
    """Move a member's status (updating the version held in ``member``)."""
    moved = await world.ops.ok(world.staff[who], "NetworkMoveMemberStatus", {
        "id": member["id"], "version": member["version"], "status": status, "changedOn": day(when)})
    member["version"] = moved["version"]
    return moved
