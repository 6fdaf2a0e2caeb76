"""Load driving and measurement shared by the benchmarks: a closed-loop HTTP/1.1 client, CPU accounting, and the
database each benchmark runs in (:func:`bench_database`).

The client is deliberately small (raw asyncio streams, keep-alive, Content-Length bodies) so that the load
generator costs little CPU on a 2-core machine; every response is still parsed and checked. Loopback only.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import statistics
import tempfile
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import asyncpg
import orjson
import psutil
from sqlalchemy import make_url

from service.kernel.embedded import EmbeddedPostgres
from service.kernel.settings import Settings

Check = Callable[[Any], None]


async def asgi_post(app: Any, path: str, body: bytes, headers: list[tuple[bytes, bytes]]) -> tuple[int, bytes]:
    """One POST through an ASGI app, in-process, as uvicorn would hand it over: its status and body. No HTTP client
    between (an in-process client's own work, httpx's ASGI transport looking for trio on every request, is about a
    millisecond), and the body is left undecoded for the caller to check."""
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": body, "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    await app({"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "POST",
               "scheme": "http", "path": path, "raw_path": path.encode(), "query_string": b"",
               "root_path": "", "headers": headers, "client": ("127.0.0.1", 1), "server": ("127.0.0.1", 80),
               "state": {}}, receive, send)
    status = next(m["status"] for m in sent if m["type"] == "http.response.start")
    return status, b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")


@dataclass
class Target:
    name: str
    url: str
    body: bytes | Callable[[], bytes]  # a callable makes each request's body (e.g. a mutation's next version)
    check: Check
    headers: dict[str, str] = field(default_factory=dict)
    server_pids: Callable[[], list[int]] = list


@dataclass
class Result:
    name: str
    requests: int
    errors: int
    seconds: float
    latencies: list[float]
    server_cpu: float
    postgres_cpu: float
    bytes_per_response: int
    backends_cpu: float = 0.0  # the target's own PostgreSQL backends only (see backend_pids)

    @property
    def rps(self) -> float:
        return self.requests / self.seconds

    def percentile(self, p: float) -> float:
        if not self.latencies:
            return float("nan")
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(p / 100 * len(ordered)))] * 1000

    def row(self) -> str:
        per = max(self.requests, 1)
        return (f"{self.name:<28} {self.rps:8.1f} req/s  p50 {self.percentile(50):7.1f} ms  "
                f"p99 {self.percentile(99):7.1f} ms  server {self.server_cpu * 1000 / per:6.2f} ms/req  "
                f"postgres {self.postgres_cpu * 1000 / per:6.2f} ms/req (own backends "
                f"{self.backends_cpu * 1000 / per:5.2f})  errors {self.errors}  "
                f"{self.bytes_per_response / 1024:6.1f} KiB")


class Connection:
    def __init__(self, host: str, port: int) -> None:
        self.host, self.port = host, port
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def request(self, path: str, body: bytes, headers: dict[str, str]) -> tuple[int, bytes]:
        if self.writer is None:
            self.reader, self.writer = await asyncio.open_connection(self.host, self.port)
        assert self.reader is not None
        head = [f"POST {path} HTTP/1.1", f"Host: {self.host}", "Content-Type: application/json",
                f"Content-Length: {len(body)}", *(f"{k}: {v}" for k, v in headers.items())]
        self.writer.write(("\r\n".join(head) + "\r\n\r\n").encode() + body)
        status_line = await self.reader.readline()
        if not status_line:
            raise ConnectionResetError("the server closed the connection")
        status = int(status_line.split()[1])
        length = 0
        chunked = False
        while True:
            line = await self.reader.readline()
            if line in (b"\r\n", b""):
                break
            name, _, value = line.decode().partition(":")
            if name.lower() == "content-length":
                length = int(value)
            elif name.lower() == "transfer-encoding" and "chunked" in value:
                chunked = True
        if not chunked:
            return status, await self.reader.readexactly(length)
        parts = []
        while True:
            size = int((await self.reader.readline()).strip(), 16)
            if size == 0:
                await self.reader.readline()
                return status, b"".join(parts)
            parts.append(await self.reader.readexactly(size))
            await self.reader.readline()

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()


def cpu_seconds(pids: list[int]) -> float:
    total = 0.0
    for pid in pids:
        try:
            t = psutil.Process(pid).cpu_times()
            total += t.user + t.system
        except psutil.NoSuchProcess:
            continue
    return total


def postgres_pids() -> list[int]:
    return [p.pid for p in psutil.process_iter(["name"]) if p.info["name"] == "postgres"]


def postgres_cpu_seconds() -> float:
    """CPU of every postgres process, including backends that exited during the run (their time is charged to the
    postmaster's children counters)."""
    total = 0.0
    for p in psutil.process_iter(["name"]):
        if p.info["name"] != "postgres":
            continue
        try:
            t = p.cpu_times()
            total += t.user + t.system + (t.children_user + t.children_system if p.ppid() == 1 or
                                          psutil.Process(p.ppid()).name() != "postgres" else 0.0)
        except psutil.NoSuchProcess:
            continue
    return total


def backend_pids(server_pids: list[int]) -> list[int]:
    """The PostgreSQL backends serving the server's connections: its TCP connections, matched by client port to
    the backends' process titles ("postgres: … 127.0.0.1(port) …"). On a machine that other work shares, every
    postgres process's CPU (postgres_cpu_seconds) includes theirs; these are this target's own."""
    ports = set()
    for pid in server_pids:
        try:
            ports |= {c.laddr.port for c in psutil.Process(pid).net_connections("tcp") if c.raddr}
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            continue
    found = []
    for p in psutil.process_iter(["name", "cmdline"]):
        if p.info["name"] == "postgres" and p.info["cmdline"]:
            title = " ".join(p.info["cmdline"])
            if any(f"({port})" in title for port in ports):
                found.append(p.pid)
    return found


async def closed_loop(target: Target, concurrency: int, seconds: float) -> Result:
    """`concurrency` clients, each sending its next request when the previous answer arrives, for `seconds`."""
    parts = urlsplit(target.url)
    host, port, path = parts.hostname or "127.0.0.1", parts.port or 80, parts.path or "/"
    assert host in ("127.0.0.1", "localhost", "::1"), "benchmarks send traffic to loopback only"
    latencies: list[float] = []
    errors = 0
    sizes: list[int] = []
    deadline = 0.0

    async def client() -> None:
        nonlocal errors
        conn = Connection(host, port)
        try:
            while time.perf_counter() < deadline:
                started = time.perf_counter()
                try:
                    sent = target.body() if callable(target.body) else target.body
                    status, body = await asyncio.wait_for(conn.request(path, sent, target.headers), 30)
                    if status != 200:
                        raise AssertionError(f"status {status}: {body[:200]!r}")
                    target.check(orjson.loads(body))
                    latencies.append(time.perf_counter() - started)
                    if len(sizes) < 5:
                        sizes.append(len(body))
                except (AssertionError, OSError, asyncio.IncompleteReadError, ValueError, TimeoutError) as exc:
                    errors += 1
                    if errors <= 3:
                        print(f"  {target.name}: error {type(exc).__name__}: {str(exc)[:200]}")
                    conn.close()
                    conn = Connection(host, port)
        finally:
            conn.close()

    server_before = cpu_seconds(target.server_pids())
    pg_before = postgres_cpu_seconds()
    backends = backend_pids(target.server_pids())
    backends_before = {pid: cpu_seconds([pid]) for pid in backends}
    began = time.perf_counter()
    deadline = began + seconds
    await asyncio.gather(*(client() for _ in range(concurrency)))
    elapsed = time.perf_counter() - began
    # Backends opened during the run count from zero; one closed during the run is missed (pools keep theirs).
    backends_after = {pid: cpu_seconds([pid]) for pid in {*backends, *backend_pids(target.server_pids())}}
    own = sum(after - backends_before.get(pid, 0.0) for pid, after in backends_after.items())
    return Result(target.name, len(latencies), errors, elapsed, latencies,
                  cpu_seconds(target.server_pids()) - server_before, postgres_cpu_seconds() - pg_before,
                  int(statistics.mean(sizes)) if sizes else 0, own)


def rss_mb(pid: int) -> float:
    return psutil.Process(pid).memory_info().rss / 2**20


def children_of(pid: int) -> list[int]:
    try:
        proc = psutil.Process(pid)
        return [pid, *(c.pid for c in proc.children(recursive=True))]
    except psutil.NoSuchProcess:
        return []


def loopback_only() -> None:
    assert os.environ.get("BENCH_HOST", "127.0.0.1") in ("127.0.0.1", "localhost")


@dataclass(frozen=True)
class BenchDatabase:
    """A benchmark's own database: its settings (role prefix ``run``), the server's superuser URL and the database's,
    both for asyncpg."""

    settings: Settings
    run: str
    server_url: str
    url: str

    @property
    def data_dir(self) -> Path:
        assert self.settings.data_dir is not None
        return self.settings.data_dir


@asynccontextmanager
async def bench_database(prefix: str, **settings: Any) -> AsyncIterator[BenchDatabase]:
    """A new database on DATABASE_URL's server (a superuser URL), or on an embedded PostgreSQL in a temporary
    directory; dropped afterwards with every role of the run (prefix ``prefix`` and the process id), whatever
    happened."""
    data_dir = Path(tempfile.mkdtemp(prefix="always-hope-bench-"))
    embedded = None
    server_url = os.environ.get("DATABASE_URL")
    if not server_url:
        embedded = EmbeddedPostgres(data_dir)
        server_url = embedded.start()
    run = f"{prefix}{os.getpid()}"
    plain_server = make_url(server_url).set(drivername="postgresql").render_as_string(False)
    admin = await asyncpg.connect(plain_server)
    await admin.execute(f'CREATE DATABASE "bench_{run}"')
    await admin.close()
    db_url = make_url(server_url).set(database=f"bench_{run}").render_as_string(hide_password=False)
    try:
        yield BenchDatabase(Settings(database_url=db_url, data_dir=data_dir, role_prefix=run, **settings), run,
                            plain_server, make_url(db_url).set(drivername="postgresql").render_as_string(False))
    finally:
        admin = await asyncpg.connect(plain_server)
        await admin.execute(f'DROP DATABASE IF EXISTS "bench_{run}" WITH (FORCE)')
        for (role,) in await admin.fetch("SELECT rolname FROM pg_roles WHERE rolname LIKE $1", f"{run}\\_%"):
            await admin.execute(f'DROP ROLE IF EXISTS "{role}"')
        await admin.close()
        if embedded is not None:
            embedded.stop()
        shutil.rmtree(data_dir, ignore_errors=True)
