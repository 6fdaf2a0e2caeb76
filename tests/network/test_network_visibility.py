"""A network member, meeting, commitment, case or consent of a young adult the caller may not see is never shown,
whichever way it is reached: ``node(id:)``, the list roots by young adult, fields nested under a record the caller
does see (a meeting attended by another young adult's member, a consent naming one), and the network loaders
themselves, whatever they are keyed by (visibility from the types' declarations, not from the caller's care)."""

from __future__ import annotations

import uuid
from typing import Any

import asyncpg
import pytest

from service.api.relay import to_global_id
from service.consent import loaders as consent_loaders
from service.kernel import clock
from service.kernel.database import Database
from service.kernel.principal import Principal, Role, Service
from service.kernel.work import UnitOfWork
from service.network import loaders
from tests.conftest import CallerFactory, ClientFactory, TenantFactory
from tests.operations import document


async def _world(admin: asyncpg.Connection, schema: str) -> dict[str, uuid.UUID]:
    """Two young adults at BSI: ``seen`` and ``hidden`` (restricted, its team elsewhere). The hidden one has a case,
    a member with contact consent and a commitment, and a meeting the member attended; the seen one has a meeting
    the hidden one's member attended and a consent naming that member (nothing in the database forbids either)."""
    s = f'"{schema}"'
    ids: dict[str, uuid.UUID] = {}
    for name, restricted in (("seen", False), ("hidden", True)):
        ids[name] = await admin.fetchval(
            f"INSERT INTO {s}.young_adult (given_name, family_name, date_of_birth, care_status, access_restricted) "
            "VALUES ('Sam', $1, '2003-01-02', 'RELEVANT', $2) RETURNING id", name, restricted)
        await admin.execute(f"INSERT INTO {s}.enrolment (young_adult_id, site_id) SELECT $1, id FROM {s}.site "
                            "WHERE code = 'BSI'", ids[name])
    hidden = ids["hidden"]
    ids["case"] = await admin.fetchval(f"INSERT INTO {s}.lifelong_links_case (young_adult_id, referred_on) "
                                       "VALUES ($1, DATE '2026-01-05') RETURNING id", hidden)
    ids["member"] = await admin.fetchval(
        f"INSERT INTO {s}.network_member (young_adult_id, case_id, given_name, relationship, known_before, phone) "
        "VALUES ($1, $2, 'Aunt', 'RELATIVE', true, '07700 900001') RETURNING id", hidden, ids["case"])
    ids["commitment"] = await admin.fetchval(
        f"INSERT INTO {s}.network_commitment (member_id, goal_lineage_id, description) VALUES ($1, $2, 'Sundays') "
        "RETURNING id", ids["member"], uuid.uuid4())
    for owner in ("hidden", "seen"):
        ids[f"meeting_{owner}"] = await admin.fetchval(
            f"INSERT INTO {s}.meeting (young_adult_id, kind, held_on) VALUES ($1, 'LIFELONG_LINKS', "
            "DATE '2026-02-01') RETURNING id", ids[owner])
        await admin.execute(f"INSERT INTO {s}.meeting_attendee (meeting_id, network_member_id) VALUES ($1, $2)",
                            ids[f"meeting_{owner}"], ids["member"])
        ids[f"consent_{owner}"] = await admin.fetchval(
            f"INSERT INTO {s}.consent (young_adult_id, network_member_id, purpose, granted_on, recorded_by) "
            "VALUES ($1, $2, $3, DATE '2026-01-06', 'x') RETURNING id", ids[owner], ids["member"],
            "CONTACT" if owner == "hidden" else "PARTICIPATION")
    ids["review"] = await admin.fetchval(f"INSERT INTO {s}.meeting (young_adult_id, kind, held_on) "
                                         "VALUES ($1, 'REVIEW', DATE '2026-02-02') RETURNING id", ids["seen"])
    await admin.execute(f"INSERT INTO {s}.meeting_attendee (meeting_id, network_member_id) VALUES ($1, $2)",
                        ids["review"], ids["member"])
    return ids


async def test_the_compiled_record_shows_no_attendee_of_an_invisible_young_adult(
        make_tenant: TenantFactory, login: CallerFactory, admin_conn: asyncpg.Connection,
        client_with: ClientFactory) -> None:
    """The published record, compiled and not: a meeting of a record the caller sees, attended by a member of one
    they do not see, lists the attendee without the member (Meeting's relation is declared leaves_record)."""
    tenant = await make_tenant()
    ids = await _world(admin_conn, tenant.schema)
    off_team = await login(Role.PRACTITIONER, tenant, service=Service.PRISON, sites=("BSI",))
    answers, executed = [], []
    for compiled in (True, False):
        client = await client_with(compiled_documents=compiled)
        response = await client.post("/graphql", json={"query": document("YoungAdultRecord"), "variables": {
            "id": to_global_id("YoungAdult", ids["seen"])}}, headers={"Authorization": f"Bearer {off_team.token}"})
        answers.append(response.json())
        executed.append(response.headers.get("x-executed-by"))
    assert executed == ["compiled", None]
    assert answers[0] == answers[1]
    meetings = answers[0]["data"]["youngAdult"]["meetings"]
    assert [a["networkMember"] for m in meetings for a in m["attendees"]] == [None, None]  # both meetings


async def test_nothing_of_an_invisible_young_adult_through_graphql(
        make_tenant: TenantFactory, login: CallerFactory, admin_conn: asyncpg.Connection) -> None:
    tenant = await make_tenant()
    ids = await _world(admin_conn, tenant.schema)
    off_team = await login(Role.PRACTITIONER, tenant, service=Service.PRISON, sites=("BSI",),
                           subject=f"off-team-{tenant.slug}")
    admin = await login(Role.TENANT_ADMIN, tenant)
    hidden, seen = to_global_id("YoungAdult", ids["hidden"]), to_global_id("YoungAdult", ids["seen"])
    member = to_global_id("NetworkMember", ids["member"])

    for type_name, key in (("NetworkMember", "member"), ("NetworkCommitment", "commitment"),
                           ("NetworkMeeting", "meeting_hidden"), ("LifelongLinksCase", "case"),
                           ("Consent", "consent_hidden")):
        query = "query($id: ID!) { node(id: $id) { id } }"
        variables = {"id": to_global_id(type_name, ids[key])}
        assert (await off_team.data(query, variables))["node"] is None, type_name
        assert (await admin.data(query, variables))["node"] is not None, type_name  # it exists

    for root in ("networkMembers", "networkMeetings", "commitmentsForYoungAdult", "lifelongLinksCase", "consents"):
        body = await off_team(f"query($y: ID!) {{ {root}(youngAdultId: $y) {{ id }} }}", {"y": hidden})
        assert body["errors"][0]["extensions"]["code"] == "NOT_FOUND", root

    nested = ("query($y: ID!) { networkMeetings(youngAdultId: $y) { id members { id } } "
              "consents(youngAdultId: $y) { id networkMember { id contactConsents { id } commitments { id } } } }")
    mine: dict[str, Any] = await off_team.data(nested, {"y": seen})
    assert [m["members"] for m in mine["networkMeetings"]] == [[]]
    assert [c["networkMember"] for c in mine["consents"]] == [None]
    everything: dict[str, Any] = await admin.data(nested, {"y": seen})
    assert [m["members"] for m in everything["networkMeetings"]] == [[{"id": member}]]
    assert everything["consents"][0]["networkMember"]["id"] == member

    trail = await admin_conn.fetch(f'SELECT young_adult_ids FROM "{tenant.schema}".audit_event '
                                   "WHERE actor_subject = $1", f"off-team-{tenant.slug}")
    assert trail
    assert all(set(r["young_adult_ids"]) == {ids["seen"]} for r in trail)


@pytest.mark.parametrize(("loader", "key"), [
    (loaders.members_of, "hidden"), (loaders.meetings_of, "hidden"), (loaders.current_case, "hidden"),
    (loaders.commitments_of_young_adult, "hidden"), (loaders.commitments_of_member, "member"),
    (consent_loaders.consents_of, "hidden"), (consent_loaders.contact_consents, "member"),
])
async def test_the_network_loaders_filter_whatever_they_are_keyed_by(
        make_tenant: TenantFactory, admin_conn: asyncpg.Connection, db: Database, loader: Any, key: str) -> None:
    tenant = await make_tenant()
    ids = await _world(admin_conn, tenant.schema)
    found = {}
    for role, sites in ((Role.PRACTITIONER, frozenset({"BSI"})), (Role.TENANT_ADMIN, frozenset())):
        principal = Principal(f"loader-{role.value}", role, tenant=tenant, service=Service.PRISON, site_codes=sites)
        work = UnitOfWork.begin(principal, db, await db.open_pool(), "test", clock.today())
        try:
            found[role] = await loader(work).load(ids[key])
        finally:
            await work.end(commit=False)
    assert found[Role.TENANT_ADMIN], "the rows exist"
    assert found[Role.PRACTITIONER] == []

