"""The README's first command, for real: `always-hope serve` on the embedded PostgreSQL, queried over HTTP."""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import psutil
import pytest

pytestmark = pytest.mark.smoke


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def env_for(data_dir: Path) -> dict[str, str]:
    # No XDG_RUNTIME_DIR either, as in a container or over sudo: nothing may warn about it.
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "APP_DATABASE_URL", "XDG_RUNTIME_DIR")}
    env["ALWAYS_HOPE_DATA_DIR"] = str(data_dir)
    return env


def cli(*args: str, env: dict[str, str]) -> str:
    done = subprocess.run([sys.executable, "-m", "service", *args], env=env, capture_output=True, text=True,
                          timeout=120, check=True)
    assert "Warning" not in done.stderr  # nothing of ours warns on an ordinary call
    return done.stdout.strip()


def postgres_running_in(data_dir: Path) -> bool:
    for proc in psutil.process_iter(["name", "cmdline"]):
        if proc.info["name"] == "postgres" and any(str(data_dir) in part for part in proc.info["cmdline"] or []):
            return True
    return False


@pytest.fixture
def data_dir() -> Iterator[Path]:
    """Not pytest's tmp_path: as root, the embedded server runs as another user, which must be able to reach the
    directory; pytest's base temp directory is private to root."""
    path = Path(tempfile.mkdtemp(prefix="always-hope-smoke-"))
    yield path
    shutil.rmtree(path, ignore_errors=True)


@pytest.fixture
def served(data_dir: Path) -> Iterator[tuple[str, dict[str, str], subprocess.Popen[str]]]:
    env = env_for(data_dir)
    port = free_port()
    log = (data_dir / "serve.log").open("w")
    printed = (data_dir / "serve.out").open("w")
    # Started as a background job is (SIGINT ignored), so SIGTERM, the signal a supervisor sends, is what stops it.
    proc = subprocess.Popen([sys.executable, "-m", "service", "serve", "--port", str(port)], env=env,
                            stdout=printed, stderr=log, text=True,
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_IGN))
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 90
    try:
        while time.monotonic() < deadline:
            assert proc.poll() is None, (data_dir / "serve.log").read_text()
            try:
                if httpx.get(f"{base}/readyz", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            time.sleep(0.3)
        else:
            pytest.fail("serve did not become ready in 90 s")
        yield base, env, proc
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(30)
            except subprocess.TimeoutExpired:
                proc.kill()
        log.close()
        printed.close()


def test_serve_on_embedded_postgres_answers_graphql_and_stops_cleanly(
        served: tuple[str, dict[str, str], subprocess.Popen[str]], data_dir: Path) -> None:
    base, env, proc = served
    assert httpx.get(f"{base}/healthz").json() == {"status": "ok"}
    ide = httpx.get(f"{base}/graphql", headers={"Accept": "text/html"}, follow_redirects=True)
    assert ide.status_code == 200
    assert ide.url.path == "/console"  # tests/console/test_console.py runs it in a browser

    # Quiet: stdout says once where everything is; stderr (not a terminal here) has only JSON log lines and no
    # warning from our own set-up (the embedded server's package once warned about XDG_RUNTIME_DIR on every call).
    printed = (data_dir / "serve.out").read_text()
    assert printed.count("Always Hope is serving on") == 1
    for path in ("/graphql", "/console", "/dashboard"):
        assert f"{base}{path}" in printed
    logged = (data_dir / "serve.log").read_text().splitlines()
    assert logged
    assert all(json.loads(line)["level"] in ("INFO", "WARNING") for line in logged), logged
    assert not any("Warning" in line for line in logged)

    token = cli("token", "--tenant", "west-midlands", "--role", "practitioner", "--service", "prison",
                "--site", "BSI", env=env)
    assert token.count(".") == 2  # just the token on stdout
    headers = {"Authorization": f"Bearer {token}"}
    sites = httpx.post(f"{base}/graphql", headers=headers, json={"query": "{ sites { id code } }"}).json()
    brinsford = next(s["id"] for s in sites["data"]["sites"] if s["code"] == "BSI")
    page = httpx.post(f"{base}/graphql", headers=headers, json={
        "query": "query($s: ID!) { youngAdults(siteId: $s, first: 3) { edges { node { familyName } } } }",
        "variables": {"s": brinsford}}).json()
    names = [e["node"]["familyName"] for e in page["data"]["youngAdults"]["edges"]]
    assert len(names) == 3
    assert all(n.startswith("Example-") for n in names)  # demo people are visibly synthetic

    assert postgres_running_in(data_dir)
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(30) == 143  # uvicorn drains, then the shell's convention for a process ended by SIGTERM
    deadline = time.monotonic() + 10
    while postgres_running_in(data_dir) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not postgres_running_in(data_dir), "SIGTERM must stop the embedded server"


def test_restart_keeps_data_and_does_not_reseed(data_dir: Path) -> None:
    env = env_for(data_dir)
    created = cli("tenants", "create", "north-east", "--name", "North East", "--kind", "region", env=env)
    assert created.splitlines()[0] == "north-east: PROVISIONING (schema t_north_east)"
    assert "tenants activate north-east" in created  # and what it still needs before that
    listed = cli("tenants", "list", env=env)
    assert "north-east\tREGION\tPROVISIONING\tNorth East" in listed  # as onboarding starts one
    refused = subprocess.run([sys.executable, "-m", "service", "tenants", "create", "North_East", "--name", "x"],
                             env=env, capture_output=True, text=True, timeout=120)
    assert refused.returncode == 2
    assert "lower-case letters" in refused.stderr
    assert cli("tenants", "list", env=env) == listed
