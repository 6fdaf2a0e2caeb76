"""The reference: a bare ASGI app answering the caseload page (/caseload) and a young adult's full record (/record,
bench/record_reference.py) each with one hand-written SQL statement whose JSON PostgreSQL builds and the app passes
through. No authentication, tenancy switch or audit: the floor to compare to.

Run by bench/caseload.py as `uvicorn bench.reference_app:app` with REFERENCE_DSN, REFERENCE_SCHEMA set."""

import asyncio
import json
import os

import asyncpg
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from bench import record_reference

SQL = """
SELECT json_build_object('data', json_build_object('caseload', json_build_object(
  'edges', coalesce((SELECT json_agg(json_build_object(
      'cursor', translate(encode(convert_to('cursor:' || ya.id, 'UTF8'), 'base64'), E'+/\\n', '-_'),
      'node', json_build_object(
        'id', translate(encode(convert_to('YoungAdult:' || ya.id, 'UTF8'), 'base64'), E'+/\\n', '-_'),
        'givenName', ya.given_name, 'familyName', ya.family_name, 'dateOfBirth', ya.date_of_birth,
        'prisonNumber', ya.prison_number, 'careStatus', ya.care_status,
        'plan', (SELECT json_build_object('currentVersion', (
            SELECT json_build_object('number', v.number, 'status', v.status, 'goals', coalesce((
              SELECT json_agg(json_build_object(
                'id', translate(encode(convert_to('PlanGoal:' || g.id, 'UTF8'), 'base64'), E'+/\\n', '-_'),
                'pathway', g.pathway, 'description', g.description,
                'actions', coalesce((SELECT json_agg(json_build_object(
                    'id', translate(encode(convert_to('PlanAction:' || a.id, 'UTF8'), 'base64'), E'+/\\n', '-_'),
                    'description', a.description, 'ownerService', a.owner_service, 'dueOn', a.due_on,
                    'status', a.status) ORDER BY a.position, a.created_at)
                  FROM plan_action a WHERE a.plan_goal_id = g.id), '[]'::json)
              ) ORDER BY g.position, g.created_at) FROM plan_goal g WHERE g.plan_version_id = v.id), '[]'::json))
            FROM plan_version v WHERE v.plan_id = p.id ORDER BY v.status = 'DRAFT' DESC, v.number DESC LIMIT 1))
          FROM integrated_plan p WHERE p.young_adult_id = ya.id),
        'networkMembers', coalesce((SELECT json_agg(json_build_object(
            'id', translate(encode(convert_to('NetworkMember:' || m.id, 'UTF8'), 'base64'), E'+/\\n', '-_'),
            'givenName', m.given_name, 'relationship', m.relationship, 'status', m.status)
          ORDER BY m.created_at, m.id) FROM network_member m WHERE m.young_adult_id = ya.id), '[]'::json)))
    ORDER BY ya.family_name, ya.given_name, ya.id)
    FROM (SELECT y.* FROM young_adult y
          WHERE EXISTS (SELECT 1 FROM enrolment e WHERE e.young_adult_id = y.id AND e.site_id = $1)
          ORDER BY y.family_name, y.given_name, y.id LIMIT $2) ya), '[]'::json),
  'pageInfo', json_build_object('hasNextPage', false, 'endCursor', null))))::text
"""

pool: asyncpg.Pool | None = None
opening = asyncio.Lock()


async def connections() -> asyncpg.Pool:
    # One pool: without the lock, the first requests (16 at once) each created a pool of their own, up to 160
    # connections, and on a shared server the reference then failed with "too many clients".
    global pool
    if pool is not None:
        return pool
    async with opening:
        if pool is None:
            pool = await asyncpg.create_pool(os.environ["REFERENCE_DSN"], min_size=4, max_size=10, server_settings={
                "search_path": os.environ["REFERENCE_SCHEMA"], "TimeZone": "UTC"})
    return pool


async def caseload(request: Request) -> Response:
    body = json.loads(await request.body())
    async with (await connections()).acquire() as conn:
        text = await conn.fetchval(SQL, body["site"], body["first"])
    return Response(text, media_type="application/json")


async def record(request: Request) -> Response:
    body = json.loads(await request.body())
    async with (await connections()).acquire() as conn:
        text = await conn.fetchval(record_reference.SQL, body["id"])
    return Response(text, media_type="application/json")


app = Starlette(routes=[Route("/caseload", caseload, methods=["POST"]), Route("/record", record, methods=["POST"])])
