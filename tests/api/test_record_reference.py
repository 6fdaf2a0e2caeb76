"""The benchmark's hand-written reference for `YoungAdultRecord` (bench/record_reference.py) answers exactly what our
API answers for the same young adult, so that comparing their throughput is honest. The fields it cannot compute
(bench/record_reference.py EXCLUDED: they need the practice rules in Python) are removed from both sides."""

from __future__ import annotations

import json
from typing import Any

import asyncpg

from bench.record_reference import EXCLUDED, SQL, without
from service.api.relay import from_global_id
from tests.conftest import CallerFactory, TenantFactory
from tests.operations import Operations
from tests.records.casework import TODAY, casework, walk_to_release


async def reference(admin_conn: asyncpg.Connection, schema: str, young_adult: str) -> Any:
    decoded = from_global_id(young_adult)
    assert decoded is not None
    async with admin_conn.transaction():
        await admin_conn.execute(f"SET LOCAL search_path TO \"{schema}\"; SET LOCAL TimeZone TO 'UTC'")
        return json.loads(await admin_conn.fetchval(SQL, decoded[1]))


async def test_the_reference_statement_answers_what_our_api_answers(
        make_tenant: TenantFactory, login: CallerFactory, admin_conn: asyncpg.Connection) -> None:
    ops = Operations()
    cw = await casework(make_tenant, login, ops)
    walked = await walk_to_release(cw)
    ya = walked["full"]["id"]
    pom = cw.callers["pom"]
    # beyond the walk: a licence condition and a recall, a member who left the team (current members only are
    # listed), and a member of the support network at the meeting (added behind the service's back)
    episode = walked["full"]["custodyEpisodes"][0]["id"]
    await ops.ok(pom, "AddLicenceCondition", {"custodyEpisodeId": episode, "description": "Reside at the approved "
                                              "address", "startsOn": TODAY.isoformat()})
    await ops.ok(pom, "RecordRecall", {"custodyEpisodeId": episode, "recalledOn": TODAY.isoformat(),
                                       "reason": "Breach of licence"})
    leaving = next(t for t in walked["full"]["team"] if t["role"] == "COMMUNITY_OFFENDER_MANAGER")
    await ops.ok(pom, "EndTeamMembership", {"id": leaving["id"], "version": leaving["version"]})
    decoded = from_global_id(ya)
    assert decoded is not None
    schema = f'"{cw.tenant.schema}"'
    member = await admin_conn.fetchval(
        f"INSERT INTO {schema}.network_member (young_adult_id, given_name, family_name, relationship, known_before, "
        "status) VALUES ($1, 'Jo', 'Example-Aunt', 'RELATIVE', true, 'AGREED') RETURNING id", decoded[1])
    await admin_conn.execute(f"INSERT INTO {schema}.meeting_attendee (meeting_id, network_member_id) "
                             f"SELECT id, $2 FROM {schema}.meeting WHERE young_adult_id = $1", decoded[1], member)
    ours = await ops.data(cw.callers["pom"], "YoungAdultRecord", {"id": ya})
    theirs = (await reference(admin_conn, cw.tenant.schema, ya))["data"]
    # the seeded record exercises every list of the operation, so an empty-list match proves little by itself
    record = ours["youngAdult"]
    assert all(record[k] for k in ("enrolments", "team", "custodyEpisodes", "assessments", "meetings", "timeline"))
    assert record["plan"]["currentVersion"]["goals"][0]["actions"]
    assert record["custodyEpisodes"][0]["licenceConditions"]
    assert record["custodyEpisodes"][0]["recalls"]
    assert len(record["team"]) == 2
    assert [a["networkMember"] for a in record["meetings"][0]["attendees"] if a["networkMember"]]
    assert without(theirs, EXCLUDED) == without(ours, EXCLUDED)
