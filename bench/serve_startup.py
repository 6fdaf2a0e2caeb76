"""How long a fresh `always-hope serve` takes to answer /readyz with the demo seeded, beside `serve --no-demo` (the
reference: the same migrations and start-up, no demo) measured in the same run.

    DATABASE_URL=postgresql://postgres@127.0.0.1:5432/postgres python bench/serve_startup.py [--rounds 2]

Each start gets a fresh database of its own and a role prefix of its own (both dropped at the end). Prints the
seconds from process start to the first 200 on /readyz for each round, and the demo's share of it.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import secrets
import socket
import statistics
import subprocess
import sys
import tempfile
import time

import asyncpg
import httpx
from sqlalchemy import make_url


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


async def fresh_database(server: str, name: str, prefix: str, drop: bool) -> None:
    admin = await asyncpg.connect(make_url(server).set(drivername="postgresql").render_as_string(False))
    try:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        for (role,) in await admin.fetch("SELECT rolname FROM pg_roles WHERE rolname LIKE $1", f"{prefix}\\_%"):
            await admin.execute(f'DROP ROLE IF EXISTS "{role}"')
        if not drop:
            await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()


def start_and_time(server: str, demo: bool) -> float:
    name, prefix = f"ah_bench_serve_{secrets.token_hex(3)}", f"ahbs{secrets.token_hex(2)}"
    asyncio.run(fresh_database(server, name, prefix, drop=False))
    port = free_port()
    env = {**os.environ, "DATABASE_URL": make_url(server).set(database=name).render_as_string(False),
           "ALWAYS_HOPE_ROLE_PREFIX": prefix, "ALWAYS_HOPE_DATA_DIR": tempfile.mkdtemp(prefix="ah-bench-serve-"),
           "ALWAYS_HOPE_LOG_LEVEL": "WARNING"}
    args = [sys.executable, "-m", "service", "serve", "--port", str(port)] + ([] if demo else ["--no-demo"])
    started = time.monotonic()
    proc = subprocess.Popen(args, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        while True:
            if proc.poll() is not None:
                raise SystemExit(f"serve exited with status {proc.returncode}")
            try:
                if httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=1).status_code == 200:
                    return time.monotonic() - started
            except httpx.TransportError:
                pass
            time.sleep(0.1)
    finally:
        proc.terminate()
        proc.wait(30)
        asyncio.run(fresh_database(server, name, prefix, drop=True))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    server = os.environ.get("DATABASE_URL")
    if not server:
        raise SystemExit("set DATABASE_URL to a server where databases and roles may be created")
    demo, reference = [], []
    for _ in range(args.rounds):  # alternating, so load on the machine hits both alike
        reference.append(start_and_time(server, demo=False))
        demo.append(start_and_time(server, demo=True))
        print(f"round: --no-demo {reference[-1]:.1f} s, with the demo {demo[-1]:.1f} s", flush=True)
    ref, dem = statistics.median(reference), statistics.median(demo)
    print(f"median to /readyz: --no-demo (reference) {ref:.1f} s; with the demo {dem:.1f} s; "
          f"the demo adds {dem - ref:.1f} s ({dem / ref:.1f}x)")


if __name__ == "__main__":
    main()
