"""Integrated meetings with the support network and the young adult at the table: a network member attends only
once they have agreed to take part and while their consent to be contacted stands (the rule of the Lifelong Links
meeting, shared); a refusal says which with its code and writes nothing."""

from __future__ import annotations

import uuid
from typing import Any

import asyncpg

from service.api.relay import from_global_id, to_global_id
from service.kernel import clock
from tests.audit_rows import by_type
from tests.conftest import CallerFactory, TenantFactory
from tests.operations import Operations
from tests.records.casework import casework, days_ago, young_adult


async def member(conn: asyncpg.Connection, schema: str, ya: str, given: str, status: str,
                 consent: str | None) -> str:
    """A network member at ``status`` with a consent to contact that is granted, withdrawn or absent (None)."""
    decoded = from_global_id(ya)
    assert decoded is not None
    member_id: uuid.UUID = await conn.fetchval(
        f'INSERT INTO "{schema}".network_member (young_adult_id, given_name, family_name, relationship, '
        "known_before, status) VALUES ($1, $2, 'Example-Member', 'RELATIVE', true, $3) RETURNING id",
        decoded[1], given, status)
    if consent is not None:
        await conn.execute(
            f'INSERT INTO "{schema}".consent (young_adult_id, network_member_id, purpose, granted_on, withdrawn_on, '
            "recorded_by) VALUES ($1, $2, 'CONTACT', current_date - 30, $3, 'test')", decoded[1], member_id,
            None if consent == "GRANTED" else clock.today())
    return to_global_id("NetworkMember", member_id)


async def test_network_members_and_the_young_adult_attend(make_tenant: TenantFactory, login: CallerFactory,
                                                          admin_conn: asyncpg.Connection) -> None:
    cw = await casework(make_tenant, login, Operations())
    ops, pom, schema = cw.ops, cw.callers["pom"], cw.tenant.schema
    ya = (await ops.ok(pom, "CreateYoungAdult", young_adult(cw.sites["BSI"], "Example-Meeting")))["youngAdult"]["id"]
    other = (await ops.ok(pom, "CreateYoungAdult", young_adult(cw.sites["BSI"], "Example-Other")))["youngAdult"]["id"]
    aunt = await member(admin_conn, schema, ya, "Aunt", "COMMITTED", "GRANTED")
    withdrawn = await member(admin_conn, schema, ya, "Uncle", "AGREED", "WITHDRAWN")
    not_agreed = await member(admin_conn, schema, ya, "Cousin", "CONTACTED", "GRANTED")
    unconsented = await member(admin_conn, schema, ya, "Gran", "AGREED", None)
    someone_elses = await member(admin_conn, schema, other, "Friend", "AGREED", "GRANTED")
    base: dict[str, Any] = {"youngAdultId": ya, "kind": "PRE_RELEASE", "heldOn": days_ago(1),
                            "youngAdultAttended": True}

    def attending(*members: str) -> dict[str, Any]:
        return {**base, "attendees": [{"practitionerId": cw.practitioner_ids["pom"]},
                                      *({"networkMemberId": m} for m in members)]}

    for who, code in ((withdrawn, "CONSENT_WITHDRAWN"), (not_agreed, "AGREEMENT_REQUIRED"),
                      (unconsented, "CONSENT_REQUIRED"), (someone_elses, "NOT_FOUND"), ("bogus", "NOT_FOUND")):
        refused = await ops.payload(pom, "RecordMeeting", attending(aunt, who))
        assert (refused["meeting"], [(e["code"], e["field"]) for e in refused["errors"]]) == (
            None, [(code, "attendees")]), who
    both = await ops.payload(pom, "RecordMeeting", {**base, "attendees": [
        {"practitionerId": cw.practitioner_ids["pom"], "networkMemberId": aunt}]})
    assert [(e["code"], e["field"]) for e in both["errors"]] == [("INVALID", "attendees")]
    assert await admin_conn.fetchval(f'SELECT count(*) FROM "{schema}".meeting') == 0  # all or nothing

    held = (await ops.ok(pom, "RecordMeeting", attending(aunt)))["meeting"]
    assert held["youngAdultAttended"] is True
    assert {(a["practitioner"] and a["practitioner"]["id"], a["networkMember"] and a["networkMember"]["id"])
            for a in held["attendees"]} == {(cw.practitioner_ids["pom"], None), (None, aunt)}
    record = (await ops.data(pom, "YoungAdultRecord", {"id": ya}))["youngAdult"]
    (meeting,) = record["meetings"]
    assert meeting["youngAdultAttended"] is True
    assert [a["networkMember"]["givenName"] for a in meeting["attendees"] if a["networkMember"]] == ["Aunt"]
    audit = await admin_conn.fetchval(f'SELECT fields FROM {by_type(schema)} WHERE action = \'CREATE\' '
                                      "AND subject_type = 'Meeting'")
    assert audit == ["held_on", "kind", "young_adult_attended", "attendees"]

    absent = await ops.ok(pom, "UpdateMeeting", {"id": held["id"], "version": held["version"],
                                                 "youngAdultAttended": False})
    assert absent["meeting"]["version"] == held["version"] + 1
    null = await ops.payload(pom, "UpdateMeeting", {"id": held["id"], "version": absent["meeting"]["version"],
                                                    "youngAdultAttended": None})
    assert [(e["code"], e["field"]) for e in null["errors"]] == [("INVALID", "youngAdultAttended")]
