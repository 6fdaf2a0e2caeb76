"""Faults: PostgreSQL restarted under load, and SIGTERM with requests in flight.

The restart uses an embedded PostgreSQL of its own (in the test's temporary directory), stopped with ``pg_ctl``
and started again while mutations keep arriving. The SIGTERM test runs the real ``always-hope serve`` process.
"""

from __future__ import annotations

import asyncio
import json
import os
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest
from sqlalchemy import make_url

from service.api.relay import from_global_id, to_global_id
from service.app.asgi import create_app
from service.app.auth import DevIssuer
from service.kernel.database import Database
from service.kernel.embedded import EmbeddedPostgres
from service.kernel.principal import Role, Service
from service.kernel.settings import Settings
from service.platform.grants import grant
from tenants.provisioning import NewTenant, create_tenant
from tenants.runner import migrate
from tests.conftest import CallerFactory, TenantFactory
from tests.test_smoke import free_port

CREATE = """mutation($input: CreateYoungAdultInput!) {
  createYoungAdult(input: $input) { youngAdult { id } errors { code } } }"""


@dataclass
class Outcomes:
    acknowledged: list[str] = field(default_factory=list)  # ids the service said it created
    refused: Counter[str] = field(default_factory=Counter)  # status or error code of each refusal
    crashed: list[str] = field(default_factory=list)  # exceptions escaping the app: never expected
    acknowledged_after: dict[str, float] = field(default_factory=dict)


@dataclass
class Restartable:
    """The test's own embedded server, with pg_ctl stop and start."""

    embedded: EmbeddedPostgres
    url: str

    def stop(self) -> None:
        self.embedded.halt()

    def start(self) -> None:
        self.embedded.resume()


@pytest.fixture
async def restartable() -> AsyncIterator[Restartable]:
    # Not in pytest's tmp_path: pytest keeps its base directory private (0700), and when run as root the server
    # runs as another user who must reach the data directory.
    path = Path(tempfile.mkdtemp(prefix="always-hope-restart-"))
    embedded = EmbeddedPostgres(path)
    url = await asyncio.to_thread(embedded.start)
    yield Restartable(embedded, url)
    await asyncio.to_thread(embedded.stop)
    shutil.rmtree(path, ignore_errors=True)


async def until(predicate: Callable[[], Any], within: float = 60) -> None:
    deadline = time.monotonic() + within
    while not await predicate():
        assert time.monotonic() < deadline, "condition not reached in time"
        await asyncio.sleep(0.1)


async def test_postgres_restart_under_load_is_survived_without_half_applied_mutations(
        restartable: Restartable, tmp_path: Path) -> None:
    # Rate limits off: four clients send as fast as the service answers, as one user, and a fast machine would be
    # refused by the limit (429) rather than by the outage this test is about.
    settings = Settings(database_url=restartable.url, data_dir=tmp_path, role_prefix=f"ahf{secrets.token_hex(2)}",
                        pool_min_size=2, pool_max_size=4, rate_limit_principal=0, rate_limit_tenant=0)
    db = Database.connect(settings)
    await migrate(db)
    tenant = await create_tenant(db.engine, NewTenant("restart", "Restart test", "REGION"),
                                 role_prefix=settings.role_prefix, app_role=settings.app_role)
    admin_url = make_url(restartable.url).set(drivername="postgresql").render_as_string(False)
    conn = await asyncpg.connect(admin_url)
    try:
        site = await conn.fetchval(f'INSERT INTO "{tenant.schema}".site (code, name, kind) '
                                   "VALUES ('BSI', 'HMP Brinsford', 'PRISON') RETURNING id")
    finally:
        await conn.close()
    await grant(db.engine, subject="pom", role=Role.PRACTITIONER, tenant_slug="restart", service=Service.PRISON,
                site_codes=["BSI"])
    token = DevIssuer(settings).issue("pom", "restart")
    await db.open_pool()
    app = create_app(db)
    outcomes = Outcomes()
    stop = asyncio.Event()
    site_id = to_global_id("Site", site)

    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as client:
        async def worker(n: int) -> None:
            i = 0
            while not stop.is_set():
                i += 1
                variables = {"input": {"siteId": site_id, "givenName": "Sam", "familyName": f"Example-{n}-{i}",
                                       "dateOfBirth": "2003-04-05", "careStatus": "RELEVANT"}}
                try:
                    response = await client.post("/graphql", json={"query": CREATE, "variables": variables},
                                                 headers={"Authorization": f"Bearer {token}"})
                except Exception as exc:  # recorded, and asserted to never happen
                    outcomes.crashed.append(type(exc).__name__)
                    await asyncio.sleep(0.05)
                    continue
                body = response.json()
                payload = (body.get("data") or {}).get("createYoungAdult")
                if response.status_code == 200 and payload and payload["youngAdult"] and "errors" not in body:
                    outcomes.acknowledged.append(payload["youngAdult"]["id"])
                    outcomes.acknowledged_after[payload["youngAdult"]["id"]] = time.monotonic()
                else:
                    code = (body.get("errors") or [{}])[0].get("extensions", {}).get("code", "?")
                    outcomes.refused[f"{response.status_code}:{code}"] += 1
                    await asyncio.sleep(0.05)

        async def status() -> int:
            return (await client.get("/readyz")).status_code

        workers = [asyncio.create_task(worker(n)) for n in range(4)]
        await asyncio.sleep(1.0)
        assert await status() == 200
        before_outage = len(outcomes.acknowledged)
        await asyncio.to_thread(restartable.stop)
        assert await status() == 503, "/readyz must report the database outage"
        await asyncio.sleep(1.5)  # the load goes on against a stopped server
        assert await status() == 503
        restarted_at = time.monotonic()
        await asyncio.to_thread(restartable.start)
        await until(lambda: _is(status, 200))
        await asyncio.sleep(1.0)
        stop.set()
        await asyncio.gather(*workers)

    after_restart = [i for i, at in outcomes.acknowledged_after.items() if at > restarted_at]
    assert before_outage > 0
    assert after_restart, f"no mutation succeeded after the restart: {outcomes.refused}"
    assert outcomes.crashed == [], outcomes.crashed
    assert set(outcomes.refused) <= {"200:UNAVAILABLE", "503:UNAVAILABLE"}, outcomes.refused
    assert outcomes.refused, "some requests must have met the outage"

    conn = await asyncpg.connect(admin_url)
    try:
        half = await conn.fetchval(f'SELECT count(*) FROM "{tenant.schema}".young_adult ya WHERE NOT EXISTS '
                                   f'(SELECT 1 FROM "{tenant.schema}".enrolment e WHERE e.young_adult_id = ya.id)')
        stored = {str(r["id"]) for r in await conn.fetch(f'SELECT id FROM "{tenant.schema}".young_adult')}
    finally:
        await conn.close()
    assert half == 0, "a young adult without the enrolment written in the same mutation"
    acknowledged = {str(uuid) for _, uuid in filter(None, map(from_global_id, outcomes.acknowledged))}
    assert acknowledged <= stored, "a mutation the service acknowledged is missing after the restart"
    await db.close()


async def _is(probe: Callable[[], Any], expected: int) -> bool:
    try:
        return bool(await probe() == expected)
    except httpx.HTTPError:
        return False


PAGE = """query($site: ID!) { youngAdults(siteId: $site, first: 60) {
  edges { node { id familyName givenName enrolments { status site { code name } } } } } }"""


def serve(settings: Settings, port: int, log: Path, **overrides: str) -> subprocess.Popen[bytes]:
    """`always-hope serve` in a process of its own on the test database; ``overrides``: more environment."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ALWAYS_HOPE_", "DATABASE_", "APP_DATABASE"))}
    assert settings.database_url is not None
    env.update({"DATABASE_URL": settings.database_url, "ALWAYS_HOPE_ROLE_PREFIX": settings.role_prefix,
                "ALWAYS_HOPE_DATA_DIR": str(settings.data_dir), "ALWAYS_HOPE_RATE_LIMIT_PRINCIPAL": "0",
                "ALWAYS_HOPE_RATE_LIMIT_TENANT": "0", "ALWAYS_HOPE_REPORTING_REFRESH_SECONDS": "0", **overrides})
    with log.open("wb") as out:
        return subprocess.Popen([sys.executable, "-m", "service", "serve", "--no-demo", "--port", str(port)],
                                env=env, stdout=out, stderr=subprocess.STDOUT)


async def test_sigterm_drains_requests_in_flight(db: Database, make_tenant: TenantFactory, login: CallerFactory,
                                                 tmp_path: Path) -> None:
    tenant = await make_tenant()
    admin = await login(Role.TENANT_ADMIN, tenant)
    site = next(s["id"] for s in (await admin.data("{ sites { id code } }"))["sites"] if s["code"] == "BSI")
    for i in range(60):
        await admin.data(CREATE, {"input": {"siteId": site, "givenName": "Sam", "familyName": f"Example-{i:03}",
                                            "dateOfBirth": "2003-04-05", "careStatus": "RELEVANT"}})
    port = free_port()
    log = tmp_path / "serve.log"
    proc = serve(db.settings, port, log)
    base = f"http://127.0.0.1:{port}"
    try:
        async with httpx.AsyncClient(timeout=60) as probe:
            await until(lambda: _is(lambda: _status(probe, f"{base}/readyz"), 200), within=90)

        completed_after_signal = 0
        never_started = 0
        broken: list[str] = []
        signalled_at: float | None = None
        stop = asyncio.Event()

        async def client_loop() -> None:
            nonlocal completed_after_signal, never_started
            # A fresh connection per request. A request whose connection is refused or closed before any byte of
            # a response arrives never reached the application (the listening socket closed with it still in the
            # kernel's backlog, or uvicorn closed it before reading it): the client may safely retry it. Once the
            # application has started on a request, uvicorn keeps the connection until the response is complete,
            # so a response that starts and then breaks off is the failure this test looks for.
            limits = httpx.Limits(max_keepalive_connections=0)
            async with httpx.AsyncClient(timeout=60, limits=limits) as client:
                while not stop.is_set():
                    started = False
                    try:
                        async with client.stream("POST", f"{base}/graphql",
                                                 json={"query": PAGE, "variables": {"site": site}},
                                                 headers={"Authorization": f"Bearer {admin.token}"}) as response:
                            started = True
                            raw = await response.aread()
                    except httpx.TransportError as exc:
                        if started:
                            broken.append(f"{type(exc).__name__} after the response began: {exc}")
                        else:
                            never_started += 1
                        return
                    body = json.loads(raw)
                    if response.status_code != 200 or len(body["data"]["youngAdults"]["edges"]) != 60:
                        broken.append(f"{response.status_code}")
                    elif signalled_at is not None:
                        completed_after_signal += 1

        clients = [asyncio.create_task(client_loop()) for _ in range(12)]
        await asyncio.sleep(1.5)
        signalled_at = time.monotonic()
        proc.send_signal(signal.SIGTERM)
        await asyncio.wait_for(asyncio.gather(*clients), timeout=120)
        stop.set()
        code = await asyncio.to_thread(proc.wait, 60)
    finally:
        if proc.poll() is None:
            proc.kill()
    output = log.read_text()
    assert broken == [], (broken, output[-3000:])
    assert completed_after_signal > 0, "no request was in flight at SIGTERM; the test proved nothing"
    assert code == 143, output[-3000:]  # drained and unwound (pools, any embedded server), then 128 + SIGTERM
    assert "Finished server process" in output


async def _status(client: httpx.AsyncClient, url: str) -> int:
    return (await client.get(url)).status_code
