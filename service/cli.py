"""`always-hope`: serve, migrate, tenants, reporting, transfers, token."""

from __future__ import annotations

import argparse
import asyncio
import logging
import signal
import socket
import sys
from collections.abc import Callable, Sequence

from service import db_errors
from service.app.auth import DevIssuer
from service.kernel import telemetry
from service.kernel.database import Database
from service.kernel.errors import DomainError
from service.kernel.principal import Role, Service
from service.kernel.settings import Settings, SettingsError
from service.platform import commands
from tenants import registry, runner
from tenants.runner import migrate


def _enum_arg(enum_cls: type[Role] | type[Service]) -> Callable[[str], object]:
    def parse(value: str) -> object:
        try:
            return enum_cls(value.strip().upper().replace("-", "_"))
        except ValueError:
            choices = ", ".join(e.value.lower().replace("_", "-") for e in enum_cls)
            raise argparse.ArgumentTypeError(f"{value!r} is not one of: {choices}") from None
    parse.__name__ = enum_cls.__name__.lower()
    return parse


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="always-hope", description=__doc__)
    sub = p.add_subparsers(dest="command", required=True)

    serve = sub.add_parser("serve", help="migrate, seed the demo tenants when empty (development), and serve")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    serve.add_argument("--no-demo", action="store_true", help="do not seed the demo tenants")

    migrate = sub.add_parser("migrate", help="upgrade the control plane and every tenant schema")
    commands.add_migrate_arguments(migrate)

    tenants = sub.add_parser("tenants", help="onboard, list and manage tenants through their lifecycle")
    tsub = tenants.add_subparsers(dest="tenants_command", required=True)
    tsub.add_parser("list", help="list tenants")
    commands.add_tenant_commands(tsub)

    reporting = sub.add_parser("reporting", help="national reporting rollups")
    rsub = reporting.add_subparsers(dest="reporting_command", required=True)
    refresh = rsub.add_parser("refresh", help="recompute the rollups now, one tenant at a time")
    refresh.add_argument("--tenant", help="only this tenant (slug); every active tenant by default")
    refresh.add_argument("--full", action="store_true",
                         help="recompute every tenant, changed or not, and republish every metric")

    transfers = sub.add_parser("transfers", help="transfers between tenants")
    xsub = transfers.add_subparsers(dest="transfers_command", required=True)
    xsub.add_parser("run", help="hand off every accepted transfer now (each tenant's part as its own role)")

    token = sub.add_parser("token", help="grant a development user a role and print a token for them")
    token.add_argument("--tenant", help="tenant slug (not for national analysts and platform admins)")
    token.add_argument("--role", required=True, type=_enum_arg(Role),
                       help="practitioner, site-manager, tenant-admin, national-analyst or platform-admin")
    token.add_argument("--service", type=_enum_arg(Service),
                       help="prison, probation, leaving-care or lifelong-links (practitioners)")
    token.add_argument("--site", action="append", default=[], help="site code (repeatable), e.g. BSI")
    token.add_argument("--subject", help="the user's subject; derived from the other options by default")
    token.add_argument("--ttl", type=int, default=12 * 3600, help="lifetime in seconds")
    return p


async def _serve(settings: Settings, host: str, port: int, demo: bool) -> None:
    import uvicorn

    from service.app.asgi import create_app
    from service.demo import has_tenants, seed_demo

    db = Database.connect(settings)
    try:
        await migrate(db)
        if demo and settings.development and not await has_tenants(db):
            created = await seed_demo(db)
            logging.getLogger("always-hope").info("seeded demo tenants: %s", ", ".join(created))
        # log_config=None: uvicorn's loggers go through ours (service.kernel.telemetry.configure_logging). On SIGTERM or
        # Ctrl-C uvicorn stops accepting, lets in-flight requests finish, then runs the lifespan shutdown.
        config = uvicorn.Config(create_app(db), host=host, port=port, log_config=None, lifespan="on",
                                server_header=False)

        class Server(uvicorn.Server):
            async def startup(self, sockets: list[socket.socket] | None = None) -> None:
                await super().startup(sockets)
                if self.started:  # listening: say where, once
                    print(where(settings, host, port), flush=True)

        await Server(config).serve()
    finally:
        await db.close()
        telemetry.shutdown()


def where(settings: Settings, host: str, port: int) -> str:
    """What `serve` prints once it listens: where to point a browser, and how to get a token."""
    shown = "127.0.0.1" if host in ("0.0.0.0", "::") else host  # noqa: S104 (a listening address, not a bind)
    base = f"http://{f'[{shown}]' if ':' in shown else shown}:{port}"
    lines = [f"Always Hope is serving on {base}",
             f"  GraphQL API   {base}/graphql",
             f"  dashboard     {base}/dashboard  (national analysts)"]
    if settings.development:
        lines.insert(2, f"  console (IDE) {base}/console")
        lines.append("  a token:      .venv/bin/always-hope token --role platform-admin  (see README, Using it)")
    return "\n".join(lines)


async def _migrate(settings: Settings, args: argparse.Namespace) -> int:
    db = Database.connect(settings)
    try:
        return await commands.migrate(db, args)
    finally:
        await db.close()


async def _tenants(settings: Settings, args: argparse.Namespace) -> int:
    db = Database.connect(settings)
    try:
        # The control plane only: tenants are migrated by `migrate`, not by every command.
        await runner.run(db.engine, db.admin_url, settings.app_role, wait=True, slugs=[],
                         app_password=db.app_password())
        done = await commands.tenant_command(db, args)
        if done is not None:
            return done
        if args.tenants_command == "create":
            return await commands.create(db, args)
        pool = await db.open_pool()
        async with pool.acquire() as conn:
            for t in await registry.all_tenants(conn):
                print(f"{t.slug}\t{t.kind}\t{t.status}\t{t.name}")
        return 0
    finally:
        await db.close()


async def _transfers(settings: Settings) -> int:
    from service.moves.handoff import run_pending

    db = Database.connect(settings)
    try:
        await migrate(db)
        print(f"{await run_pending(await db.open_jobs_pool())} transfer(s) completed")
        return 0
    finally:
        await db.close()


async def _reporting(settings: Settings, args: argparse.Namespace) -> int:
    from service.reporting.service import publish_changes, refresh_all, refresh_tenant

    db = Database.connect(settings)
    try:
        await migrate(db)
        pool = await db.open_pool()
        if args.tenant is None:
            results = await refresh_all(pool, full=args.full)
        else:
            async with pool.acquire() as conn:
                tenant = await registry.tenant_by_slug(conn, args.tenant)
            if tenant is None:
                print(f"error: there is no tenant {args.tenant!r}", file=sys.stderr)
                return 2
            results = [await refresh_tenant(pool, tenant)]
            if args.full:
                await publish_changes(pool, results, full=True)
        for r in results:
            print(f"{r.tenant}\t{'unchanged' if r.skipped else f'{r.rows} rollup rows'}")
        return 0
    finally:
        await db.close()


async def _token(settings: Settings, args: argparse.Namespace) -> int:
    from service.platform.grants import grant

    role: Role = args.role
    subject = args.subject or "-".join(
        ["dev", role.value.lower(), *([args.service.value.lower()] if args.service else []),
         *(s.lower() for s in sorted(args.site))])
    db = Database.connect(settings)
    try:
        try:
            await grant(db.engine, subject=subject, role=role, tenant_slug=args.tenant, service=args.service,
                        site_codes=args.site, display_name=subject)
        except DomainError as exc:
            print(f"error: {exc.message}", file=sys.stderr)
            return 2
    finally:
        await db.close()
    print(DevIssuer(settings).issue(subject, args.tenant if role.needs_tenant else None, ttl=args.ttl))
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        settings = Settings.from_env()
    except SettingsError as exc:
        print(f"configuration error: {exc}", file=sys.stderr)
        return 2
    telemetry.configure_logging(settings)
    if args.command == "token" and not settings.development:
        print("error: `token` issues development tokens only; production tokens come from your identity provider.",
              file=sys.stderr)
        return 2
    try:
        return _run(settings, args)
    except KeyboardInterrupt:
        return 130
    except Exception as exc:
        line = db_errors.explain(exc, settings.database_url, settings.app_database_url)
        if line is None:
            raise
        print(line, file=sys.stderr)
        return 2


class Terminated(Exception):
    """SIGTERM reached `serve` after uvicorn drained: unwind (closing the pools and the embedded server) and exit
    with the shell's status for it, as Ctrl-C does with 130."""


def _terminated(signum: int, frame: object) -> None:
    raise Terminated


def _run(settings: Settings, args: argparse.Namespace) -> int:
    if args.command == "serve":
        # uvicorn handles SIGTERM and SIGINT while serving, then re-raises the signal; without a handler of ours
        # SIGTERM would end the process there, before the embedded server is stopped.
        signal.signal(signal.SIGTERM, _terminated)
        try:
            asyncio.run(_serve(settings, args.host, args.port, demo=not args.no_demo))
        except Terminated:
            return 143
        return 0
    if args.command == "migrate":
        return asyncio.run(_migrate(settings, args))
    if args.command == "tenants":
        return asyncio.run(_tenants(settings, args))
    if args.command == "reporting":
        return asyncio.run(_reporting(settings, args))
    if args.command == "transfers":
        return asyncio.run(_transfers(settings))
    return asyncio.run(_token(settings, args))


if __name__ == "__main__":
    sys.exit(main())
