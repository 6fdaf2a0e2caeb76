"""A bounded soak: start `always-hope serve`, drive it with closed-loop clients for a fixed time, report errors
and the server's memory (RSS) over time.

Loopback only: the service listens on 127.0.0.1 and every request goes there. Each client sends a request, waits
for the answer, and sends the next (closed loop), so the load never exceeds what the service absorbs. The run
stops by itself after --duration seconds.

    python bench/soak.py --duration 60 --clients 8
    DATABASE_URL=postgresql://postgres@127.0.0.1:5432/postgres python bench/soak.py   # else: embedded PostgreSQL

It uses its own data directory (a temporary one unless --data-dir) and role prefix, so it never touches the
demo data of a developer's `serve`. With DATABASE_URL it creates and afterwards drops a database of its own.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

import httpx
import psutil

READ = """query Page($site: ID!, $first: Int!) { youngAdults(siteId: $site, first: $first) {
  edges { node { id familyName givenName enrolments { status site { code } } } } pageInfo { hasNextPage } } }"""
CREATE = """mutation Create($input: CreateYoungAdultInput!) {
  createYoungAdult(input: $input) { youngAdult { id } errors { code } } }"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def cli(env: dict[str, str], *args: str) -> str:
    done = subprocess.run([sys.executable, "-m", "service", *args], env=env, capture_output=True, text=True,
                          timeout=300, check=True)
    return done.stdout.strip()


def admin_psql(url: str, sql: str) -> None:
    import asyncpg

    async def run() -> None:
        conn = await asyncpg.connect(url)
        try:
            await conn.execute(sql)
        finally:
            await conn.close()
    asyncio.run(run())


def rss_of_tree(proc: psutil.Process) -> int:
    """RSS of the service process (not of PostgreSQL: the embedded server is a separate process tree)."""
    return int(proc.memory_info().rss)


async def client_loop(n: int, base: str, token: str, site: str, until: float, errors: Counter[str],
                      counts: Counter[str]) -> None:
    rng = random.Random(n)
    async with httpx.AsyncClient(base_url=base, timeout=30,
                                 headers={"Authorization": f"Bearer {token}"}) as client:
        i = 0
        while time.monotonic() < until:
            i += 1
            if rng.random() < 0.2:
                kind = "create"
                body = {"query": CREATE, "variables": {"input": {
                    "siteId": site, "givenName": "Soak", "familyName": f"Example-{n}-{i}",
                    "dateOfBirth": "2003-04-05", "careStatus": "RELEVANT"}}}
            else:
                kind = "read"
                body = {"query": READ, "variables": {"site": site, "first": rng.choice([10, 20, 50])}}
            try:
                response = await client.post("/graphql", json=body)
                data = response.json()
                if response.status_code != 200 or data.get("errors"):
                    errors[f"{kind}:{response.status_code}:{(data.get('errors') or [{}])[0].get('extensions')}"] += 1
                else:
                    counts[kind] += 1
            except httpx.HTTPError as exc:
                errors[f"{kind}:{type(exc).__name__}"] += 1


async def drive(base: str, token: str, site: str, clients: int, duration: float, interval: float,
                proc: psutil.Process) -> tuple[Counter[str], Counter[str]]:
    errors: Counter[str] = Counter()
    counts: Counter[str] = Counter()
    started = time.monotonic()
    until = started + duration
    tasks = [asyncio.create_task(client_loop(n, base, token, site, until, errors, counts)) for n in range(clients)]
    print(f"{'t (s)':>6} {'requests':>9} {'req/s':>7} {'errors':>7} {'RSS (MiB)':>10}")
    last_total, last_t = 0, started
    while any(not t.done() for t in tasks):
        await asyncio.sleep(min(interval, max(0.1, until - time.monotonic() + 0.05)))
        now = time.monotonic()
        total = sum(counts.values())
        rate = (total - last_total) / max(now - last_t, 1e-9)
        print(f"{now - started:6.1f} {total:9d} {rate:7.1f} {sum(errors.values()):7d} "
              f"{rss_of_tree(proc) / 2**20:10.1f}", flush=True)
        last_total, last_t = total, now
    await asyncio.gather(*tasks)
    return counts, errors


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--duration", type=float, default=60, help="seconds of load (default 60, at most 3600)")
    parser.add_argument("--clients", type=int, default=8, help="concurrent closed-loop clients (default 8)")
    parser.add_argument("--interval", type=float, default=5, help="seconds between reports (default 5)")
    parser.add_argument("--data-dir", type=Path, help="data directory (default: a temporary one)")
    args = parser.parse_args()
    duration = min(max(args.duration, 1), 3600)

    data_dir = args.data_dir or Path(tempfile.mkdtemp(prefix="always-hope-soak-"))
    env = {k: v for k, v in os.environ.items() if not k.startswith("ALWAYS_HOPE_")}
    env.update(ALWAYS_HOPE_DATA_DIR=str(data_dir), ALWAYS_HOPE_ROLE_PREFIX=f"soak{secrets.token_hex(2)}",
               ALWAYS_HOPE_LOG_LEVEL="WARNING", ALWAYS_HOPE_RATE_LIMIT_PRINCIPAL="0",
               ALWAYS_HOPE_RATE_LIMIT_TENANT="0")
    own_database = None
    server_url = os.environ.get("DATABASE_URL")
    if server_url:
        from sqlalchemy import make_url

        own_database = f"always_hope_soak_{secrets.token_hex(3)}"
        admin_psql(server_url, f'CREATE DATABASE "{own_database}"')
        env["DATABASE_URL"] = make_url(server_url).set(database=own_database).render_as_string(False)

    port = free_port()
    base = f"http://127.0.0.1:{port}"
    log = (data_dir / "serve.log").open("w")
    proc = subprocess.Popen([sys.executable, "-m", "service", "serve", "--port", str(port)], env=env,
                            stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 120
        while True:
            if proc.poll() is not None:
                print((data_dir / "serve.log").read_text()[-3000:], file=sys.stderr)
                return 1
            try:
                if httpx.get(f"{base}/readyz", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                print("the service did not become ready in 120 s", file=sys.stderr)
                return 1
            time.sleep(0.5)
        token = cli(env, "token", "--tenant", "west-midlands", "--role", "practitioner", "--service", "prison",
                    "--site", "BSI")
        headers = {"Authorization": f"Bearer {token}"}
        sites = httpx.post(f"{base}/graphql", headers=headers, json={"query": "{ sites { id code } }"}).json()
        site = next(s["id"] for s in sites["data"]["sites"] if s["code"] == "BSI")

        service = psutil.Process(proc.pid)
        print(f"soak: {args.clients} clients for {duration:.0f} s against {base} (pid {proc.pid}); "
              f"RSS at start {rss_of_tree(service) / 2**20:.1f} MiB")
        counts, errors = asyncio.run(drive(base, token, site, args.clients, duration, args.interval, service))
        total = sum(counts.values())
        print(f"\ndone: {total} answered ({dict(counts)}), {sum(errors.values())} errors, "
              f"{total / duration:.1f} req/s, RSS at end {rss_of_tree(service) / 2**20:.1f} MiB")
        for kind, n in errors.most_common(10):
            print(f"  error {kind}: {n}")
        return 0 if not errors else 2
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(60)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()
        if own_database and server_url:
            admin_psql(server_url, f'DROP DATABASE IF EXISTS "{own_database}" WITH (FORCE)')
            prefix = env["ALWAYS_HOPE_ROLE_PREFIX"]
            admin_psql(server_url, f"""DO $$ DECLARE r text; BEGIN
                FOR r IN SELECT rolname FROM pg_roles WHERE rolname LIKE '{prefix}\\_%' LOOP
                  EXECUTE format('DROP ROLE %I', r); END LOOP; END $$""")
        if args.data_dir is None:
            shutil.rmtree(data_dir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
