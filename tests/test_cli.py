"""The CLI as a person meets it: a database it cannot use gives one line naming the server (never its password)
and what to check, with exit status 2, for every command; exports are private; refusals say what to do next."""

from __future__ import annotations

import asyncio
import os
import secrets
import stat
import sys
import tempfile
from pathlib import Path

import asyncpg
import pytest
from sqlalchemy import make_url

from service.kernel.database import Database
from service.kernel.embedded import EmbeddedPostgres
from service.kernel.principal import Role
from service.kernel.settings import Settings
from tests.conftest import CallerFactory, TenantFactory
from tests.tenants.test_runner import cli

COMMANDS = [("serve", "--no-demo"), ("migrate",), ("tenants", "list"), ("tenants", "export", "x", "-o", "/dev/null"),
            ("token", "--role", "platform-admin"), ("reporting", "refresh")]


async def run(url: str, *args: str) -> tuple[int, str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("APP_DATABASE_URL",)}
    env["DATABASE_URL"] = url
    proc = await asyncio.create_subprocess_exec(sys.executable, "-m", "service", *args, env=env,
                                                stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    stdout, stderr = await asyncio.wait_for(proc.communicate(), timeout=120)
    assert proc.returncode is not None
    return proc.returncode, stdout.decode(), stderr.decode()


def one_line(stderr: str) -> str:
    lines = stderr.strip().splitlines()
    assert len(lines) == 1, stderr  # no traceback, no log noise
    assert lines[0].startswith("error: ")
    return lines[0]


@pytest.mark.parametrize("command", COMMANDS, ids=lambda c: " ".join(c[:2]))
async def test_every_command_says_in_one_line_that_nothing_answers(command: tuple[str, ...]) -> None:
    code, _, stderr = await run("postgresql://always:s3cret-pw@127.0.0.1:1/always_hope", *command)
    line = one_line(stderr)
    assert code == 2
    assert "nothing answers at postgresql://always:***@127.0.0.1:1/always_hope" in line
    assert "s3cret-pw" not in stderr
    assert "check that PostgreSQL is running" in line


async def test_a_missing_database_an_unknown_user_and_an_unknown_host_are_named(server_url: str) -> None:
    missing = make_url(server_url).set(database=f"no_such_db_{secrets.token_hex(3)}")
    code, _, stderr = await run(missing.render_as_string(hide_password=False), "tenants", "list")
    assert code == 2
    assert "does not exist: create it" in one_line(stderr)
    assert missing.database is not None
    assert missing.database in stderr

    stranger = make_url(server_url).set(username=f"nobody_{secrets.token_hex(3)}", password="pw-not-shown")
    code, _, stderr = await run(stranger.render_as_string(hide_password=False), "migrate")
    assert code == 2
    assert "refused the user" in one_line(stderr)
    assert "pw-not-shown" not in stderr

    code, _, stderr = await run("postgresql://u@no-such-host.invalid:5432/db", "token", "--role", "platform-admin")
    assert code == 2
    assert "is not known: check the host name" in one_line(stderr)


@pytest.mark.parametrize("url", ["postgresql://u@host:notaport/db", "mysql://u@host/db", "not a url"])
async def test_a_bad_url_is_a_configuration_error(url: str) -> None:
    code, _, stderr = await run(url, "tenants", "list")
    assert code == 2
    assert stderr.strip() == ("configuration error: DATABASE_URL must be a PostgreSQL URL such as "
                              "postgresql://user:password@host:5432/database")


def ask_password_of(hba: Path, user: str) -> None:
    hba.write_text(f"local all {user} scram-sha-256\n" + hba.read_text())


async def test_a_wrong_password_is_named_and_not_shown() -> None:
    """A server of the test's own that asks for passwords (the shared one may trust every local user)."""
    path = Path(tempfile.mkdtemp(prefix="always-hope-pw-"))
    embedded = EmbeddedPostgres(path)
    url = await asyncio.to_thread(embedded.start)
    try:
        conn = await asyncpg.connect(url)
        try:
            await conn.execute("CREATE ROLE pw_user LOGIN PASSWORD 'the-right-one'")
            await asyncio.to_thread(ask_password_of, Path(await conn.fetchval("SHOW hba_file")), "pw_user")
            await conn.execute("SELECT pg_reload_conf()")
        finally:
            await conn.close()
        wrong = make_url(url).set(username="pw_user", password="wrong-secret")
        code, _, stderr = await run(wrong.render_as_string(hide_password=False), "tenants", "list")
        assert code == 2
        assert "refused the password: check the password in DATABASE_URL" in one_line(stderr)
        assert "wrong-secret" not in stderr
    finally:
        await asyncio.to_thread(embedded.stop)


async def test_an_export_is_readable_by_its_owner_only(db: Database, make_tenant: TenantFactory,
                                                       tmp_path: Path) -> None:
    tenant = await make_tenant()
    target = tmp_path / "export.jsonl"
    target.write_text("old")
    target.chmod(0o644)  # an existing file is made private too
    code, _, stderr = await cli(db, "tenants", "export", tenant.slug, "-o", str(target))
    assert code == 0, stderr
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    fresh = tmp_path / "fresh.jsonl"
    previous = os.umask(0o022)  # the usual umask, which would give 0644
    try:
        assert (await cli(db, "tenants", "export", tenant.slug, "-o", str(fresh)))[0] == 0
    finally:
        os.umask(previous)
    assert stat.S_IMODE(fresh.stat().st_mode) == 0o600
    assert fresh.read_text().startswith("{")


async def test_restoring_into_a_missing_tenant_says_to_create_it_first(db: Database, tmp_path: Path) -> None:
    export = tmp_path / "export.jsonl"
    export.write_text("{}\n")
    code, _, stderr = await cli(db, "tenants", "restore", "no-such-region", str(export))
    assert code == 2
    assert "There is no tenant no-such-region" in stderr
    assert "tenants create no-such-region --name NAME" in stderr


async def test_a_refused_transition_reads_as_english(db: Database) -> None:
    slug = f"prov-{secrets.token_hex(3)}"
    code, out, stderr = await cli(db, "tenants", "create", slug, "--name", "Provisioning only")
    assert code == 0, stderr
    assert f"{slug}: PROVISIONING" in out
    code, _, stderr = await cli(db, "tenants", "suspend", slug)
    assert code == 2
    assert "only an active tenant can be suspended" in stderr


def test_settings_reject_production_without_every_required_setting_at_once() -> None:
    from service.kernel.settings import PRODUCTION_REQUIRED, SettingsError
    with pytest.raises(SettingsError) as refused:
        Settings.from_env({"ALWAYS_HOPE_ENV": "production"})
    for name in PRODUCTION_REQUIRED:
        assert name in str(refused.value)
    Settings.from_env({"ALWAYS_HOPE_ENV": "production", "DATABASE_URL": "postgresql://a@db/x",
                       "APP_DATABASE_URL": "postgresql://ah_app:pw@db/x", "AUTH_ISSUER": "https://idp.example"})


PLACEHOLDER = "<the administrator's subject at your identity provider>"


async def test_the_readme_placeholder_for_an_administrator_is_refused_not_granted(
        db: Database, admin_conn: asyncpg.Connection, login: CallerFactory) -> None:
    slug = f"ne-{secrets.token_hex(3)}"
    code, _, stderr = await cli(db, "tenants", "onboard", slug, "--name", "North East", "--site",
                                "DUR=prison:HMP Durham", "--admin", PLACEHOLDER)
    assert code == 2
    assert "replace the placeholder" in stderr
    assert await admin_conn.fetchval("SELECT count(*) FROM control.tenant WHERE slug = $1", slug) == 0

    platform = await login(Role.PLATFORM_ADMIN)
    answer = await platform.data("""mutation($input: OnboardTenantInput!) { onboardTenant(input: $input) {
        tenant { slug } errors { code field } } }""", {"input": {
        "slug": slug, "name": "North East", "kind": "REGION", "ruleTemplate": "defaults",
        "sites": [{"code": "DUR", "name": "HMP Durham", "kind": "PRISON"}], "admins": [{"subject": PLACEHOLDER}]}})
    assert answer["onboardTenant"]["errors"][0]["code"] == "INVALID"
    assert await admin_conn.fetchval("SELECT count(*) FROM control.app_user WHERE subject = $1", PLACEHOLDER) == 0
